"""SageMaker's k-NN algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy, scipy or faiss. The facts follow the reference
(``tabular-algorithms.md`` sections 0 and 5); the decisions taken where it is silent or marked
UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.knn`).
"""

from __future__ import annotations

from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.inference import (
    FIRST_PARTY_ACCEPT_TYPES,
    FIRST_PARTY_REQUEST_TYPES,
)
from openmaker.algorithms.common.metric_log import (
    quality_metric,
    score_metric,
    throughput_metric,
)
from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Categorical,
    Hyperparameter,
    Integer,
    Interval,
    OneOf,
)

PREDICTOR_TYPES: tuple[str, ...] = ("classifier", "regressor")
REDUCTION_TYPES: tuple[str, ...] = ("sign", "fjlt")
INDEX_TYPES: tuple[str, ...] = ("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ")
IVF_INDEX_TYPES: tuple[str, ...] = ("faiss.IVFFlat", "faiss.IVFPQ")
INDEX_METRICS: tuple[str, ...] = ("L2", "INNER_PRODUCT", "COSINE")
#: The values SageMaker accepts for ``faiss_index_pq_m`` (bytes per vector of an IVFPQ code).
PQ_M_VALUES: tuple[int, ...] = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)

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
        tunable=True,
        tuning_range=(1, 1024),
        description="Number of nearest neighbours (at most sample_size).",
    ),
    Categorical(
        name="predictor_type",
        required=True,
        choices=PREDICTOR_TYPES,
        description="classifier (majority vote) or regressor (mean of the neighbours' labels).",
    ),
    Integer(
        name="sample_size",
        required=True,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(256, 20_000_000),
        description="Number of training points sampled (uniformly) and indexed.",
    ),
    Integer(
        name="dimension_reduction_target",
        range=Interval(1, None),
        description="Target dimension; required with dimension_reduction_type, < feature_dim.",
    ),
    Categorical(
        name="dimension_reduction_type",
        choices=REDUCTION_TYPES,
        description="sign (random sign projection) or fjlt (fast Johnson-Lindenstrauss); "
        "default: no reduction.",
    ),
    OneOf(
        name="faiss_index_ivf_nlists",
        default="auto",
        alternatives=(
            Categorical(name="faiss_index_ivf_nlists", choices=("auto",)),
            Integer(name="faiss_index_ivf_nlists", range=Interval(1, None)),
        ),
        description="Centroids of an IVF index; auto = sqrt(number of sampled points).",
    ),
    Categorical(
        name="faiss_index_pq_m",
        choices=tuple(str(m) for m in PQ_M_VALUES),
        description="Sub-vectors (code bytes) of a faiss.IVFPQ index; the data dimension is "
        "raised to a multiple of it.",
    ),
    Categorical(
        name="index_metric",
        default="L2",
        choices=INDEX_METRICS,
        description="Distance: L2, INNER_PRODUCT or COSINE (IVFPQ supports L2 only).",
    ),
    Categorical(
        name="index_type",
        default="faiss.Flat",
        choices=INDEX_TYPES,
        description="faiss.Flat (exact), faiss.IVFFlat or faiss.IVFPQ (approximate).",
    ),
    Integer(
        name="mini_batch_size",
        default=5000,
        range=Interval(1, None),
        description="Records read per batch while sampling and testing.",
    ),
)


def _err(name: str, value: Any, allowed: str, why: str) -> HyperparameterError:
    return HyperparameterError(
        f"Hyperparameter {name!r}: value {value!r} is not valid; allowed: {allowed} ({why})",
        parameter=name,
        value=value,
        allowed=allowed,
    )


def _k_rule(values: dict[str, Any]) -> None:
    if values["k"] > values["sample_size"]:
        raise _err(
            "k", values["k"], f"an integer in [1, {values['sample_size']}]", "k > sample_size"
        )


def _reduction_rule(values: dict[str, Any]) -> None:
    kind = values.get("dimension_reduction_type")
    target = values.get("dimension_reduction_target")
    d = values["feature_dim"]
    if kind is not None and target is None:
        raise HyperparameterError(
            "Missing required hyperparameter 'dimension_reduction_target': "
            f"dimension_reduction_type={kind!r} needs it (integer in [1, {d - 1}])",
            parameter="dimension_reduction_target",
            value=None,
            allowed=f"integer in [1, {d - 1}]",
        )
    if kind is None and target is not None:
        raise _err(
            "dimension_reduction_target",
            target,
            "no value",
            "it has no effect without dimension_reduction_type (sign or fjlt)",
        )
    if target is not None and target >= d:
        raise _err(
            "dimension_reduction_target",
            target,
            f"integer in [1, {d - 1}]",
            f"must be less than feature_dim={d}",
        )


def _index_rule(values: dict[str, Any]) -> None:
    index_type = values["index_type"]
    if index_type == "faiss.IVFPQ" and values["index_metric"] != "L2":
        raise _err("index_metric", values["index_metric"], "L2", "faiss.IVFPQ supports L2 only")
    if values.get("faiss_index_pq_m") is not None and index_type != "faiss.IVFPQ":
        raise _err(
            "faiss_index_pq_m",
            values["faiss_index_pq_m"],
            "no value",
            f"only faiss.IVFPQ uses it; index_type is {index_type}",
        )
    nlists = values.get("faiss_index_ivf_nlists", "auto")
    if nlists != "auto" and index_type not in IVF_INDEX_TYPES:
        raise _err(
            "faiss_index_ivf_nlists",
            nlists,
            "auto",
            f"only IVF indexes use it; index_type is {index_type}",
        )


RULES = (_k_rule, _reduction_rule, _index_rule)

_DATA_TYPES = (ContentType.RECORDIO_PROTOBUF, ContentType.CSV)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        description="Labelled points to sample and index (csv: label first; or recordio-protobuf).",
    ),
    Channel(
        "test",
        content_types=_DATA_TYPES,
        description="Optional labelled points: test:accuracy (classifier) or test:mse (regressor).",
    ),
)

#: What inference accepts and answers: the first-party conventions (reference section 0.3);
#: every response type also takes ``verbose=true`` (distances and neighbour labels).
REQUEST_CONTENT_TYPES = FIRST_PARTY_REQUEST_TYPES
RESPONSE_CONTENT_TYPES = FIRST_PARTY_ACCEPT_TYPES

METRICS = (
    score_metric("test:accuracy", "accuracy"),
    quality_metric("test:mse", "mse"),
    throughput_metric(),
)

#: The container's internal keys (see :mod:`openmaker.algorithms.common.internal_hyperparameters`).
INTERNAL_HYPERPARAMETERS = internal.first_party(METRICS)

_COMMON_EXAMPLE = {"feature_dim": "6", "k": "5", "sample_size": "500", "mini_batch_size": "64"}

SPEC = AlgorithmSpec(
    name="knn",
    title="k-Nearest Neighbors (k-NN)",
    description=(
        "SageMaker's k-NN: a uniform sample of sample_size training points, optionally "
        "projected to fewer dimensions (sign or fjlt), indexed with faiss (Flat, IVFFlat, "
        "IVFPQ). Inference returns the majority label (classifier) or the mean label "
        "(regressor) of the k nearest sampled points; verbose=true adds their distances and "
        "labels."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.knn.train:train",
    model="openmaker.algorithms.knn.model:KNNModel",
    rules=RULES,
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("binary", "multiclass", "regression"),
    example_hyperparameters={
        "binary": {**_COMMON_EXAMPLE, "predictor_type": "classifier"},
        "multiclass": {
            **_COMMON_EXAMPLE,
            "predictor_type": "classifier",
            "index_type": "faiss.IVFFlat",
            "index_metric": "COSINE",
        },
        "regression": {
            **_COMMON_EXAMPLE,
            "predictor_type": "regressor",
            "index_type": "faiss.IVFPQ",
            "faiss_index_pq_m": "2",
            "dimension_reduction_type": "fjlt",
            "dimension_reduction_target": "4",
        },
    },
    model_files=("model_algo-1", "model_algo-1.labels", "model_algo-1.json"),
    supports_distributed=False,
    image_repository="knn",
)
