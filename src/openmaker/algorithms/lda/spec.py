"""SageMaker's LDA algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or scipy. The facts follow the reference
(``text-timeseries-algorithms.md`` sections 0 and 6); the decisions taken where it is silent
are listed in the package docstring (:mod:`openmaker.algorithms.lda`).
"""

from __future__ import annotations

from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import Continuous, Integer, Interval
from openmaker.spec.metrics import MetricDefinition

HYPERPARAMETERS = (
    Integer(
        name="num_topics",
        required=True,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 150),
        description="Number of topics to find (at most feature_dim).",
    ),
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, None),
        description="Size of the vocabulary: the length of each document's word-count vector.",
    ),
    Integer(
        name="mini_batch_size",
        required=True,
        range=Interval(1, None),
        description=(
            "SageMaker: the total number of documents. Here the most documents streamed at a "
            "time (capped; the moments are sums, so it changes speed and memory, not the model)."
        ),
    ),
    Continuous(
        name="alpha0",
        default=1.0,
        range=Interval(0, None, min_open=True),
        tunable=True,
        tuning_range=(0.1, 10.0),
        description=(
            "Initial guess of the sum of the Dirichlet prior: small values give sparse topic "
            "mixtures, values above 1 more uniform ones."
        ),
    ),
    Integer(
        name="max_restarts",
        default=10,
        range=Interval(1, None),
        description="Random restarts of the tensor decomposition (per topic).",
    ),
    Integer(
        name="max_iterations",
        default=1000,
        range=Interval(1, None),
        description="Maximum iterations of the tensor power method and of the ALS refinement.",
    ),
    Continuous(
        name="tol",
        default=1e-8,
        range=Interval(0, None, min_open=True),
        description="Convergence tolerance of the tensor decomposition.",
    ),
)


def _topics_fit(values: dict[str, Any]) -> None:
    k, d = values["num_topics"], values["feature_dim"]
    if k > d:
        raise HyperparameterError(
            f"Hyperparameter 'num_topics': value {k} is not valid; allowed: an integer in "
            f"[1, feature_dim={d}] (there cannot be more topics than words in the vocabulary)",
            parameter="num_topics",
            value=k,
            allowed=f"integer in [1, {d}]",
        )


CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=(ContentType.RECORDIO_PROTOBUF, ContentType.CSV),
        pipe_content_types=(ContentType.RECORDIO_PROTOBUF,),
        description=(
            "Word counts, one document a record: recordio-protobuf (dense or sparse; File or "
            "Pipe) or dense text/csv (File mode only), feature_dim wide."
        ),
    ),
    Channel(
        "test",
        content_types=(ContentType.RECORDIO_PROTOBUF, ContentType.CSV),
        pipe_content_types=(ContentType.RECORDIO_PROTOBUF,),
        description="Optional: scored by the final model (test:pwll, per-word log-likelihood).",
    ),
)

REQUEST_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)
#: JSON is the default answer; JSON Lines is an openmaker extension (SageMaker lists JSON and
#: RecordIO for LDA).
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)

#: ``#quality_metric: host=algo-1, test pwll <score>=-7.91`` (reference 0.4's format; the
#: reference found no LDA regex, so this one follows the other first-party algorithms).
PWLL_REGEX = r"#quality_metric: host=\S+, test pwll <score>=(\S+)"

METRICS = (
    MetricDefinition("test:pwll", PWLL_REGEX, "Maximize", tunable=True),
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

#: The MXNet containers' internal keys (UNCONFIRMED for LDA; accepted, no effect), and
#: openmaker's own ``_em_passes`` (see :mod:`openmaker.algorithms.lda.refine`).
INTERNAL_HYPERPARAMETERS = internal.first_party(
    METRICS,
    Integer(
        name="_em_passes",
        default=0,
        range=Interval(0, 100),
        description=(
            "openmaker extension (SageMaker has no such step): variational-EM passes over the "
            "corpus that refine the spectral topics; 0 (default) is SageMaker's spectral fit."
        ),
        internal=True,
    ),
)

SPEC = AlgorithmSpec(
    name="lda",
    title="Latent Dirichlet Allocation (LDA)",
    description=(
        "SageMaker's LDA: topics from the spectral method of moments (whitening by the second "
        "moment of word co-occurrence, decomposition of the whitened third-moment tensor), "
        "streamed in mini-batches. Inference returns each document's topic mixture."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.lda.train:train",
    model="openmaker.algorithms.lda.model:LDAModel",
    rules=(_topics_fit,),
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("word_counts",),
    example_hyperparameters={
        "word_counts": {"num_topics": "2", "feature_dim": "6", "mini_batch_size": "180"},
    },
    model_files=("model_algo-1",),
    supports_distributed=False,
    image_repository="lda",
)
