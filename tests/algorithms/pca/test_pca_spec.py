"""The PCA spec: hyperparameters, their refusals, channels, metrics, lightweight import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.common import quality_metric, score_metric
from openmaker.algorithms.pca.spec import SPEC, sketch_size
from openmaker.errors import ChannelError, HyperparameterError

BASE = {"feature_dim": "10", "num_components": "3", "mini_batch_size": "500"}


def test_registered_under_sagemaker_name():
    assert registry.get("pca") is SPEC
    assert SPEC.model_files == ("model_algo-1",)
    assert SPEC.problem_types == ("unsupervised",)


def test_defaults_and_types():
    values = SPEC.validate_hyperparameters(BASE)
    assert values == {
        "feature_dim": 10,
        "num_components": 3,
        "mini_batch_size": 500,
        "algorithm_mode": "regular",
        "extra_components": -1,
        "subtract_mean": True,
    }


@pytest.mark.parametrize("missing", ["feature_dim", "num_components", "mini_batch_size"])
def test_required(missing):
    given = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(HyperparameterError, match=missing) as info:
        SPEC.validate_hyperparameters(given)
    assert info.value.parameter == missing


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("feature_dim", "0"),
        ("num_components", "0"),
        ("num_components", "2.5"),
        ("mini_batch_size", "-1"),
        ("algorithm_mode", "fast"),
        ("algorithm_mode", "Regular"),
        ("extra_components", "-2"),
        ("extra_components", "many"),
        ("subtract_mean", "maybe"),
        ("mini_batch_siz", "10"),
    ],
)
def test_refused(name, value):
    with pytest.raises(HyperparameterError) as info:
        SPEC.validate_hyperparameters({**BASE, name: value})
    assert info.value.parameter == name
    assert name in str(info.value)


def test_num_components_above_feature_dim_is_refused():
    with pytest.raises(HyperparameterError, match="num_components") as info:
        SPEC.validate_hyperparameters({**BASE, "num_components": "11"})
    assert info.value.parameter == "num_components"
    assert "feature_dim=10" in str(info.value)
    SPEC.validate_hyperparameters({**BASE, "num_components": "10"})


def test_accepts_sagemaker_wire_values():
    values = SPEC.validate_hyperparameters(
        {**BASE, "algorithm_mode": "randomized", "extra_components": "5", "subtract_mean": "False"}
    )
    assert values["extra_components"] == 5
    assert values["subtract_mean"] is False
    assert SPEC.validate_hyperparameters({**BASE, "_kvstore": "dist_sync"})["_kvstore"]


@pytest.mark.parametrize(
    ("k", "extra", "d", "expected"),
    [(3, -1, 100, 13), (20, -1, 100, 40), (3, 0, 100, 3), (3, 5, 100, 8), (5, -1, 8, 8)],
)
def test_sketch_size(k, extra, d, expected):
    assert sketch_size(k, extra, d) == expected


def test_channels():
    assert SPEC.channel("train").required
    assert not SPEC.channel("test").required
    assert SPEC.channel("validation") is None
    out = SPEC.validate_channels(
        {"train": ("text/csv;label_size=0", "Pipe"), "test": (None, "File")}
    )
    assert out == {"train": "text/csv", "test": "application/x-recordio-protobuf"}
    with pytest.raises(ChannelError, match="validation"):
        SPEC.validate_channels({"train": (None, "File"), "validation": (None, "File")})
    with pytest.raises(ChannelError, match="train"):
        SPEC.validate_channels({"test": (None, "File")})
    with pytest.raises(ChannelError, match="libsvm"):
        SPEC.validate_channels({"train": ("text/libsvm", "File")})


def test_metrics_are_the_first_party_formats_and_not_tunable():
    by_name = {m.name: m for m in SPEC.metrics}
    assert by_name["test:reconstruction_error"] == quality_metric(
        "test:reconstruction_error", "reconstruction_error", tunable=False
    )
    for name in ("train:explained_variance_ratio", "test:explained_variance_ratio"):
        assert by_name[name] == score_metric(name, "explained_variance_ratio", tunable=False)
    assert SPEC.tunable_metrics() == []
    line = "#quality_metric: host=algo-1, test reconstruction_error <loss>=0.25"
    assert by_name["test:reconstruction_error"].match(line) == 0.25
    assert by_name["test:explained_variance_ratio"].match(line) is None


def test_inference_types():
    assert SPEC.request_content_types[0] == "text/csv"
    assert "application/x-recordio-protobuf" in SPEC.request_content_types
    assert SPEC.response_content_types[0] == "application/json"


def test_spec_import_is_light():
    code = (
        "import sys; import openmaker.algorithms.pca.spec, openmaker.algorithms.pca;"
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
