"""SageMaker's Factorization Machines, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or scipy. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 7); the decisions taken where the reference is silent
or marked UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.
factorization_machines`) and in :mod:`.settings` (what the ``None`` defaults mean).
"""

from __future__ import annotations

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.metric_log import (
    progress_metric,
    quality_metric,
    score_metric,
    throughput_metric,
)
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Categorical,
    Continuous,
    Hyperparameter,
    Integer,
    Interval,
)
from openmaker.spec.metrics import MetricDefinition

PREDICTOR_TYPES: tuple[str, ...] = ("binary_classifier", "regressor")
INIT_METHODS: tuple[str, ...] = ("normal", "uniform", "constant")
#: The three parameter groups of the model: global bias w0, linear weights w, factors V.
TERMS: tuple[str, ...] = ("bias", "linear", "factors")

#: SageMaker's suggested tuning range for every continuous parameter (fm-tuning).
_TUNING = (1e-8, 512.0)
_NON_NEGATIVE = Interval(0, None)
_POSITIVE = Interval(0, None, min_open=True)

#: Defaults per term: (init sigma, learning rate, weight decay) [doc fact-machines-hyperparameters].
_TERM_DEFAULTS: dict[str, tuple[float, float, float]] = {
    "bias": (0.01, 0.1, 0.01),
    "linear": (0.01, 0.001, 0.001),
    "factors": (0.001, 0.0001, 0.00001),
}
_TERM_TEXT = {"bias": "the global bias w0", "linear": "the linear weights w", "factors": "V"}


def _term_hyperparameters(term: str) -> tuple[Hyperparameter, ...]:
    sigma, lr, wd = _TERM_DEFAULTS[term]
    what = _TERM_TEXT[term]
    method = f"{term}_init_method"
    return (
        Categorical(
            name=method,
            default="normal",
            choices=INIT_METHODS,
            description=f"Initialisation of {what}: normal, uniform or constant.",
        ),
        Continuous(
            name=f"{term}_init_scale",
            range=_NON_NEGATIVE,
            description=f"uniform init of {what}: values drawn from [-scale, scale].",
            tunable=True,
            tuning_range=_TUNING,
            depends_on=(method, ("uniform",)),
        ),
        Continuous(
            name=f"{term}_init_sigma",
            default=sigma,
            range=_NON_NEGATIVE,
            description=f"normal init of {what}: standard deviation.",
            tunable=True,
            tuning_range=_TUNING,
            depends_on=(method, ("normal",)),
        ),
        Continuous(
            name=f"{term}_init_value",
            description=f"constant init of {what}: the value.",
            tunable=True,
            tuning_range=_TUNING,
            depends_on=(method, ("constant",)),
        ),
        Continuous(
            name=f"{term}_lr",
            default=lr,
            range=_NON_NEGATIVE,
            description=f"Learning rate of {what} (Adam step size).",
            tunable=True,
            tuning_range=_TUNING,
        ),
        Continuous(
            name=f"{term}_wd",
            default=wd,
            range=_NON_NEGATIVE,
            description=f"Weight decay (L2) of {what}.",
            tunable=True,
            tuning_range=_TUNING,
        ),
    )


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, None),
        description="Number of features (columns; one-hot users + items + ...).",
    ),
    Integer(
        name="num_factors",
        required=True,
        range=Interval(1, None),
        description="Dimension of the factor vectors (2..1000; 64 is a good start).",
    ),
    Categorical(
        name="predictor_type",
        required=True,
        choices=PREDICTOR_TYPES,
        description="binary_classifier (log loss) or regressor (squared loss).",
    ),
    *_term_hyperparameters("bias"),
    *_term_hyperparameters("linear"),
    *_term_hyperparameters("factors"),
    Continuous(
        name="clip_gradient",
        range=_POSITIVE,
        description="Clip every gradient component to [-c, c]; not clipped when omitted.",
    ),
    Integer(
        name="epochs",
        default=1,
        range=Interval(1, None),
        description="Passes over the training data.",
        tunable=True,
        tuning_range=(1, 1000),
    ),
    Continuous(
        name="eps",
        range=_POSITIVE,
        description="Adam's epsilon (division guard); 1e-8 when omitted.",
    ),
    Integer(
        name="mini_batch_size",
        default=1000,
        range=Interval(1, None),
        description="Rows per mini-batch.",
        tunable=True,
        tuning_range=(100, 10000),
    ),
    Continuous(
        name="rescale_grad",
        range=_POSITIVE,
        description="Gradients are multiplied by this; 1 / rows of the batch when omitted.",
    ),
)

_TRAIN_TYPES = (ContentType.RECORDIO_PROTOBUF,)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_TRAIN_TYPES,
        description="Training data: recordio-protobuf Float32 tensors, sparse or dense.",
    ),
    Channel(
        "test",
        content_types=_TRAIN_TYPES,
        description="Optional: the final model is scored on it (test:* metrics).",
    ),
)

#: Inference requests: JSON (dense or sparse), JSON Lines, RecordIO-protobuf; not CSV [doc].
REQUEST_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)

#: The F-beta FM prints: beta is fixed at 1 (FM has no ``f_beta`` hyperparameter).
F_BETA_NAME = "binary_f_1.000"


def _metrics() -> tuple[MetricDefinition, ...]:
    out: list[MetricDefinition] = [progress_metric(), throughput_metric()]
    for channel, per_epoch in (("train", True), ("test", False)):
        # The test metrics are SageMaker's tunable ones; the per-epoch train lines are not.
        tunable = not per_epoch
        out += [
            quality_metric(f"{channel}:rmse", "rmse", per_epoch=per_epoch, tunable=tunable),
            score_metric(
                f"{channel}:binary_classification_accuracy",
                "binary_classification_accuracy",
                per_epoch=per_epoch,
                tunable=tunable,
            ),
            quality_metric(
                f"{channel}:binary_classification_cross_entropy",
                "binary_classification_cross_entropy",
                per_epoch=per_epoch,
                tunable=tunable,
            ),
            score_metric(
                f"{channel}:binary_f_beta", r"binary_f_\S+", per_epoch=per_epoch, tunable=tunable
            ),
        ]
    return tuple(out)


METRICS = _metrics()

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(METRICS)

_BASE_EXAMPLE = {"feature_dim": "6", "num_factors": "4", "epochs": "5", "mini_batch_size": "32"}

SPEC = AlgorithmSpec(
    name="factorization-machines",
    title="Factorization Machines",
    description=(
        "SageMaker's Factorization Machines: a linear model plus pairwise interactions "
        "factorised into low-rank vectors, trained by mini-batch Adam on sparse "
        "RecordIO-protobuf data (one-hot users and items, millions of columns) for binary "
        "classification or regression."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.factorization_machines.train:train",
    model="openmaker.algorithms.factorization_machines.model:FactorizationMachinesModel",
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("binary", "regression"),
    example_hyperparameters={
        "binary": {**_BASE_EXAMPLE, "predictor_type": "binary_classifier"},
        "regression": {**_BASE_EXAMPLE, "predictor_type": "regressor"},
    },
    model_files=("model_algo-1",),
    supports_distributed=False,
    image_repository="factorization-machines",
)
