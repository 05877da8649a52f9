"""NTM's spec: SageMaker's hyperparameters, channels, metrics, and the conformance checks."""

from __future__ import annotations

import math

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.ntm.spec import SPEC, parse_encoder_layers, resolve_encoder_layers
from openmaker.errors import HyperparameterError
from openmaker.spec.metrics import format_log_line

DEFAULTS = {
    "batch_norm": False,
    "clip_gradient": math.inf,
    "encoder_layers": "auto",
    "encoder_layers_activation": "sigmoid",
    "epochs": 50,
    "learning_rate": 0.001,
    "mini_batch_size": 256,
    "num_patience_epochs": 3,
    "optimizer": "adadelta",
    "rescale_gradient": 1.0,
    "sub_sample": 1.0,
    "tolerance": 0.001,
    "weight_decay": 0.0,
}


def test_registered_with_sagemakers_defaults() -> None:
    assert registry.get("ntm") is SPEC
    assert registry.resolve_image("382416733822.dkr.ecr.us-east-1.amazonaws.com/ntm:1") is SPEC
    typed = SPEC.validate_hyperparameters({"feature_dim": "100", "num_topics": "5"})
    assert {k: typed[k] for k in DEFAULTS} == DEFAULTS
    assert SPEC.hyperparameter("feature_dim").required
    assert SPEC.hyperparameter("num_topics").required


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("num_topics", "1"),
        ("num_topics", "1001"),
        ("feature_dim", "1000001"),
        ("learning_rate", "1.5"),
        ("rescale_gradient", "0.0001"),
        ("clip_gradient", "0.0001"),
        ("sub_sample", "0"),
        ("tolerance", "0.2"),
        ("weight_decay", "1.5"),
        ("mini_batch_size", "10001"),
        ("optimizer", "adamw"),
        ("encoder_layers_activation", "gelu"),
        ("encoder_layers", "10,0"),
        ("encoder_layers", "ten"),
        ("batch_norm", "maybe"),
    ],
)
def test_out_of_range_values_are_refused_by_name(name: str, value: str) -> None:
    given = {"feature_dim": "2000", "num_topics": "5", name: value}
    with pytest.raises(HyperparameterError) as err:
        SPEC.validate_hyperparameters(given)
    assert err.value.parameter == name and name in str(err.value)


def test_encoder_layers_forms() -> None:
    assert parse_encoder_layers("auto") == "auto"
    assert parse_encoder_layers("50, 25") == [50, 25]
    assert parse_encoder_layers("[50, 25]") == [50, 25]  # what sagemaker.NTM sends
    assert resolve_encoder_layers("auto", 7) == [21, 14]
    for bad in ("", "[]", "1.5", "[true]", "-3"):
        with pytest.raises(ValueError):
            parse_encoder_layers(bad)


def test_num_topics_above_the_vocabulary_is_refused() -> None:
    with pytest.raises(HyperparameterError) as err:
        SPEC.validate_hyperparameters({"feature_dim": "5", "num_topics": "6"})
    assert err.value.parameter == "num_topics" and "feature_dim=5" in str(err.value)


def test_sdk_hyperparameters_are_all_declared() -> None:
    sagemaker = pytest.importorskip("sagemaker")
    from sagemaker.amazon.hyperparameter import Hyperparameter

    names = {v.name for v in vars(sagemaker.NTM).values() if isinstance(v, Hyperparameter)}
    assert names <= {hp.name for hp in SPEC.hyperparameters}


def test_channels_and_content_types() -> None:
    assert [c.name for c in SPEC.channels] == ["train", "validation", "test", "auxiliary"]
    assert SPEC.channel("train").required  # type: ignore[union-attr]
    for name in ("train", "validation", "test"):
        ch = SPEC.channel(name)
        assert ch is not None and ch.input_modes == ("File", "Pipe")
        assert ch.content_types == ("application/x-recordio-protobuf", "text/csv")
    assert SPEC.channel("auxiliary").content_types == ("text/plain",)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "metric", "value"),
    [
        ("#quality_metric: host=algo-1, epoch=3, validation total_loss <loss>=6.5",
         "validation:total_loss", 6.5),
        ("#quality_metric: host=algo-1, validation total_loss <loss>=6.25",
         "validation:total_loss", 6.25),
        ("#quality_metric: host=algo-1, test total_loss <loss>=7", "test:total_loss", 7.0),
        ("#quality_metric: host=algo-1, train tu <score>=0.9", "train:tu", 0.9),
        ("#quality_metric: host=algo-1, train wetc <score>=0.4", "train:wetc", 0.4),
    ],
)  # fmt: skip
def test_metric_regexes(line: str, metric: str, value: float) -> None:
    m = SPEC.metric(metric)
    assert m is not None and m.match(format_log_line(line)) == value
    assert SPEC.metric("train:total_loss").match(format_log_line(line)) is None  # type: ignore[union-attr]


def test_only_validation_total_loss_is_tunable() -> None:
    assert [m.name for m in SPEC.tunable_metrics()] == ["validation:total_loss"]


def test_check_algorithm() -> None:
    """The platform's conformance checks (word-count problems from openmaker.testing)."""
    import openmaker.testing.conformance as conformance

    conformance.check_algorithm("ntm")
