"""Every registered algorithm passes the conformance suite."""

from __future__ import annotations

import pytest

from openmaker.algorithms import registry
from openmaker.testing import check_algorithm
from openmaker.testing.conformance import ConformanceError, check_refuses_invalid


@pytest.mark.parametrize("name", registry.names())
def test_check_algorithm(name):
    check_algorithm(name)


def test_conformance_catches_a_spec_without_range_checks():
    from dataclasses import replace

    from openmaker.spec.hyperparameters import Continuous, Interval

    class Unchecked(Continuous):
        def check(self, value):  # never refuses
            return None

    spec = registry.get("xgboost")
    broken = replace(
        spec,
        hyperparameters=tuple(
            Unchecked(name=h.name, range=Interval(0, 1)) if h.name == "eta" else h
            for h in spec.hyperparameters
        ),
    )
    with pytest.raises(ConformanceError, match="accepted invalid value eta"):
        check_refuses_invalid(broken)
