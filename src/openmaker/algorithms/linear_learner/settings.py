"""Typed hyperparameters -> resolved settings, and the grid of parallel models.

Decisions on the ``auto`` values the reference leaves UNCONFIRMED:

* ``optimizer=auto`` is ``adam``; ``beta_1`` 0.9, ``beta_2`` 0.999, ``momentum`` (sgd) 0.9;
  RMSProp uses a decay of 0.9 and epsilon 1e-8 (MXNet's defaults).
* ``bias_lr_mult`` 1 and ``bias_wd_mult`` 0 (the bias is not regularised, as the doc says).
* ``lr_scheduler_step`` 100, ``lr_scheduler_factor`` 0.99, ``lr_scheduler_minimum_lr`` 1e-5 (the
  values of the "Best model found" line in the reference log). The rate of update ``t`` is
  ``max(lr * factor ** (t // step), minimum_lr)``.
* ``num_models=auto`` is 32 (the logs show 32 models), and 1 under automatic model tuning
  (a non-empty ``_tuning_objective_metric``), whatever the user gave, as SageMaker does.
* ``num_calibration_samples=auto`` is 10,000,000 (the log's default-input.json).
* The grid of parallel models: every hyperparameter left ``auto`` among ``learning_rate``
  (0.01, 0.03, 0.003, 0.1 -- the same grid for every optimizer), ``wd`` (0, 1e-5, 1e-4, 1e-3),
  ``l1`` (0, 1e-5) and ``positive_example_weight_mult`` (1 and ``balanced``) spans one axis;
  an explicit value is the same for every model. Model ``i`` takes the ``i``-th point of the
  product ``l1 x wd x positive_example_weight_mult x learning_rate`` (learning rate varying
  fastest), so model 0 is the default setting; when ``num_models`` exceeds the grid it starts
  over with the automatic learning rates halved each round (models with an explicit learning
  rate then differ only by their random initial weights).
* ``positive_example_weight_mult=auto`` lets the parallel models try 1 and ``balanced``
  (``#negatives / #positives`` in the scaler sample); the selection criterion decides.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from openmaker.algorithms.linear_learner.spec import LOSSES_BY_PREDICTOR

AUTO_LEARNING_RATES: tuple[float, ...] = (0.01, 0.03, 0.003, 0.1)
AUTO_WD: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3)
AUTO_L1: tuple[float, ...] = (0.0, 1e-5)
AUTO_POSITIVE_WEIGHTS: tuple[float | str, ...] = (1.0, "balanced")
AUTO_NUM_MODELS = 32
AUTO_NUM_CALIBRATION_SAMPLES = 10_000_000

_LEGACY_CRITERIA = {"f1": "f_beta", "cross_entropy_loss": "loss_function"}


@dataclass(frozen=True)
class ModelConfig:
    """The settings that differ between parallel models."""

    optimizer: str
    learning_rate: float
    wd: float
    l1: float
    positive_example_weight_mult: float | str
    lr_scheduler_step: int
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float

    def as_log_dict(self) -> dict[str, Any]:
        """The ``Best model found for hyperparameters: {...}`` payload."""
        out: dict[str, Any] = {
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "wd": self.wd,
            "l1": self.l1,
            "lr_scheduler_step": self.lr_scheduler_step,
            "lr_scheduler_factor": self.lr_scheduler_factor,
            "lr_scheduler_minimum_lr": self.lr_scheduler_minimum_lr,
        }
        if self.positive_example_weight_mult != 1.0:
            out["positive_example_weight_mult"] = self.positive_example_weight_mult
        return out


@dataclass(frozen=True)
class Settings:
    """Every hyperparameter with ``auto`` resolved (those that depend on data stay ``auto``)."""

    predictor_type: str
    loss: str
    num_classes: int
    feature_dim: int | None
    epochs: int
    mini_batch_size: int
    use_bias: bool
    normalize_data: bool
    unbias_data: str
    normalize_label: bool
    unbias_label: bool
    num_point_for_scaler: int
    num_calibration_samples: int
    early_stopping_patience: int
    early_stopping_tolerance: float
    criterion: str
    f_beta: float
    target_precision: float
    target_recall: float
    accuracy_top_k: int
    beta_1: float
    beta_2: float
    momentum: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_lr_scheduler: bool
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    margin: float
    quantile: float
    huber_delta: float
    loss_insensitivity: float
    balance_multiclass_weights: bool
    models: tuple[ModelConfig, ...] = field(default_factory=tuple)

    @property
    def n_outputs(self) -> int:
        """Score columns per model: num_classes for multiclass, else 1."""
        return self.num_classes if self.predictor_type == "multiclass_classifier" else 1

    @property
    def num_models(self) -> int:
        """Number of parallel models."""
        return len(self.models)


def _auto(value: Any, default: Any) -> Any:
    return default if value == "auto" else value


def _tri(value: str, auto: bool) -> bool:
    return auto if value == "auto" else value == "true"


def model_grid(hp: dict[str, Any], optimizer: str, num_models: int) -> tuple[ModelConfig, ...]:
    """The settings of each parallel model (see the module docstring)."""
    lr_auto = hp.get("learning_rate", "auto") == "auto"
    lrs = AUTO_LEARNING_RATES if lr_auto else (float(hp["learning_rate"]),)
    wds = AUTO_WD if hp.get("wd", "auto") == "auto" else (float(hp["wd"]),)
    l1s = AUTO_L1 if hp.get("l1", "auto") == "auto" else (float(hp["l1"]),)
    pw = hp.get("positive_example_weight_mult", 1.0)
    if hp["predictor_type"] != "binary_classifier":
        pws: tuple[float | str, ...] = (1.0,)
    elif pw == "auto":
        pws = AUTO_POSITIVE_WEIGHTS
    else:
        pws = (pw if pw == "balanced" else float(pw),)
    step = int(_auto(hp.get("lr_scheduler_step", "auto"), 100))
    factor = float(_auto(hp.get("lr_scheduler_factor", "auto"), 0.99))
    min_lr = float(_auto(hp.get("lr_scheduler_minimum_lr", "auto"), 1e-5))
    grid = list(itertools.product(l1s, wds, pws, lrs))
    out = []
    for i in range(num_models):
        l1, wd, p, lr = grid[i % len(grid)]
        rnd = i // len(grid)
        if lr_auto and rnd:
            lr = lr * 0.5**rnd
        out.append(ModelConfig(optimizer, lr, wd, l1, p, step, factor, min_lr))
    return tuple(out)


def resolve(hp: dict[str, Any]) -> Settings:
    """Resolve the typed hyperparameters of a job into :class:`Settings`."""
    ptype = hp["predictor_type"]
    loss = hp.get("loss", "auto")
    if loss == "auto":
        loss = LOSSES_BY_PREDICTOR[ptype][0]
    optimizer = _auto(hp.get("optimizer", "auto"), "adam")
    num_models = int(_auto(hp.get("num_models", "auto"), AUTO_NUM_MODELS))
    if str(hp.get("_tuning_objective_metric", "") or "").strip():
        num_models = 1
    criterion = hp.get("binary_classifier_model_selection_criteria", "accuracy")
    criterion = _LEGACY_CRITERIA.get(criterion, criterion)
    regressor = ptype == "regressor"
    normalize_label = regressor and _tri(hp.get("normalize_label", "auto"), True)
    feature_dim = hp.get("feature_dim", "auto")
    return Settings(
        predictor_type=ptype,
        loss=loss,
        num_classes=int(hp.get("num_classes") or 1),
        feature_dim=None if feature_dim == "auto" else int(feature_dim),
        epochs=hp["epochs"],
        mini_batch_size=hp["mini_batch_size"],
        use_bias=hp["use_bias"],
        normalize_data=_tri(hp["normalize_data"], True),
        unbias_data=hp["unbias_data"],
        normalize_label=normalize_label,
        unbias_label=regressor and _tri(hp.get("unbias_label", "auto"), normalize_label),
        num_point_for_scaler=hp["num_point_for_scaler"],
        num_calibration_samples=int(
            _auto(hp.get("num_calibration_samples", "auto"), AUTO_NUM_CALIBRATION_SAMPLES)
        ),
        early_stopping_patience=hp["early_stopping_patience"],
        early_stopping_tolerance=hp["early_stopping_tolerance"],
        criterion=criterion,
        f_beta=hp["f_beta"],
        target_precision=hp["target_precision"],
        target_recall=hp["target_recall"],
        accuracy_top_k=hp["accuracy_top_k"],
        beta_1=float(_auto(hp.get("beta_1", "auto"), 0.9)),
        beta_2=float(_auto(hp.get("beta_2", "auto"), 0.999)),
        momentum=float(_auto(hp.get("momentum", "auto"), 0.9)),
        bias_lr_mult=float(_auto(hp.get("bias_lr_mult", "auto"), 1.0)),
        bias_wd_mult=float(_auto(hp.get("bias_wd_mult", "auto"), 0.0)),
        use_lr_scheduler=hp["use_lr_scheduler"],
        init_method=hp["init_method"],
        init_scale=hp["init_scale"],
        init_sigma=hp["init_sigma"],
        init_bias=hp["init_bias"],
        margin=hp["margin"],
        quantile=hp["quantile"],
        huber_delta=hp["huber_delta"],
        loss_insensitivity=hp["loss_insensitivity"],
        balance_multiclass_weights=hp["balance_multiclass_weights"],
        models=model_grid(hp, optimizer, num_models),
    )
