"""``train(hyperparameters, channels, context)`` for Linear Learner.

1. the scaler is estimated from the first ``num_point_for_scaler`` training rows (features
   checked against ``feature_dim``, labels against the declared classes);
2. every epoch streams the train channel once, in mini-batches; each batch updates all
   ``num_models`` models with one matrix product (:mod:`.trainer`);
3. after each epoch the validation channel (when given) is scored by every model: the
   per-epoch objective, the threshold calibration and the early-stopping criterion come from
   it (without validation: the training loss). The state of the best epoch is kept;
4. the best model is selected on the validation channel, or on the scaler sample of the train
   channel without one (regressor, multiclass: lowest loss; binary: the selection criterion,
   threshold calibrated the same way), folded into original units and saved;
5. final metrics are printed for ``train`` (on the scaler sample), ``validation`` and ``test``.

Metric lines (section 1.5): per epoch ``#quality_metric: host=algo-1, epoch=N, train
<objective>_objective <loss>=v`` (the best model's value), the same for ``validation``, then the
final blocks without ``epoch=``. ``#early_stopping_criteria_metric`` uses the criteria names
``sampled_<criterion>`` (binary, with validation) or ``loss``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, check_feature_dim, save_model_arrays
from openmaker.algorithms.linear_learner.evaluate import (
    BinaryMetrics,
    MulticlassMetrics,
    RegressionMetrics,
    calibrate,
    criterion_values,
)
from openmaker.algorithms.linear_learner.inputs import BatchSource, check_labels, head_sample
from openmaker.algorithms.linear_learner.losses import (
    OBJECTIVE_NAMES,
    LossParams,
    loss_only,
    softmax,
)
from openmaker.algorithms.linear_learner.scaler import fit_scaler
from openmaker.algorithms.linear_learner.settings import Settings, resolve
from openmaker.algorithms.linear_learner.trainer import ParallelLinear
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

EVAL_BATCH = 10_000
#: While an epoch trains, whether the previous epoch's validation has finished is looked at
#: every this many mini-batches (it may stop the training there).
ABORT_CHECK_BATCHES = 16
#: Models within this much of the best grid criterion are calibrated exactly.
SELECTION_MARGIN = 0.005


def _prepare_sample(settings: Settings, channel: ChannelInput) -> tuple[Any, np.ndarray, int]:
    X, y = head_sample(channel, settings.num_point_for_scaler, settings.mini_batch_size)
    check_labels(y, settings.predictor_type, settings.num_classes, "channel 'train'")
    assert y is not None
    fd = settings.feature_dim
    if isinstance(X, np.ndarray):
        return X, y, check_feature_dim(X, fd, "channel 'train'")
    if fd is None:
        return X, y, int(X.shape[1])
    if X.shape[1] > fd:
        raise ValidationError(
            f"channel 'train': the data has a feature index {X.shape[1] - 1} but feature_dim "
            f"is {fd}"
        )
    import scipy.sparse as sp

    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], fd))
    return X, y, fd


def _weights(settings: Settings, y: np.ndarray) -> tuple[float, np.ndarray | None]:
    positive, class_weights = 1.0, None
    if settings.predictor_type == "binary_classifier":
        uses_balanced = any(m.positive_example_weight_mult == "balanced" for m in settings.models)
        pos = float(y.sum())
        if uses_balanced and (pos == 0 or pos == len(y)):
            raise DataFormatError(
                "positive_example_weight_mult=balanced: the first rows of channel 'train' hold "
                "a single class"
            )
        positive = (len(y) - pos) / pos if pos else 1.0
    elif settings.predictor_type == "multiclass_classifier" and settings.balance_multiclass_weights:
        C = settings.num_classes
        counts = np.bincount(y.astype(np.int64), minlength=C).astype(np.float64)
        class_weights = np.where(counts > 0, len(y) / (C * np.maximum(counts, 1)), 1.0)
        class_weights = class_weights.astype(np.float32)
    return positive, class_weights


class _Calibration:
    """Scores and losses of every model on the calibration rows of one epoch."""

    def __init__(self, net: ParallelLinear, cap: int, keep_scores: bool) -> None:
        self.net = net
        self.cap = cap
        self.keep = keep_scores
        self.loss = np.zeros(net.M)
        self.n = 0
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.kept = 0
        self._binned: np.ndarray | None = None
        self._slack: np.ndarray | None = None
        self._exact: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, X: Any, y: np.ndarray, state: Any = None) -> None:
        Z = self.net.raw_scores(X, state)
        self.loss += self.net.losses(Z, y).sum(axis=0, dtype=np.float64)
        self.n += len(y)
        if self.keep and self.kept < self.cap:
            take = min(self.cap - self.kept, len(y))
            s = Z[:take]
            self.scores.append(_prob(s) if self.net.s.loss == "logistic" else s)
            self.labels.append(y[:take])
            self.kept += take

    def mean_loss(self) -> np.ndarray:
        return self.loss / max(self.n, 1)

    def _kwargs(self, settings: Settings) -> dict[str, Any]:
        return {
            "beta": settings.f_beta,
            "target_precision": settings.target_precision,
            "target_recall": settings.target_recall,
        }

    def binned_criterion(self, settings: Settings) -> np.ndarray:
        """Per model: the criterion on a grid of thresholds (see ``criterion_values``)."""
        if self._binned is None:
            S, y = np.concatenate(self.scores), np.concatenate(self.labels)
            slack: list[np.ndarray] = []
            self._binned = criterion_values(
                S, y, settings.criterion, slack=slack, **self._kwargs(settings)
            )
            self._slack = slack[0]
        return self._binned.copy()

    def sampled_criterion(self, settings: Settings) -> float:
        """The early-stopping value: the best model's criterion on a grid of thresholds."""
        return float(np.max(self.binned_criterion(settings)))

    def criterion(self, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
        """Per model: (criterion value, threshold), exact for every model that can win.

        Models whose grid value is more than ``SELECTION_MARGIN`` below the best cannot beat
        it once calibrated exactly (the grid is within ~1e-4 of the exact value), so only the
        contenders are sorted; the others keep their grid value and the default threshold.
        """
        if self._exact is not None:
            return self._exact[0].copy(), self._exact[1].copy()
        S, y = np.concatenate(self.scores), np.concatenate(self.labels)
        values = self.binned_criterion(settings)
        thresholds = np.full(len(values), _default_threshold(settings))
        finite = np.isfinite(values)
        if not finite.any():
            contenders = np.arange(len(values))
        elif settings.criterion == "accuracy" and self._slack is not None:
            # a model can win only if its grid value plus its largest bin reaches the best grid
            # value (ties included: argmax keeps the first of equal models)
            best = values[finite].max()
            contenders = np.flatnonzero(values + self._slack >= best - 1e-12)
        else:
            contenders = np.flatnonzero(values >= values[finite].max() - SELECTION_MARGIN)

        def exact(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return calibrate(
                S[:, columns],
                y,
                settings.criterion,
                default_threshold=_default_threshold(settings),
                **self._kwargs(settings),
            )

        # each contender is sorted on its own (numpy releases the GIL): two threads
        from concurrent.futures import ThreadPoolExecutor

        halves = [c for c in np.array_split(contenders, 2) if len(c)]
        with ThreadPoolExecutor(len(halves)) as pool:
            parts = list(pool.map(exact, halves))
        values[contenders] = np.concatenate([v for v, _ in parts])
        thresholds[contenders] = np.concatenate([t for _, t in parts])
        self._exact = (values.copy(), thresholds.copy())
        return values, thresholds


def _prob(Z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-Z.astype(np.float64)))


def _default_threshold(settings: Settings) -> float:
    return 0.5 if settings.loss == "logistic" else 0.0


def _uses_criterion(settings: Settings) -> bool:
    return settings.predictor_type == "binary_classifier" and settings.criterion != "loss_function"


def _improved(value: float, best: float | None, tol: float, maximize: bool) -> tuple[bool, bool]:
    """(better at all, better by more than the relative tolerance)."""
    if not np.isfinite(value):
        return False, False
    if best is None or not np.isfinite(best):
        return True, True
    gain = value - best if maximize else best - value
    return gain > 0, gain > tol * max(abs(best), 1e-12)


def _select(settings: Settings, cal: _Calibration) -> tuple[int, float]:
    """(best model, its threshold) on the calibration rows."""
    if _uses_criterion(settings):
        values, thresholds = cal.criterion(settings)
        if np.isfinite(values).any():
            m = int(np.argmax(values))
            return m, float(thresholds[m])
    return int(np.argmin(cal.mean_loss())), _default_threshold(settings)


def _validate(
    net: ParallelLinear, val_src: BatchSource, state: Any, settings: Settings, maximize: bool
) -> tuple[_Calibration, np.ndarray, float]:
    """Score the validation channel with ``state``: (calibration, loss per model, the
    early-stopping value)."""
    cal = _Calibration(net, settings.num_calibration_samples, _uses_criterion(settings))
    for batch in val_src:
        cal.add(batch.X, batch.y, state)
    val_loss = cal.mean_loss()
    value = cal.sampled_criterion(settings) if maximize else float(val_loss.min())
    return cal, val_loss, value


class _EarlyStopping:
    """The per-epoch metric lines, the best epoch's state and the patience count."""

    def __init__(self, settings: Settings, log: MetricLog, maximize: bool) -> None:
        self.settings = settings
        self.log = log
        self.maximize = maximize
        self.objective = OBJECTIVE_NAMES[settings.loss]
        self.criteria = f"sampled_{settings.criterion}" if maximize else "loss"
        self.best_value: float | None = None
        self.best_state: Any = None
        self.best_cal: _Calibration | None = None
        self.stale = 0

    def epoch_done(
        self,
        epoch: int,
        train_loss: np.ndarray,
        state: Any,
        validation: tuple[_Calibration, np.ndarray, float] | None,
    ) -> bool:
        """Log epoch ``epoch`` and keep its state if it is the best; True: stop here."""
        s, log = self.settings, self.log
        log.quality("train", f"{self.objective}_objective", float(train_loss.min()), epoch=epoch)
        cal = None
        if validation is not None:
            cal, val_loss, value = validation
            log.quality(
                "validation", f"{self.objective}_objective", float(val_loss.min()), epoch=epoch
            )
        else:
            value = float(train_loss.min())
        log.early_stopping(epoch, self.criteria, value)
        better, significant = _improved(
            value, self.best_value, s.early_stopping_tolerance, self.maximize
        )
        if better or self.best_value is None:
            self.best_value, self.best_state, self.best_cal = value, state, cal
        self.stale = 0 if significant else self.stale + 1
        log.progress(100.0 * (epoch + 1) / s.epochs)
        if self.stale >= s.early_stopping_patience:
            log.info(f"Early stop condition met. Stopping training after epoch {epoch}.")
            return True
        return False


def _fit(
    settings: Settings,
    net: ParallelLinear,
    train_src: BatchSource,
    val_src: BatchSource | None,
    sample: tuple[Any, np.ndarray],
    log: MetricLog,
    can_abort_epoch: bool = True,
) -> tuple[Any, int, float]:
    """The epochs with early stopping; returns (best state, best model, its threshold).

    With a validation channel, epoch ``e``'s validation pass (on a copy of its state) runs in a
    thread while epoch ``e + 1`` trains: training never depends on it, only the decision to
    stop does, so an epoch begun past the stopping point is abandoned as soon as the decision
    is known (checked every few mini-batches; with ``can_abort_epoch`` False — hosts in
    lock-step — at the end of the epoch) and discarded. The model and the log lines are the
    same as one epoch after the other; the wall time is shorter by about the validation passes
    (the mini-batch loop holds one core, BLAS runs one thread).
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    keep = _uses_criterion(settings)
    stopper = _EarlyStopping(settings, log, maximize=keep and val_src is not None)
    pending: tuple[int, np.ndarray, Any, Future[Any]] | None = None
    rows = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(1, thread_name_prefix="ll-validation") as pool:
        stopped = False

        def settle() -> bool:
            """Log the pending epoch (waiting for its validation); True: stop training."""
            nonlocal pending
            assert pending is not None
            done_epoch, done_loss, done_state, future = pending
            pending = None
            return stopper.epoch_done(done_epoch, done_loss, done_state, future.result())

        for epoch in range(settings.epochs):
            total = np.zeros(net.M)
            n = 0
            for i, batch in enumerate(train_src):
                total += net.train_batch(batch.X, batch.y)
                n += batch.n
                if (
                    can_abort_epoch
                    and pending is not None
                    and i % ABORT_CHECK_BATCHES == 0
                    and pending[3].done()
                    and settle()
                ):
                    stopped = True
                    break
            rows += n
            if stopped:
                break
            train_loss = total / max(n, 1)
            state = net.state.copy()
            if pending is not None and settle():
                stopped = True
                break
            if val_src is None:
                if stopper.epoch_done(epoch, train_loss, state, None):
                    stopped = True
                    break
            else:
                job = pool.submit(_validate, net, val_src, state, settings, stopper.maximize)
                pending = (epoch, train_loss, state, job)
        if pending is not None and not stopped:
            done_epoch, done_loss, done_state, future = pending
            stopper.epoch_done(done_epoch, done_loss, done_state, future.result())
    elapsed = max(time.perf_counter() - started, 1e-9)
    log.throughput(rows / elapsed)

    best_state, best_cal = stopper.best_state, stopper.best_cal
    if best_cal is None:  # no validation channel: select on the train sample
        best_cal = _Calibration(net, settings.num_calibration_samples, keep)
        best_cal.add(*sample, best_state)
    m, threshold = _select(settings, best_cal)
    log.info(
        "Best model found for hyperparameters: " + json.dumps(settings.models[m].as_log_dict())
    )
    return best_state, m, threshold


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train Linear Learner and write ``model_algo-1`` into ``context.model_dir``."""
    settings = resolve(hyperparameters)
    log = MetricLog(context)
    train_ch = channels["train"]
    validation = channels.get("validation")
    test = channels.get("test")
    hosts = None
    if len(context.hosts) > 1:  # data-parallel over the hosts: see .distributed
        from openmaker.algorithms.linear_learner import distributed

        hosts = distributed.join(context, log, train_ch)
        if not hosts.is_leader:
            return distributed.follow(hosts, settings, train_ch)
    X_s, y_s, d = _prepare_sample(settings, train_ch)
    scaler = fit_scaler(X_s, y_s, settings, "train")
    log.info(scaler.as_log())
    positive, class_weights = _weights(settings, y_s)
    net: Any = ParallelLinear(
        settings, scaler, d, positive_weight=positive, class_weights=class_weights
    )
    args = (settings.predictor_type, settings.num_classes, d)
    train_src: Any = BatchSource(train_ch, settings.mini_batch_size, *args)
    val_src = BatchSource(validation, EVAL_BATCH, *args) if validation is not None else None
    if hosts is not None:
        shared = (scaler, positive, class_weights, d)
        net, train_src = distributed.lead(hosts, net, train_src, train_ch, shared)
    # Mini-batch products are tiny (1,000 x d by d x 32): a second BLAS thread only adds
    # synchronisation (2-3x slower here, far worse when the machine is busy).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        best_state, m, threshold = _fit(
            settings, net, train_src, val_src, (X_s, y_s), log, can_abort_epoch=hosts is None
        )
    if hosts is not None:
        train_src.finish()
        hosts.close()
    W, b = net.export(m, best_state)
    meta = {
        "algorithm": "linear-learner",
        "predictor_type": settings.predictor_type,
        "loss": settings.loss,
        "num_classes": settings.num_classes,
        "feature_dim": d,
        "threshold": threshold,
        "model_index": m,
        "hyperparameters": settings.models[m].as_log_dict(),
        "label_mean": scaler.label_shift,
        "label_stdev": scaler.label_scale,
    }
    arrays = {
        "weight": W.astype(np.float32),
        "bias": b.astype(np.float32),
        "mean_weight": scaler.shift,
        "stdev_weight": scaler.scale,
    }
    save_model_arrays(context.model_dir, arrays, meta)

    final = FinalScorer(settings, W, b, threshold)
    final.report(log, "train", [(X_s, y_s)])
    for name, ch in (("validation", validation), ("test", test)):
        if ch is not None:
            final.report(log, name, ((bt.X, bt.y) for bt in BatchSource(ch, EVAL_BATCH, *args)))


class FinalScorer:
    """The final metrics of the selected model (original units) on a stream of batches."""

    def __init__(self, settings: Settings, W: np.ndarray, b: np.ndarray, threshold: float):
        self.s = settings
        self.W = W.astype(np.float32)
        self.b = b.astype(np.float32)
        self.threshold = threshold
        self.params = LossParams(
            margin=settings.margin,
            quantile=settings.quantile,
            huber_delta=settings.huber_delta,
            epsilon=settings.loss_insensitivity,
        )

    def report(self, log: MetricLog, channel: str, batches: Any) -> None:
        """Score every batch and print the channel's final metric lines."""
        s = self.s
        acc: Any
        if s.predictor_type == "binary_classifier":
            acc = BinaryMetrics(self.threshold, s.f_beta, s.num_calibration_samples)
        elif s.predictor_type == "multiclass_classifier":
            acc = MulticlassMetrics(s.num_classes, min(s.accuracy_top_k, s.num_classes), s.f_beta)
        else:
            acc = RegressionMetrics()
        for X, y in batches:
            Z = np.asarray(X @ self.W, dtype=np.float64) + self.b
            if s.predictor_type == "multiclass_classifier":
                L = loss_only(s.loss, Z[:, None, :], y, self.params)[:, 0]
                acc.update(softmax(Z), y, L)
            else:
                L = loss_only(s.loss, Z, y, self.params)[:, 0]
                z = Z[:, 0]
                acc.update(_prob(z) if s.loss == "logistic" else z, y, L)
        results = acc.results(OBJECTIVE_NAMES[s.loss])
        for name, value, kind in results:
            if channel == "train" and name in ("roc_auc_score", "rmse", "dcg"):
                continue
            log.quality(channel, name, float(value), kind)  # type: ignore[arg-type]
        main = results[1]
        log.final_score(channel, main[0], float(main[1]))
