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
* Multi-host training is not supported yet: more than one host is refused.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.algorithms.xgboost.spec import (
    CONTAINER_METRICS,
    all_eval_metrics,
    metric_base,
    metric_maximize,
)
from openmaker.errors import AlgorithmError, ChannelError, DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext
from openmaker.spec.channels import ContentType

if TYPE_CHECKING:
    import xgboost as xgb

    from openmaker.data import Dataset

MODEL_FILE = "xgboost-model"
CHECKPOINT_PREFIX = "xgboost-checkpoint."
KEEP_CHECKPOINTS = 5
PREDICTIONS_FILE = "predictions.csv"

#: SageMaker-only keys, and keys XGBoost 3 no longer knows: never passed to xgboost.
_NOT_PASSED = frozenset(
    {
        "num_round",
        "csv_weights",
        "early_stopping_rounds",
        "save_model_on_termination",
        "eval_metric",
        "use_dask_gpu_training",
        "sketch_eps",
        "dsplit",
        "predictor",
        "lambda_bias",
        "prob_buffer_row",
        "deterministic_histogram",
    }
)

_CHECKPOINT_RE = re.compile(r"^xgboost-checkpoint\.([0-9]+)$")


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
    hp = dict(hyperparameters)
    if len(context.hosts) > 1:
        raise ValidationError(
            f"Distributed XGBoost training over {len(context.hosts)} hosts is not supported "
            "yet; use InstanceCount 1"
        )
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
) -> None:
    weight_column = _weight_column(hp, train_ch)
    dtrain, dval = _load_matrices(hp, params, train_ch, val_ch, weight_column, context)
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
        checkpoint_dir=ckpt_dir if use_checkpoints else None,
        guard=guard,
    )
    save_booster(booster, model_dir / MODEL_FILE)


# --- parameters --------------------------------------------------------------------------------


def xgb_params(hp: Mapping[str, Any], context: TrainingContext) -> dict[str, Any]:
    """SageMaker hyperparameters -> the ``params`` dict of ``xgboost.train``."""
    params: dict[str, Any] = {}
    for key, value in hp.items():
        if key.startswith("_") or key in _NOT_PASSED:
            continue
        params[key] = value
    params.setdefault("nthread", max(int(context.num_cpus), 1))
    if params.get("objective") == "reg:linear":
        params["objective"] = "reg:squarederror"
    if params.get("tree_method") == "gpu_hist":
        params["tree_method"] = "hist"
        if context.num_gpus > 0:
            params["device"] = "cuda"
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    metrics = all_eval_metrics(hp)
    native = [m for m in metrics if metric_base(m) not in CONTAINER_METRICS]
    if native:
        params["eval_metric"] = native
    elif metrics:
        # only container-computed metrics asked for: don't print XGBoost's default one too
        params["disable_default_eval_metric"] = 1
    return params


def _jsonable(hp: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, int | float | str | bool | list) else str(v)) for k, v in hp.items()
    }


def _weight_column(hp: Mapping[str, Any], channel: ChannelInput) -> bool:
    return channel.content_type == ContentType.CSV and int(hp.get("csv_weights") or 0) == 1


def _objective(hp: Mapping[str, Any]) -> str:
    return str(hp.get("objective") or "reg:squarederror")


# --- channels and data -------------------------------------------------------------------------


def _check_channels(
    channels: Mapping[str, ChannelInput],
) -> tuple[ChannelInput, ChannelInput | None]:
    if "train" not in channels:
        raise ChannelError("Missing required channel 'train'", channel="train")
    unknown = sorted(set(channels) - {"train", "validation"})
    if unknown:
        raise ChannelError(
            f"Channel(s) {', '.join(unknown)} not supported by xgboost; supported: train, "
            "validation",
            channel=unknown[0],
        )
    train_ch = channels["train"]
    val_ch = channels.get("validation")
    for ch in (train_ch, val_ch):
        if ch is None:
            continue
        if ch.content_type == ContentType.LIBSVM and ch.input_mode == "Pipe":
            raise ChannelError("Pipe mode not supported for LibSVM", channel=ch.name)
        label_size = str(ch.params.get("label_size", "1")).strip()
        if ch.content_type == ContentType.CSV and label_size != "1":
            raise ChannelError(
                f"Channel {ch.name!r}: label_size must be 1 for xgboost CSV input, got "
                f"{label_size!r}",
                channel=ch.name,
            )
    if val_ch is not None and val_ch.content_type != train_ch.content_type:
        raise ChannelError(
            "Training and validation channels must have the same content type; got "
            f"{train_ch.content_type!r} and {val_ch.content_type!r}",
            channel="validation",
        )
    return train_ch, val_ch


def _sources(channel: ChannelInput) -> list[str]:
    files = channel.sources()
    if not files:
        raise ChannelError(f"Channel {channel.name!r} holds no data files", channel=channel.name)
    return files


def read_channel(channel: ChannelInput, weight_column: bool) -> Dataset:
    """The whole channel in memory (File mode, or Pipe mode gathered batch by batch)."""
    from openmaker.data import iter_batches, read_dataset

    files = _sources(channel)
    if channel.input_mode == "Pipe":
        parts = list(
            iter_batches(files, channel.content_type, channel.params, weight_column=weight_column)
        )
        if not parts:
            raise ChannelError(f"Channel {channel.name!r} holds no records", channel=channel.name)
        ds = _concat(parts)
    else:
        ds = read_dataset(files, channel.content_type, channel.params, weight_column=weight_column)
    if ds.y is None:
        raise ValidationError(_no_labels(channel.name))
    if ds.n_rows == 0:
        raise ChannelError(f"Channel {channel.name!r} holds no records", channel=channel.name)
    return ds


def _no_labels(name: str) -> str:
    return (
        f"Channel {name!r} has no labels: xgboost needs a label for every record (CSV and "
        "Parquet: first column; LibSVM: first token; RecordIO-protobuf: Record.label['values']). "
        "With multi-instance training each host needs data: the number of records should "
        "exceed 16 x the number of instances."
    )


def _concat(parts: list[Dataset]) -> Dataset:
    from openmaker.data import Dataset

    if len(parts) == 1:
        return parts[0]
    if any(not isinstance(p.X, np.ndarray) for p in parts):
        import scipy.sparse as sp

        width = max(int(p.X.shape[1]) for p in parts)
        X: Any = sp.vstack([_csr(p.X, width) for p in parts], format="csr")
    else:
        widths = {p.X.shape[1] for p in parts}
        if len(widths) > 1:
            raise DataFormatError(f"records have different feature counts: {sorted(widths)}")
        X = np.concatenate([p.X for p in parts], axis=0)
    ys = [p.y for p in parts]
    ws = [p.weights for p in parts]
    y: np.ndarray | None = None
    w: np.ndarray | None = None
    if all(v is not None for v in ys):
        y = np.concatenate([v for v in ys if v is not None])
    if all(v is not None for v in ws):
        w = np.concatenate([v for v in ws if v is not None])
    return Dataset(X, y, w)


def _csr(X: Any, width: int) -> Any:
    import scipy.sparse as sp

    m = sp.csr_matrix(X, dtype=np.float32)
    if m.shape[1] < width:
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))
    return m


def align(train_ds: Dataset, val_ds: Dataset | None) -> tuple[Dataset, Dataset | None]:
    """Give train and validation the same feature count (sparse data is padded)."""
    from openmaker.data import Dataset

    if val_ds is None or train_ds.X.shape[1] == val_ds.X.shape[1]:
        return train_ds, val_ds
    dense = isinstance(train_ds.X, np.ndarray) and isinstance(val_ds.X, np.ndarray)
    if dense:
        raise DataFormatError(
            f"validation data has {val_ds.X.shape[1]} feature columns, but the training data "
            f"has {train_ds.X.shape[1]}"
        )
    width = max(int(train_ds.X.shape[1]), int(val_ds.X.shape[1]))
    return (
        Dataset(_csr(train_ds.X, width), train_ds.y, train_ds.weights),
        Dataset(_csr(val_ds.X, width), val_ds.y, val_ds.weights),
    )


def _dmatrix(ds: Dataset, nthread: int) -> xgb.DMatrix:
    import xgboost as xgb

    y = ds.y
    if y is not None and y.ndim > 1:
        y = y[:, 0] if y.shape[1] == 1 else y
    return xgb.DMatrix(ds.X, label=y, weight=ds.weights, nthread=nthread, missing=np.nan)


def _use_quantile(hp: Mapping[str, Any]) -> bool:
    return (
        hp.get("tree_method") in (None, "auto", "hist", "gpu_hist")
        and hp.get("booster") in (None, "gbtree", "dart")
        and "updater" not in hp
        and hp.get("process_type") != "update"
    )


def _load_matrices(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    weight_column: bool,
    context: TrainingContext,
) -> tuple[xgb.DMatrix, xgb.DMatrix | None]:
    nthread = int(params["nthread"])
    if train_ch.input_mode == "Pipe" and not _use_quantile(hp):
        context.print(
            "INFO:root:Pipe mode: a QuantileDMatrix serves only tree_method hist; gathering the "
            "streamed batches into memory for this configuration"
        )
    if train_ch.input_mode == "Pipe" and _use_quantile(hp):
        import xgboost as xgb

        max_bin = hp.get("max_bin")
        kwargs: dict[str, Any] = {"nthread": nthread}
        if max_bin:
            kwargs["max_bin"] = max_bin
        width = sparse_width(train_ch, weight_column)
        if val_ch is not None and width is not None:
            width = max(width, sparse_width(val_ch, weight_column) or 0)
        dtrain = xgb.QuantileDMatrix(
            make_batch_iter(train_ch, weight_column, n_features=width), **kwargs
        )
        dval = None
        if val_ch is not None:
            dval = xgb.QuantileDMatrix(
                make_batch_iter(val_ch, weight_column, n_features=dtrain.num_col()),
                ref=dtrain,
                **kwargs,
            )
        return dtrain, dval
    train_ds = read_channel(train_ch, weight_column)
    val_ds = read_channel(val_ch, weight_column) if val_ch is not None else None
    train_ds, val_ds = align(train_ds, val_ds)
    return _dmatrix(train_ds, nthread), None if val_ds is None else _dmatrix(val_ds, nthread)


def sparse_width(channel: ChannelInput, weight_column: bool) -> int | None:
    """For sparse Pipe-mode data, the widest batch (one streaming pass); None when dense.

    Sparse batches are as wide as their largest index, and a ``QuantileDMatrix`` needs one
    width for all of them, so sparse channels are scanned once before training.
    """
    from openmaker.data import iter_batches

    width: int | None = None
    for ds in iter_batches(
        _sources(channel), channel.content_type, channel.params, weight_column=weight_column
    ):
        if isinstance(ds.X, np.ndarray):
            return None
        width = max(width or 0, int(ds.X.shape[1]))
    return width


def make_batch_iter(
    channel: ChannelInput, weight_column: bool, n_features: int | None = None
) -> xgb.DataIter:
    """An ``xgboost.DataIter`` over the channel's Pipe-mode batches (re-read on every pass)."""
    import xgboost as xgb

    from openmaker.data import iter_batches

    files = _sources(channel)

    class _BatchIter(xgb.DataIter):
        def __init__(self) -> None:
            super().__init__(release_data=True)
            self._batches: Iterator[Dataset] | None = None
            self._seen = 0

        def reset(self) -> None:
            self._batches = None

        def next(self, input_data: Callable[..., Any]) -> bool:
            if self._batches is None:
                self._seen = 0
                self._batches = iter(
                    iter_batches(
                        files,
                        channel.content_type,
                        channel.params,
                        weight_column=weight_column,
                        n_features=n_features,
                    )
                )
            for ds in self._batches:
                if ds.n_rows == 0:
                    continue
                if ds.y is None:
                    raise ValidationError(_no_labels(channel.name))
                y = ds.y[:, 0] if ds.y.ndim > 1 else ds.y
                input_data(data=ds.X, label=y, weight=ds.weights)
                self._seen += ds.n_rows
                return True
            if self._seen == 0:
                raise ChannelError(
                    f"Channel {channel.name!r} holds no records", channel=channel.name
                )
            return False

    return _BatchIter()


def _check_labels(hp: Mapping[str, Any], dmat: xgb.DMatrix, name: str) -> None:
    objective = _objective(hp)
    labels = dmat.get_label()
    if labels.size == 0:
        return
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge"):
        if np.any((labels < 0) | (labels > 1)):
            bad = labels[(labels < 0) | (labels > 1)][0]
            raise ValidationError(
                f"Channel {name!r}: objective {objective} needs labels in [0, 1]; found {bad!r}"
            )
    elif objective.startswith("multi:"):
        k = int(hp["num_class"])
        bad_mask = (labels < 0) | (labels >= k) | (labels != np.round(labels))
        if np.any(bad_mask):
            raise ValidationError(
                f"Channel {name!r}: objective {objective} with num_class={k} needs integer "
                f"labels in [0, {k - 1}]; found {float(labels[bad_mask][0])!r}"
            )


# --- boosting ----------------------------------------------------------------------------------


@dataclass
class _TerminationGuard:
    """Saves the current model and exits on SIGTERM when ``save_model_on_termination``."""

    enabled: bool
    model_dir: Path
    context: TrainingContext
    model: Any = None
    pending: bool = False
    _previous: Any = field(default=None, repr=False)
    _installed: bool = False

    def __enter__(self) -> _TerminationGuard:
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # Python runs this between bytecodes, so the booster is never half-updated here.
        if self.model is not None and self.model.num_boosted_rounds() > 0:
            self.save_and_exit(self.model)
        # Nothing to save yet: finish the first round, then save and exit (after_round).
        self.pending = True
        self.context.print("INFO:root:Received SIGTERM: will save the model after the first round")

    def after_round(self, model: Any) -> None:
        """Called after every round: honours a SIGTERM that came before the first one."""
        if self.pending:
            self.save_and_exit(model)

    def save_and_exit(self, model: Any) -> None:
        """Write ``model`` to the model folder and exit with code 143."""
        self.model_dir.mkdir(parents=True, exist_ok=True)
        save_booster(model, self.model_dir / MODEL_FILE)
        self.context.print(
            f"INFO:root:Received SIGTERM: saved the model after {model.num_boosted_rounds()} "
            f"rounds to {MODEL_FILE}"
        )
        raise SystemExit(143)


class _CheckpointPacer:
    """Decides whether to checkpoint this round.

    Every round is saved while saving is cheap. Once one save takes longer than
    ``SLOW_SAVE_SECONDS`` (a large model), a save is skipped until ``10 x`` its duration has
    passed since the last one, so checkpointing costs at most about a tenth of the run; the
    last round is always saved.
    """

    SLOW_SAVE_SECONDS = 0.05

    def __init__(self) -> None:
        self.last_end = 0.0
        self.last_duration = 0.0

    def due(self, now: float, final: bool) -> bool:
        if final or self.last_duration < self.SLOW_SAVE_SECONDS:
            return True
        return now - self.last_end >= 10 * self.last_duration

    def record(self, start: float, end: float) -> None:
        self.last_end = end
        self.last_duration = end - start


def _make_callbacks(
    context: TrainingContext,
    offset: int,
    checkpoint_dir: Path | None,
    guard: _TerminationGuard | None,
    history: dict[str, dict[str, list[float]]] | None,
    total: int,
) -> list[Any]:
    import xgboost as xgb

    pacer = _CheckpointPacer()

    class _Monitor(xgb.callback.TrainingCallback):
        """Prints one line per metric and round, saves checkpoints, tracks the model."""

        def before_training(self, model: xgb.Booster) -> xgb.Booster:
            if guard is not None:
                guard.model = model
            return model

        def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: Any) -> bool:
            iteration = epoch + offset
            train_log = evals_log.get("train", {})
            val_log = evals_log.get("validation", {})
            names = list(train_log) + [m for m in val_log if m not in train_log]
            for metric in names:
                line = f"[{iteration}]"
                for data, log in (("train", train_log), ("validation", val_log)):
                    if metric in log:
                        value = float(log[metric][-1])
                        line += f"\t{data}-{metric}:{value:.5f}"
                        if history is not None:
                            history.setdefault(data, {}).setdefault(metric, []).append(value)
                context.print(line)
            if guard is not None:
                guard.after_round(model)
            if checkpoint_dir is not None:
                start = time.monotonic()
                if pacer.due(start, final=iteration >= total - 1):
                    _save_checkpoint(model, checkpoint_dir, iteration)
                    pacer.record(start, time.monotonic())
            return False

    return [_Monitor()]


def _boost(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    dtrain: xgb.DMatrix,
    dval: xgb.DMatrix | None,
    context: TrainingContext,
    *,
    container_metrics: list[str],
    start_model: xgb.Booster | None = None,
    offset: int = 0,
    checkpoint_dir: Path | None = None,
    guard: _TerminationGuard | None = None,
    history: dict[str, dict[str, list[float]]] | None = None,
    num_round: int | None = None,
) -> xgb.Booster:
    import xgboost as xgb

    total = int(num_round if num_round is not None else hp["num_round"])
    remaining = total - offset
    if start_model is not None and remaining <= 0:
        if remaining < 0 and hp.get("booster") != "gblinear":
            # the checkpoint has more rounds than asked for now: keep the first num_round
            return start_model[0:total]
        return start_model

    evals = [(dtrain, "train")]
    if dval is not None:
        evals.append((dval, "validation"))
    callbacks = _make_callbacks(context, offset, checkpoint_dir, guard, history, total)

    rounds = hp.get("early_stopping_rounds")
    if rounds:
        if dval is None:
            context.print(
                "WARNING:root:early_stopping_rounds is ignored without a validation channel"
            )
        else:
            metric = _stopping_metric(hp, params)
            context.print(
                f"INFO:root:Will train until validation-{metric} hasn't improved in "
                f"{rounds} rounds."
            )
            callbacks.append(
                xgb.callback.EarlyStopping(
                    rounds=int(rounds),
                    metric_name=metric,
                    data_name="validation",
                    maximize=metric_maximize(metric),
                    save_best=False,
                )
            )

    custom = _container_metric_fn(container_metrics, _objective(hp)) if container_metrics else None
    try:
        booster = xgb.train(
            dict(params),
            dtrain,
            num_boost_round=remaining,
            evals=evals,
            custom_metric=custom,
            callbacks=callbacks,
            verbose_eval=False,
            xgb_model=start_model,
        )
    except xgb.core.XGBoostError as exc:
        raise AlgorithmError(f"XGB train call failed with exception:\n {exc}") from exc
    best = booster.attr("best_iteration")
    if best is not None and offset:
        # EarlyStopping counts the rounds of this call only; store the absolute round
        booster.set_attr(best_iteration=str(int(best) + offset))
    return booster


def _stopping_metric(hp: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """The last tuning/eval metric, else XGBoost's default metric for the objective."""
    metrics = all_eval_metrics(hp)
    if metrics:
        return metrics[-1]
    objective = _objective(hp)
    if objective.startswith("multi:"):
        return "mlogloss"
    defaults = {
        "binary:logistic": "logloss",
        "binary:logitraw": "logloss",
        "reg:logistic": "logloss",
        "binary:hinge": "error",
        "reg:squaredlogerror": "rmsle",
        "reg:pseudohubererror": "mphe",
        "reg:absoluteerror": "mae",
        "reg:gamma": "gamma-nloglik",
        "reg:tweedie": f"tweedie-nloglik@{params.get('tweedie_variance_power', 1.5)}",
        "count:poisson": "poisson-nloglik",
        "survival:cox": "cox-nloglik",
        "survival:aft": "aft-nloglik",
        "rank:pairwise": "map",
        "rank:ndcg": "ndcg",
        "rank:map": "map",
    }
    return defaults.get(objective, "rmse")


def _container_metric_fn(
    names: list[str], objective: str
) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    def evaluate(predt: np.ndarray, dmat: Any) -> list[tuple[str, float]]:
        labels = dmat.get_label()
        return [(name, container_metric(name, predt, labels, objective)) for name in names]

    return evaluate


def predicted_labels(predt: np.ndarray, objective: str) -> np.ndarray:
    """Class labels from (transformed) predictions: argmax, margin > 0 or probability > 0.5."""
    if predt.ndim == 2:
        return np.argmax(predt, axis=1).astype(np.float64)
    if objective == "binary:logitraw":
        return (predt > 0).astype(np.float64)
    if objective == "multi:softmax":
        return np.round(predt).astype(np.float64)
    return (predt > 0.5).astype(np.float64)


def container_metric(name: str, predt: np.ndarray, labels: np.ndarray, objective: str) -> float:
    """One of the metrics the container computes with scikit-learn."""
    from sklearn import metrics as skm

    if name in ("mse", "r2"):
        values = predt if predt.ndim == 1 else np.argmax(predt, axis=1)
        if name == "mse":
            return float(skm.mean_squared_error(labels, values))
        return float(skm.r2_score(labels, values)) if len(labels) > 1 else float("nan")
    pred = predicted_labels(predt, objective)
    multi = objective.startswith("multi:") or predt.ndim == 2
    default_average = "macro" if multi else "binary"
    if name == "accuracy":
        return float(skm.accuracy_score(labels, pred))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(labels, pred))
    table: dict[str, tuple[Any, str]] = {
        "f1": (skm.f1_score, "macro"),
        "f1_binary": (skm.f1_score, "binary"),
        "f1_macro": (skm.f1_score, "macro"),
        "precision": (skm.precision_score, default_average),
        "precision_macro": (skm.precision_score, "macro"),
        "precision_micro": (skm.precision_score, "micro"),
        "recall": (skm.recall_score, default_average),
        "recall_macro": (skm.recall_score, "macro"),
        "recall_micro": (skm.recall_score, "micro"),
    }
    fn, average = table[name]
    try:
        return float(fn(labels, pred, average=average, zero_division=0))
    except ValueError as exc:
        raise ValidationError(f"metric {name!r} cannot be computed on these labels: {exc}") from exc


# --- model files and checkpoints ---------------------------------------------------------------


def save_booster(booster: xgb.Booster, path: Path) -> None:
    """Write ``booster`` in XGBoost's UBJSON format, atomically (temporary name, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    tmp.replace(path)


def load_booster(path: Path) -> xgb.Booster:
    """Load a model file written by :func:`save_booster` (JSON or UBJSON, detected)."""
    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(path.read_bytes()))
    except xgb.core.XGBoostError as exc:
        raise ValidationError(f"{path.name} is not an XGBoost model file: {exc}") from exc
    return booster


def _save_checkpoint(model: xgb.Booster, folder: Path, iteration: int) -> None:
    save_booster(model, folder / f"{CHECKPOINT_PREFIX}{iteration}")
    found = sorted(_checkpoints(folder))
    for it, path in found[:-KEEP_CHECKPOINTS]:
        del it
        path.unlink(missing_ok=True)


def _checkpoints(folder: Path) -> list[tuple[int, Path]]:
    out = []
    for p in folder.iterdir():
        m = _CHECKPOINT_RE.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), p))
    return out


def _latest_checkpoint(folder: Path) -> tuple[xgb.Booster | None, int]:
    found = sorted(_checkpoints(folder))
    if not found:
        return None, 0
    _, path = found[-1]
    booster = load_booster(path)
    return booster, booster.num_boosted_rounds()


# --- k-fold cross-validation -------------------------------------------------------------------


def _train_kfold(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    context: TrainingContext,
    container_metrics: list[str],
) -> None:
    from sklearn.model_selection import (
        RepeatedKFold,
        RepeatedStratifiedKFold,
    )

    from openmaker.algorithms.xgboost.model import combine_predictions
    from openmaker.data import Dataset

    weight_column = _weight_column(hp, train_ch)
    parts = [read_channel(train_ch, weight_column)]
    if val_ch is not None:
        parts.append(read_channel(val_ch, weight_column))
    if len(parts) == 2:
        parts[0], parts[1] = align(parts[0], parts[1])  # type: ignore[assignment]
    data = _concat(parts)
    assert data.y is not None
    y = data.y[:, 0] if data.y.ndim > 1 else data.y
    data = Dataset(data.X, y, data.weights)
    k = int(hp["_kfold"])
    repeats = int(hp.get("_num_cv_round") or 1)
    objective = _objective(hp)
    seed = int(hp.get("seed") or 0) % (2**32)
    classification = objective.startswith(("binary:", "multi:"))
    splitter: Any = (
        RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
        if classification
        else RepeatedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    )
    nthread = int(params["nthread"])
    model_dir = Path(context.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    context.print(
        f"INFO:root:{k}-fold cross-validation, {repeats} repeat(s), over {data.n_rows} rows"
    )
    try:
        splits = list(splitter.split(np.zeros(data.n_rows), y))
    except ValueError as exc:
        raise ValidationError(f"_kfold={k} cannot split this data: {exc}") from exc

    oof: list[np.ndarray | None] = [None] * repeats
    finals: list[dict[str, dict[str, float]]] = []
    last_iteration = 0
    for i, (tr, te) in enumerate(splits):
        context.print(f"INFO:root:Fold {i}: training on {len(tr)} rows, validating on {len(te)}")
        dtr = _dmatrix(_take(data, tr), nthread)
        dte = _dmatrix(_take(data, te), nthread)
        _check_labels(hp, dtr, "train")
        history: dict[str, dict[str, list[float]]] = {}
        booster = _boost(
            hp, params, dtr, dte, context, container_metrics=container_metrics, history=history
        )
        save_booster(booster, model_dir / f"{MODEL_FILE}-{i}")
        best = booster.attr("best_iteration")
        end = int(best) + 1 if best is not None else booster.num_boosted_rounds()
        last_iteration = max(last_iteration, booster.num_boosted_rounds() - 1)
        finals.append(
            {d: {m: vals[end - 1] for m, vals in ms.items()} for d, ms in history.items()}
        )
        pred = booster.predict(dte, iteration_range=(0, end))
        repeat = i // k
        if oof[repeat] is None:
            oof[repeat] = np.zeros((data.n_rows, *pred.shape[1:]), dtype=np.float64)
        oof[repeat][te] = pred  # type: ignore[index]

    combined = combine_predictions([p for p in oof if p is not None], objective)
    out_dir = Path(context.output_dir) / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        ",".join(repr(float(v)) for v in row) if np.ndim(row) else repr(float(row))
        for row in combined
    ]
    (out_dir / PREDICTIONS_FILE).write_text("\n".join(lines) + "\n")
    context.print(f"INFO:root:Out-of-fold predictions written to data/{PREDICTIONS_FILE}")

    context.print(f"INFO:root:Mean over {len(finals)} folds:")
    metric_names: list[str] = []
    for f in finals:
        for m in f.get("train", {}):
            if m not in metric_names:
                metric_names.append(m)
    for metric in metric_names:
        line = f"[{last_iteration}]"
        for dataset in ("train", "validation"):
            vals = [f[dataset][metric] for f in finals if metric in f.get(dataset, {})]
            if vals:
                line += f"\t{dataset}-{metric}:{float(np.mean(vals)):.5f}"
        context.print(line)


def _take(data: Dataset, rows: np.ndarray) -> Dataset:
    from openmaker.data import Dataset

    return Dataset(
        data.X[rows],
        None if data.y is None else data.y[rows],
        None if data.weights is None else data.weights[rows],
    )
