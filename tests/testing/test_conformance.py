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


def test_first_party_artifact_bytes_do_not_depend_on_the_clock(tmp_path):
    import time

    import numpy as np

    from openmaker.algorithms.common import load_model_arrays, save_model_arrays

    first = save_model_arrays(tmp_path, {"w": np.arange(4.0)}, {"k": 2}).read_bytes()
    time.sleep(2.1)  # zip timestamps have a 2-second resolution
    second = save_model_arrays(tmp_path, {"w": np.arange(4.0)}, {"k": 2}).read_bytes()
    assert first == second
    arrays, meta = load_model_arrays(tmp_path)
    assert meta == {"k": 2} and arrays["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
