"""SageMaker's Neural Topic Model, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or torch. The facts follow the reference
(``text-timeseries-algorithms.md`` sections 0 and 5); the decisions taken where it is silent
or marked UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.ntm`).
"""

from __future__ import annotations

import json
from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.metric_log import progress_metric, throughput_metric
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
    Text,
)
from openmaker.spec.metrics import MetricDefinition

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu")
#: The SDK's list (the DG tuning page recommends sgd / adam / adadelta).
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adagrad", "adadelta", "rmsprop")
#: The auxiliary channel's content type and file (reference 5.2).
TEXT_PLAIN = "text/plain"
VOCAB_FILE = "vocab.txt"
MAX_FEATURE_DIM = 1_000_000


def parse_encoder_layers(text: str) -> str | list[int]:
    """``auto``, ``"50,50"`` or the SDK's ``"[50, 50]"`` -> ``"auto"`` or ``[50, 50]``.

    Raises:
        ValueError: not ``auto`` and not a non-empty list of positive integers.
    """
    text = text.strip()
    if text.lower() == "auto":
        return "auto"
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError(text)
    else:
        items = [p.strip() for p in text.split(",")]
    sizes: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(text)
        value = float(item)
        if not value.is_integer() or value < 1:
            raise ValueError(text)
        sizes.append(int(value))
    if not sizes:
        raise ValueError(text)
    return sizes


def resolve_encoder_layers(value: Any, num_topics: int) -> list[int]:
    """The layer sizes: ``auto`` is two layers of ``3 x num_topics`` and ``2 x num_topics``."""
    if value in (None, "auto"):
        return [3 * num_topics, 2 * num_topics]
    return [int(v) for v in value]


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, MAX_FEATURE_DIM),
        description="Vocabulary size: the width of the word-count vectors.",
    ),
    Integer(
        name="num_topics",
        required=True,
        range=Interval(2, 1000),
        description="Number of topics (at most feature_dim).",
    ),
    Boolean(
        name="batch_norm",
        default=False,
        description="Batch normalisation after each encoder layer.",
    ),
    Continuous(
        name="clip_gradient",
        default=float("inf"),
        range=Interval(1e-3, None),
        description="Maximum magnitude of each gradient component (after rescaling).",
    ),
    Text(
        name="encoder_layers",
        default="auto",
        validator=parse_encoder_layers,
        domain_text="auto or a comma-separated list of positive integers",
        description="Encoder layer sizes; auto: 3 x num_topics, 2 x num_topics.",
    ),
    Categorical(
        name="encoder_layers_activation",
        default="sigmoid",
        choices=ACTIVATIONS,
        tunable=True,
        tuning_range=ACTIVATIONS,
        description="Activation of the encoder layers.",
    ),
    Integer(
        name="epochs",
        default=50,
        range=Interval(1, None),
        description="Maximum passes over the training data.",
    ),
    Continuous(
        name="learning_rate",
        default=0.001,
        range=Interval(1e-6, 1.0),
        tunable=True,
        tuning_range=(1e-4, 0.1),
        description="Optimizer step size (adadelta does not use it).",
    ),
    Integer(
        name="mini_batch_size",
        default=256,
        range=Interval(1, 10000),
        tunable=True,
        tuning_range=(16, 2048),
        description="Documents per mini-batch (per instance).",
    ),
    Integer(
        name="num_patience_epochs",
        default=3,
        range=Interval(1, None),
        description="Epochs over which the loss must change by less than tolerance to stop.",
    ),
    Categorical(
        name="optimizer",
        default="adadelta",
        choices=OPTIMIZERS,
        tunable=True,
        tuning_range=("sgd", "adam", "adadelta"),
        description="Optimizer: sgd, adam, adagrad, adadelta or rmsprop.",
    ),
    Continuous(
        name="rescale_gradient",
        default=1.0,
        range=Interval(1e-3, 1.0),
        tunable=True,
        tuning_range=(0.1, 1.0),
        description="Factor every gradient is multiplied by before the update.",
    ),
    Continuous(
        name="sub_sample",
        default=1.0,
        range=Interval(0.0, 1.0, min_open=True),
        description="Fraction of the training documents sampled at random each epoch.",
    ),
    Continuous(
        name="tolerance",
        default=0.001,
        range=Interval(1e-6, 0.1),
        description="Maximum relative change of the loss that counts as no change.",
    ),
    Continuous(
        name="weight_decay",
        default=0.0,
        range=Interval(0.0, 1.0),
        tunable=True,
        tuning_range=(0.0, 1.0),
        description="L2 weight decay coefficient.",
    ),
)


def _num_topics_within_vocabulary(values: dict[str, Any]) -> None:
    k, v = values.get("num_topics"), values.get("feature_dim")
    if k is not None and v is not None and int(k) > int(v):
        raise HyperparameterError(
            f"Hyperparameter 'num_topics': value {k} is larger than the vocabulary size "
            f"(feature_dim={v}); a topic model needs at most one topic per word",
            parameter="num_topics",
            value=k,
            allowed=f"integer in [2, {v}]",
        )


RULES = (_num_topics_within_vocabulary,)

_DATA_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        description="Word counts per document (recordio-protobuf dense or sparse, or dense CSV).",
    ),
    Channel(
        "validation",
        content_types=_DATA_TYPES,
        description="Optional: validation:total_loss each epoch; drives early stopping.",
    ),
    Channel(
        "test",
        content_types=_DATA_TYPES,
        description="Optional: test:total_loss of the final model.",
    ),
    Channel(
        "auxiliary",
        content_types=(TEXT_PLAIN,),
        description="Optional: vocab.txt, one word per line in id order (top words, WETC, TU).",
    ),
)

#: Inference request / response types (reference 5.4).
REQUEST_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)


def _quality(name: str, kind: str = "loss", *, tunable: bool = False) -> MetricDefinition:
    """``<channel>:<name>`` from its per-epoch and final ``#quality_metric`` lines (the last
    line of a job is the final value)."""
    channel, _, logged = name.partition(":")
    regex = f"#quality_metric: host=\\S+, (?:epoch=\\S+, )?{channel} {logged} <{kind}>=(\\S+)"
    return MetricDefinition(name, regex, "Minimize" if kind == "loss" else "Maximize", tunable)


METRICS = (
    _quality("validation:total_loss", tunable=True),
    _quality("validation:recons_loss"),
    _quality("validation:kl_divergence"),
    _quality("validation:perplexity"),
    _quality("test:total_loss"),
    _quality("test:recons_loss"),
    _quality("test:kl_divergence"),
    _quality("test:perplexity"),
    _quality("train:total_loss"),
    _quality("train:recons_loss"),
    _quality("train:kl_divergence"),
    _quality("train:wetc", "score"),
    _quality("train:tu", "score"),
    progress_metric(),
    throughput_metric(),
)

INTERNAL_HYPERPARAMETERS = internal.first_party(METRICS)

SPEC = AlgorithmSpec(
    name="ntm",
    title="Neural Topic Model",
    description=(
        "SageMaker's Neural Topic Model: a variational autoencoder over bag-of-words "
        "documents (MLP encoder -> Gaussian latent -> softmax topic weights -> linear decoder "
        "to word log-probabilities), trained on reconstruction loss plus KL divergence. "
        "Inference returns each document's topic_weights."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.ntm.train:train",
    model="openmaker.algorithms.ntm.model:NTMModel",
    rules=RULES,
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("word_counts",),
    example_hyperparameters={
        "word_counts": {
            "feature_dim": "6",
            "num_topics": "2",
            "epochs": "3",
            "mini_batch_size": "32",
            "optimizer": "adam",
            "learning_rate": "0.01",
        },
    },
    model_files=("model_algo-1",),
    supports_distributed=True,
    image_repository="ntm",
)
