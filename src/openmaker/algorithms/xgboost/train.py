"""Training for SageMaker's XGBoost algorithm mode.

``train(hyperparameters, channels, context)`` follows the container (reference section 2.5):

* File mode reads each channel with :func:`openmaker.data.read_dataset` into a ``DMatrix``
  (instance weights from ``csv_weights=1`` for CSV, or from ``label:weight`` in LibSVM).
* Pipe mode streams each channel with :func:`openmaker.data.iter_batches` through an
  ``xgboost.DataIter`` into a ``QuantileDMatrix``, so memory does not grow with the data. A
  ``QuantileDMatrix`` only serves the ``hist`` tree method (``auto`` is ``hist`` in XGBoost 3),
  so with ``tree_method`` exact or approx, ``booster=gblinear``, or ``_kfold``, the streamed
  batches are gathered into an in-memory ``DMatrix`` instead (a log line says so). Sparse
  (RecordIO) Pipe data is scanned once before training to find one feature count for all
  batches.
* Every round prints, for each metric, ``[<iter>]\\ttrain-<m>:<v>\\tvalidation-<m>:<v>``.
* Metrics the container computes itself (accuracy, f1, precision, r2, ...) are computed with
  scikit-learn on the predictions (label = probability > 0.5, margin > 0 for
  ``binary:logitraw``, argmax for ``multi:softprob``). ``precision`` and ``recall`` average
  ``binary`` for single-output objectives and ``macro`` for ``multi:*``; ``f1`` is macro.
  ``rmse`` and ``mae`` are XGBoost's own (weighted) metrics.
* Early stopping watches ``validation`` only, on the tuning-objective metric if one is set,
  else the last ``eval_metric``. Without a validation channel it is skipped with a warning.
  The full model is kept; ``best_iteration`` is stored in it and used at inference.
* Checkpoints: when ``context.checkpoint_dir`` exists, the model is saved there after every
  round as ``xgboost-checkpoint.<iter>`` (the last five are kept). Once the model is so large
  that one save takes over 50 ms, saves are spaced so they cost at most ~10% of the run (the
  last round is always saved). A job that finds one resumes
  from the newest and trains only ``num_round - done`` more rounds. Not used with ``_kfold``.
* ``save_model_on_termination=true``: on SIGTERM the current model is written to
  ``model_dir/xgboost-model`` and the process exits with code 143. A SIGTERM that comes while
  the data loads is honoured after the first round, so there is always a model to save.
  (Not with ``_kfold``.)
* ``_kfold=k``: train and validation are merged and split by (Repeated)StratifiedKFold for
  ``binary:*`` / ``multi:*`` objectives, (Repeated)KFold otherwise (``_num_cv_round`` repeats,
  shuffled with ``seed``). Models are saved as ``xgboost-model-<i>`` (i over repeats x folds),
  out-of-fold predictions go to ``output_dir/data/predictions.csv`` (input order; mean over
  repeats, majority vote for ``multi:softmax`` / ``binary:hinge``), and the last lines printed
  are the per-metric means over folds of the final round.
* Parameters XGBoost 3 no longer knows (``sketch_eps``, ``dsplit``, ``predictor``,
  ``lambda_bias``, ``prob_buffer_row``, ``deterministic_histogram``) are accepted and not
  passed on; ``reg:linear`` runs as ``reg:squarederror``; ``gpu_hist`` runs as ``hist`` with
  ``device=cuda`` when the job has a GPU, else on the CPU.
* Multi-host training (``InstanceCount`` > 1) uses XGBoost's own collective: see
  :mod:`openmaker.algorithms.xgboost.distributed` (one model, trained on every host's rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openmaker.algorithms.xgboost._runtime import import_xgboost
from openmaker.algorithms.xgboost.boosting import _boost, _TerminationGuard
from openmaker.algorithms.xgboost.checkpoints import (
    CHECKPOINT_PREFIX,
    MODEL_FILE,
    _latest_checkpoint,
    save_booster,
)
from openmaker.algorithms.xgboost.inputs import _check_channels, _check_labels, _load_matrices
from openmaker.algorithms.xgboost.kfold import _train_kfold
from openmaker.algorithms.xgboost.params import _jsonable, _weight_column, xgb_params
from openmaker.algorithms.xgboost.spec import (
    CONTAINER_METRICS,
    all_eval_metrics,
    metric_base,
)
from openmaker.spec.algorithm import ChannelInput, TrainingContext

if TYPE_CHECKING:
    pass
# --- public entry point ------------------------------------------------------------------------


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train XGBoost and write ``xgboost-model`` (or ``xgboost-model-<i>``) to the model dir.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and ``validation`` (optional).
        context: the job's folders, CPU count and log.

    Raises:
        ValidationError: multi-host jobs, channel problems, data without labels.
        ChannelError: missing/empty channel or mismatched content types.
        DataFormatError: undecodable data (from :mod:`openmaker.data`).
        AlgorithmError: XGBoost itself failed.
    """
    import_xgboost()  # before anything imports it with scikit-learn (see there)
    hp = dict(hyperparameters)
    if len(context.hosts) > 1:
        from openmaker.algorithms.xgboost.distributed import train_distributed

        return train_distributed(hp, channels, context)
    train_ch, val_ch = _check_channels(channels)
    params = xgb_params(hp, context)
    metrics = all_eval_metrics(hp)
    container_metrics = [m for m in metrics if metric_base(m) in CONTAINER_METRICS]

    context.print(f"INFO:root:Hyperparameters: {json.dumps(_jsonable(hyperparameters))}")
    context.print("INFO:root:Single node training.")
    if hp.get("_kfold"):
        _train_kfold(hp, params, train_ch, val_ch, context, container_metrics)
        return

    model_dir = Path(context.model_dir)
    guard = _TerminationGuard(
        enabled=bool(hp.get("save_model_on_termination")), model_dir=model_dir, context=context
    )
    with guard:
        _train_single(hp, params, train_ch, val_ch, context, container_metrics, guard)
    context.print(f"INFO:root:Model saved to {MODEL_FILE}")


def _train_single(
    hp: dict[str, Any],
    params: dict[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    context: TrainingContext,
    container_metrics: list[str],
    guard: _TerminationGuard,
    matrices: tuple[Any, Any] | None = None,
    checkpoints: bool = True,
) -> None:
    """Load the data (unless ``matrices`` gives it) and boost; ``checkpoints=False``: this
    process reads checkpoints but never writes them (a follower host)."""
    weight_column = _weight_column(hp, train_ch)
    if matrices is None:
        matrices = _load_matrices(hp, params, train_ch, val_ch, weight_column, context)
    dtrain, dval = matrices
    context.print(
        f"INFO:root:Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns"
    )
    if dval is not None:
        context.print(f"INFO:root:Validation matrix has {dval.num_row()} rows")
    _check_labels(hp, dtrain, "train")
    if dval is not None:
        _check_labels(hp, dval, "validation")

    model_dir = Path(context.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = Path(context.checkpoint_dir)
    use_checkpoints = ckpt_dir.is_dir()

    start_model, done = (None, 0)
    if use_checkpoints:
        start_model, done = _latest_checkpoint(ckpt_dir)
        if start_model is not None:
            context.print(
                f"INFO:root:Resuming from checkpoint {CHECKPOINT_PREFIX}{done - 1}: "
                f"{done} rounds done, training {max(hp['num_round'] - done, 0)} more"
            )

    booster = _boost(
        hp,
        params,
        dtrain,
        dval,
        context,
        container_metrics=container_metrics,
        start_model=start_model,
        offset=done,
        checkpoint_dir=ckpt_dir if use_checkpoints and checkpoints else None,
        guard=guard,
    )
    save_booster(booster, model_dir / MODEL_FILE)
