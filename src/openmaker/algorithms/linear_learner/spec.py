"""SageMaker's Linear Learner, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or scipy. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 1); the decisions taken where the reference is silent
or marked UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.
linear_learner`) and in :mod:`openmaker.algorithms.linear_learner.settings`.
"""

from __future__ import annotations

from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.inference import (
    FIRST_PARTY_ACCEPT_TYPES,
    FIRST_PARTY_REQUEST_TYPES,
)
from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Boolean,
    Categorical,
    Continuous,
    Hyperparameter,
    Integer,
    Interval,
    OneOf,
)
from openmaker.spec.metrics import MetricDefinition

PREDICTOR_TYPES: tuple[str, ...] = ("binary_classifier", "multiclass_classifier", "regressor")

#: Losses valid for each predictor type; the first is what ``loss=auto`` means.
LOSSES_BY_PREDICTOR: dict[str, tuple[str, ...]] = {
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": (
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
LOSSES: tuple[str, ...] = (
    "auto",
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)
SELECTION_CRITERIA: tuple[str, ...] = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
    # legacy names the SDK still accepts
    "f1",
    "cross_entropy_loss",
)
OPTIMIZERS: tuple[str, ...] = ("auto", "sgd", "adam", "rmsprop")
_AUTO = Categorical(name="auto", choices=("auto",))


def _auto_or(hp: Hyperparameter, description: str) -> OneOf:
    """``auto`` or a value of ``hp`` (SageMaker's ``"auto"`` / number unions)."""
    auto = Categorical(name=hp.name, choices=("auto",))
    return OneOf(name=hp.name, default="auto", alternatives=(auto, hp), description=description)


def _tri(name: str, default: str, description: str) -> Categorical:
    return Categorical(
        name=name,
        default=default,
        choices=("auto", "true", "false"),
        ignore_case=True,  # the SDK sends its booleans as "True" / "False"
        description=description,
    )


def _num(name: str, lo: float | None, hi: float | None = None, **kw: Any) -> Continuous:
    return Continuous(name=name, range=Interval(lo, hi, **kw))


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Categorical(
        name="predictor_type",
        required=True,
        choices=PREDICTOR_TYPES,
        description="binary_classifier, multiclass_classifier or regressor.",
    ),
    Integer(
        name="num_classes",
        range=Interval(1, 1_000_000),
        description="Number of classes (multiclass_classifier: required, at least 3).",
    ),
    _auto_or(
        Integer(name="feature_dim", range=Interval(1, None)),
        "Number of features; auto reads it from the data.",
    ),
    Integer(
        name="accuracy_top_k",
        default=3,
        range=Interval(1, 1_000_000),
        description="k of the multiclass top-k accuracy metric.",
    ),
    Boolean(
        name="balance_multiclass_weights",
        default=False,
        description="Multiclass: weight classes so each has equal total weight.",
    ),
    _auto_or(_num("beta_1", 0, 1, max_open=True), "Adam: first-moment decay (auto: 0.9)."),
    _auto_or(_num("beta_2", 0, 1, max_open=True), "Adam: second-moment decay (auto: 0.999)."),
    _auto_or(
        _num("bias_lr_mult", 0, None, min_open=True),
        "Bias learning rate = learning_rate * bias_lr_mult (auto: 1).",
    ),
    _auto_or(
        _num("bias_wd_mult", 0, None),
        "Bias L2 = wd * bias_wd_mult (auto: 0, the bias is not regularised).",
    ),
    Categorical(
        name="binary_classifier_model_selection_criteria",
        default="accuracy",
        choices=SELECTION_CRITERIA,
        description="How the best model and its threshold are chosen (binary_classifier).",
    ),
    Integer(
        name="early_stopping_patience",
        default=3,
        range=Interval(1, None),
        description="Epochs without relative improvement before training stops.",
    ),
    Continuous(
        name="early_stopping_tolerance",
        default=0.001,
        range=Interval(0, None, min_open=True),
        description="Relative improvement below which an epoch counts as no improvement.",
    ),
    Integer(name="epochs", default=15, range=Interval(1, None), description="Passes over data."),
    Continuous(
        name="f_beta",
        default=1.0,
        range=Interval(0, None, min_open=True),
        description="beta of the F-beta metric and selection criterion.",
    ),
    Continuous(
        name="huber_delta",
        default=1.0,
        range=Interval(0, None),
        description="huber_loss: quadratic within delta (label units).",
    ),
    Continuous(name="init_bias", default=0.0, description="Initial bias."),
    Categorical(
        name="init_method",
        default="uniform",
        choices=("uniform", "normal"),
        description="Weight initialisation: uniform(+-init_scale) or normal(0, init_sigma).",
    ),
    Continuous(
        name="init_scale",
        default=0.07,
        range=Interval(0, None, min_open=True),
        description="uniform init: half-width of the range.",
    ),
    Continuous(
        name="init_sigma",
        default=0.01,
        range=Interval(0, None, min_open=True),
        description="normal init: standard deviation.",
    ),
    _auto_or(
        _num("l1", 0, None),
        "L1 regularisation (proximal step); auto: a grid over the parallel models.",
    ),
    _auto_or(
        _num("learning_rate", 0, None, min_open=True),
        "Step size; auto: a grid over the parallel models centred on the optimizer's default.",
    ),
    Categorical(
        name="loss",
        default="auto",
        choices=LOSSES,
        description="Loss; auto: logistic, softmax_loss or squared_loss by predictor_type.",
    ),
    Continuous(
        name="loss_insensitivity",
        default=0.01,
        range=Interval(0, None, min_open=True),
        description="Epsilon of the eps_insensitive losses (label units).",
    ),
    _auto_or(
        _num("lr_scheduler_factor", 0, 1, min_open=True, max_open=True),
        "Learning rate multiplied by this every lr_scheduler_step updates (auto: 0.99).",
    ),
    _auto_or(
        _num("lr_scheduler_minimum_lr", 0, None, min_open=True),
        "Floor of the scheduled learning rate (auto: 1e-5).",
    ),
    _auto_or(
        Integer(name="lr_scheduler_step", range=Interval(1, None)),
        "Updates between learning-rate decays (auto: 100).",
    ),
    Continuous(
        name="margin",
        default=1.0,
        range=Interval(0, None),
        description="hinge_loss margin.",
    ),
    Integer(
        name="mini_batch_size",
        default=1000,
        range=Interval(1, None),
        description="Rows per mini-batch.",
        tunable=True,
        tuning_range=(100, 5000),
    ),
    _auto_or(
        _num("momentum", 0, 1, max_open=True),
        "sgd: momentum (auto: 0.9).",
    ),
    _tri("normalize_data", "true", "Scale features to unit variance (from a sample)."),
    _tri("normalize_label", "auto", "Scale the label (auto: regressor only)."),
    _auto_or(
        Integer(name="num_calibration_samples", range=Interval(1, None)),
        "Rows used to calibrate the threshold and select the model (auto: 10,000,000).",
    ),
    _auto_or(
        Integer(name="num_models", range=Interval(1, None)),
        "Models trained in parallel (auto: 32; 1 under automatic model tuning).",
    ),
    Integer(
        name="num_point_for_scaler",
        default=10_000,
        range=Interval(1, None),
        description="Rows sampled to estimate the scaler (mean and standard deviation).",
    ),
    Categorical(
        name="optimizer",
        default="auto",
        choices=OPTIMIZERS,
        description="sgd (with momentum), adam or rmsprop; auto means adam.",
    ),
    OneOf(
        name="positive_example_weight_mult",
        default=1.0,
        alternatives=(
            Categorical(name="positive_example_weight_mult", choices=("balanced", "auto")),
            _num("positive_example_weight_mult", 0, None, min_open=True),
        ),
        description="binary: weight of positive examples; balanced, auto or a number > 0.",
        tunable=True,
        tuning_range=(1e-5, 1e5),
    ),
    Continuous(
        name="quantile",
        default=0.5,
        range=Interval(0, 1, min_open=True, max_open=True),
        description="quantile_loss: the quantile predicted.",
    ),
    Continuous(
        name="target_precision",
        default=0.8,
        range=Interval(0, 1, min_open=True, max_open=True),
        description="recall_at_target_precision: the precision held.",
    ),
    Continuous(
        name="target_recall",
        default=0.8,
        range=Interval(0, 1, min_open=True, max_open=True),
        description="precision_at_target_recall: the recall held.",
    ),
    _tri("unbias_data", "auto", "Centre features (auto: dense data when normalize_data)."),
    _tri("unbias_label", "auto", "Centre the label (auto: when it is normalised)."),
    Boolean(name="use_bias", default=True, description="Learn a bias term."),
    Boolean(name="use_lr_scheduler", default=True, description="Decay the learning rate."),
    _auto_or(
        _num("wd", 0, None),
        "L2 regularisation; auto: a grid over the parallel models.",
    ),
)


def _err(name: str, value: Any, allowed: str, why: str) -> HyperparameterError:
    return HyperparameterError(
        f"Hyperparameter {name!r}: value {value!r} is not valid; allowed: {allowed} ({why})",
        parameter=name,
        value=value,
        allowed=allowed,
    )


def _num_classes_rule(values: dict[str, Any]) -> None:
    if values["predictor_type"] != "multiclass_classifier":
        return
    n = values.get("num_classes")
    if n is None:
        raise HyperparameterError(
            "Missing required hyperparameter 'num_classes' (integer in [3, 1000000]): "
            "predictor_type multiclass_classifier needs it",
            parameter="num_classes",
            value=None,
            allowed="integer in [3, 1000000]",
        )
    if n < 3:
        raise _err("num_classes", n, "integer in [3, 1000000]", "multiclass_classifier")


def _loss_rule(values: dict[str, Any]) -> None:
    loss, ptype = values["loss"], values["predictor_type"]
    allowed = LOSSES_BY_PREDICTOR[ptype]
    if loss != "auto" and loss not in allowed:
        raise _err("loss", loss, "auto, " + ", ".join(allowed), f"predictor_type {ptype}")


RULES = (_num_classes_rule, _loss_rule)

_TRAIN_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_TRAIN_TYPES,
        description="Training data: csv (label first) or recordio-protobuf (dense or sparse).",
    ),
    Channel(
        "validation",
        content_types=_TRAIN_TYPES,
        description="Optional: per-epoch loss, early stopping, threshold and model selection.",
    ),
    Channel(
        "test",
        content_types=_TRAIN_TYPES,
        description="Optional: the final model is scored on it.",
    ),
)

#: What inference accepts and answers: the first-party conventions (reference section 0.3).
REQUEST_CONTENT_TYPES = FIRST_PARTY_REQUEST_TYPES
RESPONSE_CONTENT_TYPES = FIRST_PARTY_ACCEPT_TYPES

_MAXIMIZE_EXCEPT = ("objective_loss", "mse", "rmse", "absolute_loss")


def _quality(name: str, logged: str, kind: str, *, per_epoch: bool = False) -> MetricDefinition:
    """As ``common.metric_log.quality_metric`` builds it (that module imports numpy)."""
    channel = name.split(":")[0]
    epoch = r"epoch=\S+, " if per_epoch else ""
    regex = f"#quality_metric: host=\\S+, {epoch}{channel} {logged} <{kind}>=(\\S+)"
    base = name.split(":")[1]
    direction = "Minimize" if base in _MAXIMIZE_EXCEPT else "Maximize"
    return MetricDefinition(name, regex, direction, tunable=True)  # type: ignore[arg-type]


def _metrics() -> tuple[MetricDefinition, ...]:
    out = [
        MetricDefinition(
            "train:progress", r"#progress_metric: host=\S+, completed (\S+) %", "Maximize", False
        ),
        MetricDefinition(
            "train:throughput",
            r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
            "Maximize",
            False,
        ),
        _quality("train:objective_loss", r"\S+_objective", "loss", per_epoch=True),
        _quality("validation:objective_loss", r"\S+_objective", "loss", per_epoch=True),
    ]
    for ch in ("train", "validation"):
        m = _quality(f"{ch}:objective_loss", r"\S+_objective", "loss")
        out.append(MetricDefinition(f"{ch}:objective_loss:final", m.regex, m.direction))
    out.append(_quality("test:objective_loss", r"\S+_objective", "loss"))
    for ch in ("train", "validation", "test"):
        out += [
            _quality(f"{ch}:mse", "mse", "loss"),
            _quality(f"{ch}:absolute_loss", "absolute_loss", "loss"),
            _quality(
                f"{ch}:binary_classification_accuracy", "binary_classification_accuracy", "score"
            ),
            _quality(f"{ch}:binary_f_beta", r"binary_f_\S+", "score"),
            _quality(f"{ch}:precision", "precision", "score"),
            _quality(f"{ch}:recall", "recall", "score"),
        ]
    for ch in ("validation", "test"):
        out += [
            _quality(f"{ch}:roc_auc_score", "roc_auc_score", "score"),
            _quality(f"{ch}:multiclass_accuracy", "multiclass_accuracy", "score"),
            _quality(f"{ch}:multiclass_top_k_accuracy", r"multiclass_top_k_accuracy_\S+", "score"),
            _quality(f"{ch}:dcg", "dcg", "score"),
            _quality(f"{ch}:macro_f_beta", r"macro_f_\S+", "score"),
            _quality(f"{ch}:macro_precision", "macro_precision", "score"),
            _quality(f"{ch}:macro_recall", "macro_recall", "score"),
        ]
    out.append(_quality("validation:rmse", "rmse", "loss"))
    return tuple(out)


METRICS = _metrics()

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(METRICS)

_BASE_EXAMPLE = {"mini_batch_size": "32", "epochs": "3", "num_models": "4"}

SPEC = AlgorithmSpec(
    name="linear-learner",
    title="Linear Learner",
    description=(
        "SageMaker's Linear Learner: linear and logistic regression and multiclass softmax "
        "trained by mini-batch SGD / Adam / RMSProp, many models in parallel in one pass over "
        "streamed data, the best chosen (and its threshold calibrated) on validation data."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.linear_learner.train:train",
    model="openmaker.algorithms.linear_learner.model:LinearLearnerModel",
    rules=RULES,
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("binary", "multiclass", "regression"),
    example_hyperparameters={
        "binary": {**_BASE_EXAMPLE, "predictor_type": "binary_classifier"},
        "multiclass": {
            **_BASE_EXAMPLE,
            "predictor_type": "multiclass_classifier",
            "num_classes": "3",
        },
        "regression": {**_BASE_EXAMPLE, "predictor_type": "regressor"},
    },
    model_files=("model_algo-1",),
    supports_distributed=True,
    image_repository="linear-learner",
)
