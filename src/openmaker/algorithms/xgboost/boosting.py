"""The boosting loop: SageMaker's per-round metric lines, container-computed metrics,
early stopping, SIGTERM handling and checkpoint pacing."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.algorithms.xgboost.checkpoints import MODEL_FILE, _save_checkpoint, save_booster
from openmaker.algorithms.xgboost.params import _objective
from openmaker.algorithms.xgboost.spec import (
    all_eval_metrics,
    metric_maximize,
)
from openmaker.errors import AlgorithmError, ValidationError
from openmaker.spec.algorithm import TrainingContext

if TYPE_CHECKING:
    import xgboost as xgb


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
