"""SageMaker's Random Cut Forest, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 6); the decisions taken where it is silent or marked
UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.random_cut_forest`).
"""

from __future__ import annotations

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.inference import (
    FIRST_PARTY_ACCEPT_TYPES,
    FIRST_PARTY_REQUEST_TYPES,
)
from openmaker.algorithms.common.metric_log import (
    progress_metric,
    score_metric,
    throughput_metric,
)
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import Categorical, Integer, Interval, ListOf

EVAL_METRICS: tuple[str, ...] = ("accuracy", "precision_recall_fscore")

#: The mini-batch size the SageMaker SDK always sends (it refuses any other value).
MINI_BATCH_SIZE = 1000

HYPERPARAMETERS = (
    Integer(
        name="feature_dim",
        required=True,
        range=Interval(1, 10000),
        description="Number of features (columns) of the input data.",
    ),
    Integer(
        name="num_trees",
        default=100,
        range=Interval(50, 1000),
        tunable=True,
        tuning_range=(50, 1000),
        description="Trees in the forest; inference time grows with it.",
    ),
    Integer(
        name="num_samples_per_tree",
        default=256,
        range=Interval(1, 2048),
        tunable=True,
        tuning_range=(1, 2048),
        description=(
            "Points sampled for each tree; 1/num_samples_per_tree should approximate the "
            "share of anomalies."
        ),
    ),
    ListOf(
        name="eval_metrics",
        default=list(EVAL_METRICS),
        item=Categorical(name="eval_metrics", choices=EVAL_METRICS),
        min_length=1,
        max_length=2,
        description=(
            'Test-channel metrics besides test:f1: ["accuracy"], ["precision_recall_fscore"] '
            "or both."
        ),
    ),
    Integer(
        name="mini_batch_size",
        default=MINI_BATCH_SIZE,
        range=Interval(1, None),
        description="Records read at a time (the SDK always sends 1000).",
    ),
)

_DATA_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        description="Training data (unlabelled; text/csv;label_size=0 or recordio-protobuf).",
    ),
    Channel(
        "test",
        content_types=_DATA_TYPES,
        description=(
            "Optional labelled data (text/csv;label_size=1, label 1 = anomaly, or labelled "
            "recordio-protobuf) for test:f1 and eval_metrics."
        ),
    ),
)

#: What inference accepts and answers: the first-party conventions (reference section 0.3).
REQUEST_CONTENT_TYPES = FIRST_PARTY_REQUEST_TYPES
RESPONSE_CONTENT_TYPES = FIRST_PARTY_ACCEPT_TYPES

#: Anomaly is the positive class; the ``_neg`` metrics are those of the normal class.
METRICS = (
    score_metric("test:f1", "f1"),
    score_metric("test:accuracy", "accuracy", tunable=False),
    score_metric("test:precision", "precision", tunable=False),
    score_metric("test:recall", "recall", tunable=False),
    score_metric("test:precision_neg", "precision_neg", tunable=False),
    score_metric("test:recall_neg", "recall_neg", tunable=False),
    score_metric("test:f1_neg", "f1_neg", tunable=False),
    progress_metric(),
    throughput_metric(),
)

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(
    METRICS,
    internal.force_dense(),
    Integer(
        name="epochs",
        range=Interval(1, None),
        description="Internal (container default 1): the forest samples the data in one pass.",
        internal=True,
    ),
    Integer(
        name="_ftp_port",
        range=Interval(1, 65535),
        description="Internal (container default 8999); accepted, no effect in openmaker.",
        internal=True,
    ),
)

SPEC = AlgorithmSpec(
    name="randomcutforest",
    title="Random Cut Forest (RCF)",
    description=(
        "SageMaker's Random Cut Forest: reservoir-samples num_trees x num_samples_per_tree "
        "records, builds one random cut tree per share and scores each record by how much it "
        "would displace the trees (larger = more anomalous, about 1 for ordinary records). "
        "A streaming forest (sliding window, shingling) is available from Python and endpoints."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.random_cut_forest.train:train",
    model="openmaker.algorithms.random_cut_forest.model:RandomCutForestModel",
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("unsupervised",),
    example_hyperparameters={
        "unsupervised": {"feature_dim": "6", "num_trees": "50", "num_samples_per_tree": "3"},
    },
    model_files=("model_algo-1",),
    supports_distributed=False,
    image_repository="randomcutforest",
)
