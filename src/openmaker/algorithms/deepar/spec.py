"""SageMaker's DeepAR forecasting (``forecasting-deepar``), as data.

Importing this module never imports numpy or torch. The facts follow the reference
(``text-timeseries-algorithms.md`` section 4); the decisions taken where it is silent or marked
UNCONFIRMED are listed in the package docstring (:mod:`openmaker.algorithms.deepar`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from openmaker.algorithms.common import internal_hyperparameters as internal
from openmaker.algorithms.common.metric_log import progress_metric, throughput_metric
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Continuous,
    Hyperparameter,
    Integer,
    Interval,
    Text,
)
from openmaker.spec.metrics import MetricDefinition

#: ``likelihood`` values (reference 4.7); ``student-T`` is matched in any case.
LIKELIHOODS: tuple[str, ...] = (
    "gaussian",
    "beta",
    "negative-binomial",
    "student-T",
    "deterministic-L1",
)
DEFAULT_TEST_QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: The DG's minimum number of observations over all training series.
MIN_OBSERVATIONS = 300
#: Inference defaults (the batch transform default of reference 4.4).
DEFAULT_NUM_SAMPLES = 100
DEFAULT_OUTPUT_TYPES: tuple[str, ...] = ("mean", "quantiles")
OUTPUT_TYPES: tuple[str, ...] = ("mean", "quantiles", "samples")
#: The environment variable batch transform reads its configuration from.
INFERENCE_CONFIG_ENV = "DEEPAR_INFERENCE_CONFIG"


def _parse_time_freq(text: str) -> str:
    from openmaker.algorithms.deepar.frequency import parse_time_freq

    return parse_time_freq(text).text


def _number_list(text: str) -> list[Any]:
    """``"[2, 3]"``, ``"2,3"`` or ``"[0.1, 0.5]"`` -> a list of numbers."""
    text = text.strip()
    items = json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
    if not isinstance(items, list):
        raise ValueError(text)
    out = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(text)
        out.append(float(item))
    return out


def parse_cardinality(text: str) -> str | list[int]:
    """``auto``, ``ignore``, ``""`` (= ignore, older docs) or a list of positive integers."""
    low = text.strip().lower()
    if low in ("auto", "ignore"):
        return low
    if low in ("", "[]"):
        return "ignore"
    values = _number_list(text)
    if not values or any(not v.is_integer() or v < 1 for v in values):
        raise ValueError(text)
    return [int(v) for v in values]


def parse_num_dynamic_feat(text: str) -> str | int:
    """``auto``, ``ignore``, ``""`` (= ignore, older docs) or a non-negative integer."""
    low = text.strip().lower()
    if low in ("auto", "ignore"):
        return low
    if low == "":
        return "ignore"
    value = float(low)
    if not value.is_integer() or value < 0:
        raise ValueError(text)
    return int(value)


def parse_test_quantiles(text: str) -> list[float]:
    """A non-empty list of levels strictly inside (0, 1)."""
    values = _number_list(text)
    if not values or any(not 0.0 < v < 1.0 for v in values):
        raise ValueError(text)
    return sorted(set(values))


def parse_likelihood(text: str) -> str:
    """One of :data:`LIKELIHOODS`, any case (the container logs ``student-t``)."""
    for name in LIKELIHOODS:
        if text.strip().lower() == name.lower():
            return name
    raise ValueError(text)


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="context_length",
        required=True,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 200),
        description="Points the network is unrolled over before forecasting (lags see further).",
    ),
    Integer(
        name="epochs",
        required=True,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 1000),
        description="Maximum passes over the training data.",
    ),
    Integer(
        name="prediction_length",
        required=True,
        range=Interval(1, None),
        description="Forecast horizon (points), fixed at training time.",
    ),
    Text(
        name="time_freq",
        required=True,
        validator=_parse_time_freq,
        domain_text="an optional positive integer followed by M, W, D, H or min (e.g. 5min, 2H)",
        description="The series' frequency: M, W, D, H or min, with an optional multiple.",
    ),
    Text(
        name="cardinality",
        default="auto",
        validator=parse_cardinality,
        domain_text="auto, ignore, an empty string or a list of positive integers ([2, 3])",
        description="Categories per cat feature: auto (from the data), ignore, or a list.",
    ),
    Continuous(
        name="dropout_rate",
        default=0.1,
        range=Interval(0.0, 1.0, max_open=True),
        tunable=True,
        tuning_range=(0.0, 0.2),
        description="Zoneout rate of the LSTM states.",
    ),
    Integer(
        name="early_stopping_patience",
        default=None,
        range=Interval(1, None),
        description="Stop after this many epochs without a better training loss (best kept).",
    ),
    Integer(
        name="embedding_dimension",
        default=10,
        range=Interval(1, None),
        tunable=True,
        tuning_range=(1, 50),
        description="Embedding size of each categorical feature.",
    ),
    Continuous(
        name="learning_rate",
        default=0.001,
        range=Interval(1e-6, 1.0),
        tunable=True,
        tuning_range=(1e-5, 1e-1),
        description="Adam's learning rate.",
    ),
    Text(
        name="likelihood",
        default="student-T",
        validator=parse_likelihood,
        domain_text="one of " + ", ".join(LIKELIHOODS),
        description="Noise model: gaussian, beta, negative-binomial, student-T, deterministic-L1.",
    ),
    Integer(
        name="mini_batch_size",
        default=128,
        range=Interval(1, 100_000),
        tunable=True,
        tuning_range=(32, 1028),
        description="Training windows per mini-batch.",
    ),
    Integer(
        name="num_cells",
        default=40,
        range=Interval(1, 10_000),
        tunable=True,
        tuning_range=(30, 200),
        description="Cells per LSTM layer.",
    ),
    Text(
        name="num_dynamic_feat",
        default="auto",
        validator=parse_num_dynamic_feat,
        domain_text="auto, ignore, an empty string or a non-negative integer",
        description="dynamic_feat count: auto (from the data), ignore, or the count expected.",
    ),
    Integer(
        name="num_eval_samples",
        default=100,
        range=Interval(1, 100_000),
        description="Sample paths per test series when scoring the test channel.",
    ),
    Integer(
        name="num_layers",
        default=2,
        range=Interval(1, 100),
        tunable=True,
        tuning_range=(1, 8),
        description="Stacked LSTM layers.",
    ),
    Text(
        name="test_quantiles",
        default="[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]",
        validator=parse_test_quantiles,
        domain_text="a list of numbers in (0, 1), e.g. [0.1, 0.5, 0.9]",
        description="Quantiles scored on the test channel (wQuantileLoss).",
    ),
)


_DATA_TYPES = (ContentType.JSONLINES, ContentType.PARQUET, ContentType.JSON)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=_DATA_TYPES,
        input_modes=("File",),
        description=(
            "Time series, JSON Lines or Parquet (gzip or not; format from the file extension "
            ".json / .json.gz / .jsonl / .parquet, else the content type)."
        ),
    ),
    Channel(
        "test",
        content_types=_DATA_TYPES,
        input_modes=("File",),
        description="Optional: the last prediction_length points of each series are scored.",
    ),
)

REQUEST_CONTENT_TYPES: tuple[str, ...] = (ContentType.JSON, ContentType.JSONLINES)
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (ContentType.JSON, ContentType.JSONLINES)


def _metric(name: str, logged: str, *, tunable: bool, per_epoch: bool = False) -> MetricDefinition:
    channel = name.split(":")[0]
    epoch = r"epoch=\S+, " if per_epoch else ""
    regex = f"#quality_metric: host=\\S+, {epoch}{channel} {re.escape(logged)} <loss>=(\\S+)"
    return MetricDefinition(name, regex, "Minimize", tunable)


METRICS = (
    _metric("test:RMSE", "RMSE", tunable=True),
    _metric("test:mean_wQuantileLoss", "mean_wQuantileLoss", tunable=True),
    *(
        _metric(f"test:wQuantileLoss[{q}]", f"wQuantileLoss[{q}]", tunable=False)
        for q in DEFAULT_TEST_QUANTILES
    ),
    _metric("train:final_loss", "final_loss", tunable=True),
    _metric("train:loss", "loss", tunable=False, per_epoch=True),
    MetricDefinition(
        "train:loss:batch",
        r"#quality_metric: host=\S+, epoch=\S+, batch=\S+ train loss <loss>=(\S+)",
        "Minimize",
        False,
    ),
    progress_metric(),
    throughput_metric(),
)

INTERNAL_HYPERPARAMETERS = internal.first_party(METRICS)


SPEC = AlgorithmSpec(
    name="forecasting-deepar",
    title="DeepAR Forecasting",
    description=(
        "SageMaker's DeepAR: one global autoregressive LSTM trained on windows of every "
        "series (lags, time features, cat embeddings, dynamic features, mean scaling) with a "
        "gaussian, beta, negative-binomial, student-T or deterministic-L1 output; forecasts "
        "are sample paths summarised as mean, quantiles and samples."
    ),
    hyperparameters=HYPERPARAMETERS + INTERNAL_HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.deepar.train:train",
    model="openmaker.algorithms.deepar.model:DeepARModel",
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("time_series",),
    example_hyperparameters={
        "time_series": {
            "time_freq": "H",
            "context_length": "12",
            "prediction_length": "6",
            "epochs": "2",
            "mini_batch_size": "32",
            "num_cells": "8",
            "num_layers": "1",
            "num_eval_samples": "20",
        },
    },
    model_files=("model_algo-1",),
    supports_distributed=True,
    image_repository="forecasting-deepar",
    preload="openmaker.algorithms.common.torch.runtime:import_torch",
)
