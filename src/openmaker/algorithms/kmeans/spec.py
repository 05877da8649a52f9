"""SageMaker's K-Means algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy or scipy. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 3); the decisions taken where it is silent or marked
UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.kmeans`). The
``auto`` rules live here (:func:`resolve_extra_center_factor`, :func:`resolve_num_trials`) so
that training, the estimator and the docs agree.
"""

from __future__ import annotations

from typing import Any, Literal

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.inference import (
    FIRST_PARTY_ACCEPT_TYPES,
    FIRST_PARTY_REQUEST_TYPES,
)
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Boolean,
    Categorical,
    Continuous,
    Hyperparameter,
    Integer,
    Interval,
    ListOf,
    OneOf,
)
from openmaker.spec.metrics import MetricDefinition

INIT_METHODS: tuple[str, ...] = ("random", "kmeans++")
EVAL_METRICS: tuple[str, ...] = ("msd", "ssd")

#: ``extra_center_factor=auto``: SageMaker's log showed "shrinking 80 centers into 8" for k=8.
AUTO_EXTRA_CENTER_FACTOR = 10
#: ``local_lloyd_num_trials=auto``: SageMaker's log showed 10 local k-means attempts.
AUTO_NUM_TRIALS = 10


def _auto_or(hp: Hyperparameter, description: str, **kw: Any) -> OneOf:
    """``auto`` or a value of ``hp`` (SageMaker's ``"auto"`` / number unions)."""
    auto = Categorical(name=hp.name, choices=("auto",))
    return OneOf(
        name=hp.name, default="auto", alternatives=(auto, hp), description=description, **kw
    )


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, None),
        description="Number of features (columns) of the input data.",
    ),
    Integer(
        name="k",
        required=True,
        range=Interval(1, None),
        description="Number of clusters (at most the number of training records).",
    ),
    Integer(
        name="epochs",
        default=1,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 10),
        description="Passes over the training data.",
    ),
    ListOf(
        name="eval_metrics",
        default=["msd"],
        item=Categorical(name="eval_metrics", choices=EVAL_METRICS),
        min_length=1,
        max_length=2,
        description='Metrics reported on the test channel: ["msd"], ["ssd"] or both.',
    ),
    _auto_or(
        Integer(name="extra_center_factor", range=Interval(1, None)),
        "Train k * factor centres in the stream, reduced to k at the end (auto: 10).",
        tunable=True,
        tuning_range=(4, 10),
        aliases=("center_factor",),
    ),
    Integer(
        name="half_life_time_size",
        default=0,
        range=Interval(0, None),
        description="Points after which a centre's past weight halves; 0 means no decay.",
    ),
    Categorical(
        name="init_method",
        default="random",
        choices=INIT_METHODS,
        tunable=True,
        tuning_range=INIT_METHODS,
        description="Seeding of the streamed centres from the first records.",
    ),
    Categorical(
        name="local_lloyd_init_method",
        default="kmeans++",
        choices=INIT_METHODS,
        aliases=("local_init_method",),
        description="Seeding of the final Lloyd reduction to k centres.",
    ),
    Integer(
        name="local_lloyd_max_iter",
        default=300,
        range=Interval(1, None),
        aliases=("max_iterations",),
        description="Maximum Lloyd iterations of each reduction trial.",
    ),
    _auto_or(
        Integer(name="local_lloyd_num_trials", range=Interval(1, None)),
        "Reduction trials; the one with the lowest loss is kept (auto: 10).",
        aliases=("num_trials",),
    ),
    Continuous(
        name="local_lloyd_tol",
        default=0.0001,
        range=Interval(0, 1),
        aliases=("tol",),
        description="Lloyd stops when centres move less than tol x the data variance.",
    ),
    Integer(
        name="mini_batch_size",
        default=5000,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(3000, 15000),
        description="Records per streamed mini-batch update.",
    ),
)


def resolve_extra_center_factor(value: Any) -> int:
    """The integer factor for ``extra_center_factor`` (``auto`` -> 10)."""
    return AUTO_EXTRA_CENTER_FACTOR if value in (None, "auto") else int(value)


def resolve_num_trials(value: Any) -> int:
    """The integer trial count for ``local_lloyd_num_trials`` (``auto`` -> 10)."""
    return AUTO_NUM_TRIALS if value in (None, "auto") else int(value)


_DATA_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        description="Training data (unlabelled; text/csv[;label_size=0] or recordio-protobuf).",
    ),
    Channel(
        "test",
        content_types=_DATA_TYPES,
        description="Optional: scored with eval_metrics (test:msd, test:ssd).",
    ),
)

#: What inference accepts and answers: the first-party conventions (reference section 0.3).
REQUEST_CONTENT_TYPES = FIRST_PARTY_REQUEST_TYPES
RESPONSE_CONTENT_TYPES = FIRST_PARTY_ACCEPT_TYPES


def _loss(name: str, *, tunable: bool) -> MetricDefinition:
    """A final (no ``epoch=``) ``<loss>`` line, as ``common.quality_metric`` builds it."""
    channel, _, logged = name.partition(":")
    regex = f"#quality_metric: host=\\S+, {channel} {logged} <loss>=(\\S+)"
    direction: Literal["Minimize", "Maximize"] = "Minimize"
    return MetricDefinition(name, regex, direction, tunable)


METRICS = (
    _loss("test:msd", tunable=True),
    _loss("test:ssd", tunable=True),
    _loss("train:msd", tunable=False),
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
        name="_num_slices",
        range=Interval(1, None),
        description="Internal (container default 1); accepted, no effect in openmaker.",
        internal=True,
    ),
    Boolean(
        name="_disable_wait_to_read",
        description="Internal (MXNet, container default false); accepted, no effect.",
        internal=True,
    ),
)

SPEC = AlgorithmSpec(
    name="kmeans",
    title="K-Means",
    description=(
        "SageMaker's web-scale K-Means: mini-batch k-means over a stream of records with "
        "k x extra_center_factor centres, reduced to k by weighted local Lloyd iterations. "
        "Inference returns each record's closest cluster and its distance to that centre."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.kmeans.train:train",
    model="openmaker.algorithms.kmeans.model:KMeansModel",
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("unsupervised",),
    example_hyperparameters={
        "unsupervised": {"feature_dim": "6", "k": "3", "mini_batch_size": "50"},
    },
    model_files=("model_algo-1",),
    supports_distributed=True,
    image_repository="kmeans",
)
