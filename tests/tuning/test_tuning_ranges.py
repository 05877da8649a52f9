"""SageMaker ranges -> Optuna distributions, scaling, and the wire format both ways."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from openmaker.errors import ValidationError
from openmaker.tuning.ranges import parse_ranges


def one(kind: str, **item: str) -> object:
    (rng,) = parse_ranges({kind: [{"Name": "p", **item}]})
    return rng


def test_distributions_follow_the_scaling() -> None:
    lin = one("ContinuousParameterRanges", MinValue="0.1", MaxValue="0.9", ScalingType="Linear")
    assert lin.distribution() == FloatDistribution(0.1, 0.9)
    log = one("IntegerParameterRanges", MinValue="1", MaxValue="1000", ScalingType="Logarithmic")
    assert log.distribution() == IntDistribution(1, 1000, log=True)
    cat = one("CategoricalParameterRanges", Values=["a", "b"])
    assert cat.distribution() == CategoricalDistribution(["a", "b"])


def test_auto_scaling_is_logarithmic_over_two_orders_of_magnitude() -> None:
    assert one("ContinuousParameterRanges", MinValue="0.001", MaxValue="1").scaling == (
        "Logarithmic"
    )
    assert one("ContinuousParameterRanges", MinValue="0.1", MaxValue="1").scaling == "Linear"
    assert one("ContinuousParameterRanges", MinValue="0", MaxValue="100").scaling == "Linear"


def test_reverse_logarithmic_samples_log_of_one_minus_x() -> None:
    rng = one(
        "ContinuousParameterRanges",
        MinValue="0.0",
        MaxValue="0.999",
        ScalingType="ReverseLogarithmic",
    )
    dist = rng.distribution()
    assert dist == FloatDistribution(1 - 0.999, 1.0, log=True)
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    values = []
    for _ in range(400):
        trial = study.ask({"p": dist})
        values.append(float(rng.to_wire(trial.params["p"])))
        study.tell(trial, 0.0)
    values_arr = np.array(values)
    assert values_arr.min() >= 0.0 and values_arr.max() <= 0.999
    # log(1 - x) is uniform: about a third of the draws are above 0.99 (1 - x < 0.01)
    assert 0.2 < (values_arr > 0.99).mean() < 0.45
    assert math.isclose(rng.to_internal(rng.to_wire(0.05)), 0.05, rel_tol=1e-9)


def test_wire_round_trip_and_out_of_range_values() -> None:
    integer = one("IntegerParameterRanges", MinValue="2", MaxValue="8")
    assert integer.to_wire(5) == "5" and integer.to_internal("5") == 5
    assert integer.to_internal("9") is None and integer.to_internal("2.5") is None
    cont = one("ContinuousParameterRanges", MinValue="0.01", MaxValue="0.5")
    assert float(cont.to_wire(0.123456789)) == pytest.approx(0.123456789)
    assert cont.to_internal("0.6") is None and cont.to_internal("abc") is None
    cat = one("CategoricalParameterRanges", Values=["gbtree", "dart"])
    assert cat.to_internal("dart") == "dart" and cat.to_internal("gblinear") is None


def test_malformed_ranges_are_refused() -> None:
    with pytest.raises(ValidationError, match="not an integer"):
        one("IntegerParameterRanges", MinValue="1.5", MaxValue="3")
    with pytest.raises(ValidationError, match="not a number"):
        one("ContinuousParameterRanges", MinValue="low", MaxValue="3")
    with pytest.raises(ValidationError, match="more than one range"):
        parse_ranges(
            {
                "IntegerParameterRanges": [{"Name": "p", "MinValue": "1", "MaxValue": "2"}],
                "CategoricalParameterRanges": [{"Name": "p", "Values": ["1"]}],
            }
        )
    with pytest.raises(ValidationError, match="ScalingType"):
        one("IntegerParameterRanges", MinValue="1", MaxValue="3", ScalingType="Cubic")
