"""XGBoost over several hosts (``InstanceCount`` > 1) with XGBoost's own collective.

``algo-1`` starts an ``xgboost.tracker.RabitTracker`` and broadcasts its address through the
job's collective (:mod:`openmaker.distributed`); every host then joins XGBoost's communicator
(``xgboost.collective.CommunicatorContext``, ranked by host) and calls the same boosting loop
as one host (:func:`openmaker.algorithms.xgboost.train._train_single`). XGBoost sums the
gradient histograms (and merges the quantile sketches) across hosts, so every host grows the
same trees: **one model**, the one trained on all hosts' rows. The evaluation metrics XGBoost
computes (rmse, logloss, auc, ...) are global too.

Which rows a host holds (``S3DataDistributionType``):

* ``ShardedByS3Key``: its own files, read as on one host (Pipe mode streams them into a
  ``QuantileDMatrix``).
* ``FullyReplicated``: every host sees every file; it reads the channel and keeps rows
  ``rank, rank + n, ...``, so each row is used once (a replicated channel is not counted n
  times). The rows are gathered in memory for this (no streaming).

Documented differences from one host: the hist method's bin boundaries come from merged
quantile sketches, so splits can differ in the last digits and models are equal up to that;
the metrics the container computes itself with scikit-learn (accuracy, f1, precision, r2, ...)
are computed on each host's own rows and ``algo-1``'s are the ones logged. ``_kfold`` is
single-host only. Only ``algo-1`` writes checkpoints (every host resumes from them) and the
model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openmaker.algorithms.xgboost.boosting import _TerminationGuard
from openmaker.algorithms.xgboost.checkpoints import MODEL_FILE
from openmaker.algorithms.xgboost.inputs import (
    _check_channels,
    _dmatrix,
    _load_matrices,
    align,
    read_channel,
)
from openmaker.algorithms.xgboost.params import _jsonable, _weight_column, xgb_params
from openmaker.algorithms.xgboost.spec import CONTAINER_METRICS, all_eval_metrics, metric_base
from openmaker.distributed.collective import HOST_IP_ENV, Collective, connect
from openmaker.distributed.sharding import SHARDED
from openmaker.errors import AlgorithmError, ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seconds a host waits on XGBoost's collective before it gives up.
COLLECTIVE_TIMEOUT = 1800


def _rows(ds: Any, comm: Collective) -> Any:
    """Rows ``rank, rank + size, ...`` of a dataset."""
    from openmaker.data import Dataset

    pick = slice(comm.rank, None, comm.size)
    return Dataset(
        ds.X[pick],
        None if ds.y is None else ds.y[pick],
        None if ds.weights is None else ds.weights[pick],
    )


def load_host_matrices(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    context: TrainingContext,
    comm: Collective,
) -> tuple[Any, Any]:
    """This host's train (and validation) matrices (see the module docstring)."""
    weight_column = _weight_column(hp, train_ch)
    channels = [c for c in (train_ch, val_ch) if c is not None]
    if all(c.distribution == SHARDED for c in channels):
        return _load_matrices(hp, params, train_ch, val_ch, weight_column, context)
    nthread = int(params["nthread"])
    train_ds = read_channel(train_ch, weight_column)
    val_ds = read_channel(val_ch, weight_column) if val_ch is not None else None
    train_ds, val_ds = align(train_ds, val_ds)
    if train_ch.distribution != SHARDED:
        train_ds = _rows(train_ds, comm)
    if val_ds is not None and val_ch is not None and val_ch.distribution != SHARDED:
        val_ds = _rows(val_ds, comm)
    return _dmatrix(train_ds, nthread), None if val_ds is None else _dmatrix(val_ds, nthread)


def _tracker(size: int) -> tuple[Any, dict[str, Any]]:
    from xgboost.tracker import RabitTracker

    tracker = RabitTracker(
        n_workers=size,
        host_ip=os.environ.get(HOST_IP_ENV, "127.0.0.1"),
        port=0,
        sortby="task",
        timeout=COLLECTIVE_TIMEOUT,
    )
    tracker.start()
    return tracker, dict(tracker.worker_args())


def train_distributed(
    hp: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """XGBoost's ``train`` on one host of several (``len(context.hosts) > 1``)."""
    import xgboost as xgb

    from openmaker.algorithms.xgboost.train import _train_single

    if hp.get("_kfold"):
        raise ValidationError("_kfold cross-validation runs on one host; use InstanceCount 1")
    train_ch, val_ch = _check_channels(channels)
    params = xgb_params(hp, context)
    metrics = all_eval_metrics(hp)
    container_metrics = [m for m in metrics if metric_base(m) in CONTAINER_METRICS]
    with connect(context) as comm:
        leader = comm.is_leader
        if leader:
            context.print(f"INFO:root:Hyperparameters: {json.dumps(_jsonable(hp))}")
        context.print(
            f"INFO:root:Distributed node training with {comm.size} hosts: {list(context.hosts)}"
        )
        tracker, args = _tracker(comm.size) if leader else (None, None)
        args = dict(comm.broadcast(args))
        args.update({"dmlc_task_id": str(comm.rank), "dmlc_timeout": COLLECTIVE_TIMEOUT})
        model_dir = Path(context.model_dir)
        guard = _TerminationGuard(
            enabled=leader and bool(hp.get("save_model_on_termination")),
            model_dir=model_dir,
            context=context,
        )
        try:
            with xgb.collective.CommunicatorContext(**args):
                matrices = load_host_matrices(hp, params, train_ch, val_ch, context, comm)
                with guard:
                    _train_single(
                        hp,
                        params,
                        train_ch,
                        val_ch,
                        context,
                        container_metrics,
                        guard,
                        matrices=matrices,
                        checkpoints=leader,
                    )
        except xgb.core.XGBoostError as exc:
            raise AlgorithmError(f"distributed XGBoost failed: {exc}") from exc
        if tracker is not None:
            tracker.wait_for(60)
        if leader:
            context.print(f"INFO:root:Model saved to {MODEL_FILE}")
        else:
            (model_dir / MODEL_FILE).unlink(missing_ok=True)  # algo-1's copy is the model
