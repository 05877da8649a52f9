"""SageMaker's IP Insights algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or pyarrow. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 8); the decisions taken where it is silent or marked
UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.ip_insights`).
"""

from __future__ import annotations

from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.metric_log import (
    progress_metric,
    quality_metric,
    score_metric,
    throughput_metric,
)
from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import Continuous, Hyperparameter, Integer, Interval
from openmaker.spec.metrics import MetricDefinition

#: Most negative samples per positive pair (``random_negative_sampling_rate`` +
#: ``shuffled_negative_sampling_rate``).
MAX_NEGATIVE_RATE = 500

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="num_entity_vectors",
        required=True,
        range=Interval(1, 250_000_000),
        tunable=True,
        tuning_range=(10_000, 1_000_000),
        description=(
            "Entity embeddings; entity ids are hashed into this many slots "
            "(about twice the number of distinct entities is recommended)."
        ),
    ),
    Integer(
        name="vector_dim",
        required=True,
        range=Interval(4, 4096),
        tunable=True,
        tuning_range=(8, 256),
        description="Size of the entity and IP embeddings (128 is recommended).",
    ),
    Integer(
        name="batch_metrics_publish_interval",
        default=1000,
        range=Interval(1, None),
        description="Print the training loss, accuracy and throughput every this many batches.",
    ),
    Integer(
        name="epochs",
        default=10,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 100),
        description="Passes over the training data.",
    ),
    Continuous(
        name="learning_rate",
        default=0.001,
        range=Interval(1e-6, 10.0),
        tunable=True,
        tuning_range=(1e-4, 0.1),
        description="Adam learning rate.",
    ),
    Integer(
        name="mini_batch_size",
        default=10_000,
        range=Interval(1, 500_000),
        tunable=True,
        tuning_range=(100, 50_000),
        description="Positive (entity, IP) pairs per batch; negatives are added to each batch.",
    ),
    Integer(
        name="num_ip_encoder_layers",
        default=1,
        range=Interval(0, 100),
        tunable=True,
        tuning_range=(1, 10),
        description="Fully connected (residual ReLU) layers on top of the IP prefix embeddings.",
    ),
    Integer(
        name="random_negative_sampling_rate",
        default=1,
        range=Interval(0, MAX_NEGATIVE_RATE),
        tunable=True,
        tuning_range=(0, 10),
        description="Negatives per positive pair made with a uniformly random IPv4 address.",
    ),
    Integer(
        name="shuffled_negative_sampling_rate",
        default=1,
        range=Interval(0, MAX_NEGATIVE_RATE),
        tunable=True,
        tuning_range=(0, 10),
        description="Negatives per positive pair made by shuffling entities within the batch.",
    ),
    Continuous(
        name="weight_decay",
        default=0.00001,
        range=Interval(0.0, 10.0),
        tunable=True,
        tuning_range=(0.0, 1.0),
        description="L2 regularisation added to the gradient of every updated weight.",
    ),
)


def _negative_rates(values: dict[str, Any]) -> None:
    """1 <= random_negative_sampling_rate + shuffled_negative_sampling_rate <= 500."""
    r = int(values.get("random_negative_sampling_rate", 1))
    s = int(values.get("shuffled_negative_sampling_rate", 1))
    if not 1 <= r + s <= MAX_NEGATIVE_RATE:
        raise HyperparameterError(
            f"Hyperparameter 'shuffled_negative_sampling_rate': random_negative_sampling_rate "
            f"({r}) + shuffled_negative_sampling_rate ({s}) = {r + s} must be between 1 and "
            f"{MAX_NEGATIVE_RATE}: training needs at least one negative sample per pair",
            parameter="shuffled_negative_sampling_rate",
            value=s,
            allowed=f"integer with 1 <= {r} + value <= {MAX_NEGATIVE_RATE}",
        )


RULES = (_negative_rates,)

_DATA_TYPES = (ContentType.CSV,)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        description="text/csv without header: entity id, IPv4 address (dotted decimal).",
    ),
    Channel(
        "validation",
        content_types=_DATA_TYPES,
        description=(
            "Optional, same format: paired with generated negatives and scored as "
            "validation:discriminator_auc after every epoch."
        ),
    ),
)

#: Inference requests (reference 8.3): two columns entity, IP; RecordIO is not supported.
REQUEST_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.JSON,
    ContentType.JSONLINES,
)
#: Inference responses: JSON (the default) or JSON Lines; ``;verbose=True`` adds embeddings.
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (ContentType.JSON, ContentType.JSONLINES)

_BCE = "binary_classification_cross_entropy"
_ACC = "binary_classification_accuracy"


def _batch_metric(name: str, logged: str, kind: str) -> MetricDefinition:
    """A per-batch line: ``#quality_metric: host=algo-1, epoch=0, batch=1000 train ...``."""
    regex = f"#quality_metric: host=\\S+, epoch=\\S+, batch=\\S+ train {logged} <{kind}>=(\\S+)"
    return MetricDefinition(name, regex, "Minimize" if kind == "loss" else "Maximize", False)


#: SageMaker's MetricDefinitions for IP Insights (reference 8.4), byte for byte.
METRICS = (
    progress_metric(),
    throughput_metric(),
    score_metric("validation:discriminator_auc", "discriminator_auc", per_epoch=True),
    _batch_metric(f"train:{_BCE}", _BCE, "loss"),
    _batch_metric(f"train:{_ACC}", _ACC, "score"),
    quality_metric(f"train:{_BCE}:epoch", _BCE, "loss", per_epoch=True, tunable=False),
    score_metric(f"train:{_ACC}:epoch", _ACC, per_epoch=True, tunable=False),
)

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(
    METRICS,
    Integer(
        name="feature_dim",
        range=Interval(1, None),
        description=(
            "Internal: the SDK's IPInsights sends its RecordSet's feature_dim; the data always "
            "has two columns (entity, IP), so it changes nothing."
        ),
        internal=True,
    ),
)

SPEC = AlgorithmSpec(
    name="ipinsights",
    title="IP Insights",
    description=(
        "SageMaker's IP Insights: learns embeddings of entities (hashed ids) and of IPv4 "
        "addresses (an encoder over their /8, /16, /24 and /32 prefixes) so that their dot "
        "product tells real (entity, IP) pairs from random and shuffled ones. Inference "
        "returns the dot product: low values flag unusual logins."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.ip_insights.train:train",
    model="openmaker.algorithms.ip_insights.model:IPInsightsModel",
    rules=RULES,
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("entity_ip",),
    example_hyperparameters={
        "entity_ip": {
            "num_entity_vectors": "64",
            "vector_dim": "8",
            "epochs": "2",
            "mini_batch_size": "40",
            "learning_rate": "0.01",
            "batch_metrics_publish_interval": "2",
        },
    },
    model_files=("model_algo-1",),
    supports_distributed=False,
    image_repository="ipinsights",
)
