"""DeepAR's hyperparameters, frequency grammar, lags and time features."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.deepar.frequency import (
    lags_for,
    parse_time_freq,
    time_features,
    timestamps,
)
from openmaker.errors import HyperparameterError

SPEC = registry.get("forecasting-deepar")
REQUIRED = {"time_freq": "H", "context_length": "24", "prediction_length": "6", "epochs": "2"}


def test_defaults_follow_the_reference():
    typed = SPEC.validate_hyperparameters(REQUIRED)
    assert typed["time_freq"] == "H"
    defaults = {hp.name: hp.default for hp in SPEC.hyperparameters}
    assert defaults["likelihood"] == "student-T"
    assert defaults["num_cells"] == 40 and defaults["num_layers"] == 2
    assert defaults["mini_batch_size"] == 128 and defaults["learning_rate"] == 0.001
    assert defaults["dropout_rate"] == 0.1 and defaults["embedding_dimension"] == 10
    assert defaults["num_eval_samples"] == 100
    assert defaults["cardinality"] == "auto" and defaults["num_dynamic_feat"] == "auto"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_required_hyperparameters(missing):
    given = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(HyperparameterError) as err:
        SPEC.validate_hyperparameters(given)
    assert missing in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "parsed"),
    [
        ("likelihood", "student-t", "student-T"),
        ("likelihood", "Negative-Binomial", "negative-binomial"),
        ("cardinality", "[2, 3]", [2, 3]),
        ("cardinality", "", "ignore"),
        ("cardinality", "ignore", "ignore"),
        ("num_dynamic_feat", "2", 2),
        ("num_dynamic_feat", "", "ignore"),
        ("test_quantiles", "[0.9, 0.1, 0.5]", [0.1, 0.5, 0.9]),
        ("time_freq", " 5min ", "5min"),
        ("time_freq", "2H", "2H"),
    ],
)
def test_sagemaker_spellings_parse(name, value, parsed):
    assert SPEC.validate_hyperparameters({**REQUIRED, name: value})[name] == parsed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("time_freq", "5T"),
        ("time_freq", "0H"),
        ("time_freq", "hourly"),
        ("time_freq", "Y"),
        ("likelihood", "poisson"),
        ("cardinality", "[0, 2]"),
        ("cardinality", "[1.5]"),
        ("num_dynamic_feat", "-1"),
        ("test_quantiles", "[0.1, 1.0]"),
        ("context_length", "0"),
        ("dropout_rate", "1.0"),
    ],
)
def test_bad_values_are_refused_by_name(name, value):
    with pytest.raises(HyperparameterError) as err:
        SPEC.validate_hyperparameters({**REQUIRED, name: value})
    assert err.value.parameter == name
    assert name in str(err.value)


def test_time_freq_error_explains_the_grammar():
    with pytest.raises(ValueError, match="M, W, D, H or min"):
        parse_time_freq("15s")


def test_lags_follow_the_documented_seasons():
    monthly = lags_for(parse_time_freq("M"))
    assert monthly[:7] == [1, 2, 3, 4, 5, 6, 7]
    assert {11, 12, 13, 23, 24, 25, 35, 36, 37} <= set(monthly)
    daily = set(lags_for(parse_time_freq("D")))
    assert {7, 14, 21, 28, 365} <= daily  # the DG: last week, 2-4 weeks, a year
    hourly = set(lags_for(parse_time_freq("H")))
    assert {24, 48, 72, 168} <= hourly  # the DG: 1, 2, 3 days back
    assert set(lags_for(parse_time_freq("2H"))) >= {12, 24, 84}  # divided by the multiple
    assert max(lags_for(parse_time_freq("min"))) <= 1200


def test_time_features_by_frequency():
    f = time_features("2021-03-01 00:00:00", 48, parse_time_freq("H"))
    assert f.shape == (48, 4)  # hour-of-day, day-of-week, day-of-month, day-of-year
    assert f[0, 0] == pytest.approx(-0.5) and f[23, 0] == pytest.approx(0.5)
    assert np.all(f[:24, 1] == f[0, 1]) and f[24, 1] > f[0, 1]  # Monday -> Tuesday
    assert time_features("2021-01-01", 3, parse_time_freq("M")).shape == (3, 1)
    assert time_features("2021-01-01", 3, parse_time_freq("W")).shape == (3, 2)
    assert time_features("2021-01-01", 3, parse_time_freq("5min")).shape == (3, 5)


def test_timestamps_step_by_the_multiple():
    idx = timestamps("2021-01-01 01:00:00", 3, parse_time_freq("2H"))
    assert [str(t) for t in idx] == [
        "2021-01-01 01:00:00",
        "2021-01-01 03:00:00",
        "2021-01-01 05:00:00",
    ]
    months = timestamps("2009-11-01", 3, parse_time_freq("M"))
    assert [t.month for t in months] == [11, 12, 1]
