"""SageMaker's PCA algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or scipy. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 4); the decisions taken where it is silent are listed
in the package docstring (:mod:`openmaker.algorithms.pca`).
"""

from __future__ import annotations

from typing import Any, Literal

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.inference import (
    FIRST_PARTY_ACCEPT_TYPES,
    FIRST_PARTY_REQUEST_TYPES,
)
from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import Boolean, Categorical, Integer, Interval
from openmaker.spec.metrics import MetricDefinition

ALGORITHM_MODES: tuple[str, ...] = ("regular", "randomized")

HYPERPARAMETERS = (
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, None),
        description="Number of features (columns) of the input data.",
    ),
    Integer(
        name="mini_batch_size",
        required=True,
        range=Interval(1, None),
        description="Rows per mini-batch (the SDK's default is 500).",
    ),
    Integer(
        name="num_components",
        required=True,
        range=Interval(1, None),
        description="Number of principal components to compute (at most feature_dim).",
    ),
    Categorical(
        name="algorithm_mode",
        default="regular",
        choices=ALGORITHM_MODES,
        description="regular: exact covariance then eigendecomposition; randomized: sketch.",
    ),
    Integer(
        name="extra_components",
        default=-1,
        range=Interval(-1, None),
        description=("Randomized mode: extra sketch dimensions; -1 means max(10, num_components)."),
        depends_on=("algorithm_mode", ("randomized",)),
    ),
    Boolean(
        name="subtract_mean",
        default=True,
        description="Center the data (training and inference) by the training mean.",
    ),
)


def _components_fit(values: dict[str, Any]) -> None:
    k, d = values["num_components"], values["feature_dim"]
    if k > d:
        raise HyperparameterError(
            f"Hyperparameter 'num_components': value {k} is not valid; allowed: an integer "
            f"in [1, feature_dim={d}]",
            parameter="num_components",
            value=k,
            allowed=f"integer in [1, {d}]",
        )


def sketch_size(num_components: int, extra_components: int, feature_dim: int) -> int:
    """ℓ, the rows of the randomized sketch: ``num_components + extra``, at most feature_dim."""
    extra = max(10, num_components) if extra_components == -1 else extra_components
    return min(num_components + extra, feature_dim)


_TRAIN_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_TRAIN_TYPES,
        description="Training data (unlabelled; text/csv;label_size=0 or recordio-protobuf).",
    ),
    Channel(
        "test",
        content_types=_TRAIN_TYPES,
        description="Optional: scored by reconstruction error and explained variance ratio.",
    ),
)

#: What inference accepts and answers: the first-party conventions (reference section 0.3).
REQUEST_CONTENT_TYPES = FIRST_PARTY_REQUEST_TYPES
RESPONSE_CONTENT_TYPES = FIRST_PARTY_ACCEPT_TYPES


def _quality(name: str, kind: Literal["loss", "score"]) -> MetricDefinition:
    """A final (no ``epoch=``) ``#quality_metric`` line, as ``common.quality_metric`` builds it."""
    channel, _, logged = name.partition(":")
    regex = f"#quality_metric: host=\\S+, {channel} {logged} <{kind}>=(\\S+)"
    direction: Literal["Minimize", "Maximize"] = "Minimize" if kind == "loss" else "Maximize"
    return MetricDefinition(name, regex, direction, tunable=False)


#: None of PCA's metrics is tunable: SageMaker documents no PCA tuning objective.
METRICS = (
    _quality("train:explained_variance_ratio", "score"),
    _quality("test:reconstruction_error", "loss"),
    _quality("test:explained_variance_ratio", "score"),
    MetricDefinition(
        "train:progress", r"#progress_metric: host=\S+, completed (\S+) %", "Maximize", False
    ),
    MetricDefinition(
        "train:throughput",
        r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
        "Maximize",
        False,
    ),
)

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(
    METRICS,
    internal.force_dense(),
    Integer(
        name="epochs",
        range=Interval(1, None),
        description="Internal (container default 1): one pass computes the exact solution here.",
        internal=True,
    ),
)

SPEC = AlgorithmSpec(
    name="pca",
    title="Principal Component Analysis (PCA)",
    description=(
        "SageMaker's PCA: principal components from one streaming pass over the data, either "
        "from the exact covariance (regular) or from a random sketch (randomized, wide data). "
        "Inference returns the projection of each record on the components."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.pca.train:train",
    model="openmaker.algorithms.pca.model:PCAModel",
    rules=(_components_fit,),
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("unsupervised",),
    example_hyperparameters={
        "unsupervised": {"feature_dim": "6", "num_components": "3", "mini_batch_size": "50"},
    },
    model_files=("model_algo-1",),
    supports_distributed=True,
    image_repository="pca",
)
