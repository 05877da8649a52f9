"""The spec: SageMaker's names and defaults, validation, channels, metric regexes."""

from __future__ import annotations

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.factorization_machines.settings import resolve
from openmaker.algorithms.factorization_machines.spec import SPEC
from openmaker.errors import ChannelError, HyperparameterError

BASE = {"feature_dim": "100", "num_factors": "8", "predictor_type": "regressor"}


def test_registered_under_sagemaker_name_and_image() -> None:
    assert registry.get("factorization-machines") is SPEC
    image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
    assert registry.resolve_image(image) is SPEC


def test_defaults_follow_the_reference_table() -> None:
    values = SPEC.validate_hyperparameters(BASE)
    expected = {
        "bias_init_method": "normal",
        "bias_init_sigma": 0.01,
        "bias_lr": 0.1,
        "bias_wd": 0.01,
        "linear_init_method": "normal",
        "linear_init_sigma": 0.01,
        "linear_lr": 0.001,
        "linear_wd": 0.001,
        "factors_init_method": "normal",
        "factors_init_sigma": 0.001,
        "factors_lr": 0.0001,
        "factors_wd": 0.00001,
        "epochs": 1,
        "mini_batch_size": 1000,
    }
    for name, value in expected.items():
        assert values[name] == value, name
    for name in ("clip_gradient", "eps", "rescale_grad", "bias_init_scale", "factors_init_value"):
        assert name not in values  # None: not passed


@pytest.mark.parametrize("missing", ["feature_dim", "num_factors", "predictor_type"])
def test_required(missing: str) -> None:
    given = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(HyperparameterError) as exc:
        SPEC.validate_hyperparameters(given)
    assert exc.value.parameter == missing


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("predictor_type", "multiclass_classifier"),
        ("num_factors", "0"),
        ("feature_dim", "-3"),
        ("factors_init_method", "xavier"),
        ("linear_lr", "-0.1"),
        ("bias_wd", "-1"),
        ("factors_init_sigma", "-0.5"),
        ("epochs", "0"),
        ("mini_batch_size", "1.5"),
        ("clip_gradient", "0"),
        ("eps", "-1e-8"),
        ("rescale_grad", "abc"),
        ("mini_batch_siz", "10"),
    ],
)
def test_refuses_bad_values_naming_the_parameter(name: str, value: str) -> None:
    with pytest.raises(HyperparameterError) as exc:
        SPEC.validate_hyperparameters({**BASE, name: value})
    assert exc.value.parameter == name
    assert name in str(exc.value)


def test_settings_resolve_the_none_defaults() -> None:
    s = resolve({**BASE, "linear_init_method": "uniform", "factors_init_method": "constant"})
    assert s.eps == 1e-8
    assert s.rescale_grad is None and s.clip_gradient is None
    assert s.linear.init.method == "uniform" and s.linear.init.scale == 0.01
    assert s.factors.init.method == "constant" and s.factors.init.value == 0.0
    given = resolve({**BASE, "linear_init_scale": "0.3", "factors_init_value": "-2", "eps": "1e-3"})
    assert given.linear.init.scale == 0.3
    assert given.factors.init.value == -2.0
    assert given.eps == 1e-3
    assert not resolve(BASE).binary
    assert resolve({**BASE, "predictor_type": "binary_classifier"}).binary


def test_channels_train_and_test_recordio_only() -> None:
    ok = SPEC.validate_channels(
        {"train": (None, "Pipe"), "test": ("application/x-recordio-protobuf", "File")}
    )
    assert ok == {
        "train": "application/x-recordio-protobuf",
        "test": "application/x-recordio-protobuf",
    }
    with pytest.raises(ChannelError, match="text/csv"):
        SPEC.validate_channels({"train": ("text/csv", "File")})
    with pytest.raises(ChannelError, match="validation"):
        SPEC.validate_channels({"train": (None, "File"), "validation": (None, "File")})
    assert "text/csv" not in SPEC.request_content_types


def test_tunable_metrics_are_the_test_metrics() -> None:
    names = {m.name: m.direction for m in SPEC.tunable_metrics()}
    assert names == {
        "test:rmse": "Minimize",
        "test:binary_classification_accuracy": "Maximize",
        "test:binary_classification_cross_entropy": "Minimize",
        "test:binary_f_beta": "Maximize",
    }


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("#quality_metric: host=algo-1, test rmse <loss>=1.25", "test:rmse", 1.25),
        (
            "#quality_metric: host=algo-1, test binary_f_1.000 <score>=0.75",
            "test:binary_f_beta",
            0.75,
        ),
        (
            "#quality_metric: host=algo-1, test binary_classification_cross_entropy <loss>=0.3",
            "test:binary_classification_cross_entropy",
            0.3,
        ),
        (
            "#quality_metric: host=algo-1, epoch=3, train binary_classification_accuracy "
            "<score>=0.9",
            "train:binary_classification_accuracy",
            0.9,
        ),
        ("#quality_metric: host=algo-1, epoch=0, train rmse <loss>=2", "train:rmse", 2.0),
    ],
)
def test_metric_regexes(line: str, name: str, value: float) -> None:
    metric = SPEC.metric(name)
    assert metric is not None
    assert metric.match("[11/24/2020 18:53:56 INFO 140513285547840] " + line) == value


def test_test_metric_ignores_train_lines() -> None:
    metric = SPEC.metric("test:rmse")
    assert metric is not None
    assert metric.match("#quality_metric: host=algo-1, epoch=0, train rmse <loss>=2") is None
