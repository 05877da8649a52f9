"""The spec: SageMaker's hyperparameters, defaults, rules, channels and metric regexes."""

from __future__ import annotations

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.ip_insights.spec import SPEC
from openmaker.errors import HyperparameterError

REQUIRED = {"num_entity_vectors": "100", "vector_dim": "8"}


def test_registered_with_sagemaker_names_and_image():
    assert registry.get("ipinsights") is SPEC
    assert (
        registry.resolve_image("382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1").name
        == "ipinsights"
    )


def test_defaults_are_the_documented_ones():
    typed = SPEC.validate_hyperparameters(REQUIRED)
    assert typed == {
        "num_entity_vectors": 100,
        "vector_dim": 8,
        "batch_metrics_publish_interval": 1000,
        "epochs": 10,
        "learning_rate": 0.001,
        "mini_batch_size": 10000,
        "num_ip_encoder_layers": 1,
        "random_negative_sampling_rate": 1,
        "shuffled_negative_sampling_rate": 1,
        "weight_decay": 0.00001,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("num_entity_vectors", "0"),
        ("num_entity_vectors", "250000001"),
        ("vector_dim", "3"),
        ("vector_dim", "4097"),
        ("learning_rate", "11"),
        ("mini_batch_size", "500001"),
        ("num_ip_encoder_layers", "101"),
        ("random_negative_sampling_rate", "-1"),
        ("weight_decay", "10.5"),
    ],
)
def test_out_of_range_values_are_refused_by_name(name, value):
    with pytest.raises(HyperparameterError) as info:
        SPEC.validate_hyperparameters({**REQUIRED, name: value})
    assert info.value.parameter == name and name in str(info.value)


def test_required_parameters():
    for missing in REQUIRED:
        with pytest.raises(HyperparameterError, match=missing):
            SPEC.validate_hyperparameters({k: v for k, v in REQUIRED.items() if k != missing})


@pytest.mark.parametrize(
    ("r", "s", "ok"),
    [
        ("0", "0", False),
        ("0", "1", True),
        ("1", "0", True),
        ("250", "250", True),
        ("250", "251", False),
    ],
)
def test_negative_rates_must_sum_to_1_through_500(r, s, ok):
    given = {**REQUIRED, "random_negative_sampling_rate": r, "shuffled_negative_sampling_rate": s}
    if ok:
        SPEC.validate_hyperparameters(given)
    else:
        with pytest.raises(HyperparameterError, match="between 1 and 500") as info:
            SPEC.validate_hyperparameters(given)
        assert info.value.parameter == "shuffled_negative_sampling_rate"


def test_channels_csv_in_file_and_pipe_mode():
    assert SPEC.validate_channels({"train": ("text/csv", "File")}) == {"train": "text/csv"}
    assert SPEC.validate_channels(
        {"train": ("text/csv", "Pipe"), "validation": ("text/csv", "Pipe")}
    ) == {"train": "text/csv", "validation": "text/csv"}
    from openmaker.errors import ChannelError

    with pytest.raises(ChannelError, match="recordio"):
        SPEC.validate_channels({"train": ("application/x-recordio-protobuf", "File")})
    with pytest.raises(ChannelError, match="test"):
        SPEC.validate_channels({"train": ("text/csv", "File"), "test": ("text/csv", "File")})


#: SageMaker's MetricDefinitions for IP Insights (reference 8.4), byte for byte.
_Q = r"#quality_metric: host=\S+, epoch=\S+, "
SAGEMAKER_REGEXES = {
    "train:progress": r"#progress_metric: host=\S+, completed (\S+) %",
    "train:throughput": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
    "validation:discriminator_auc": _Q + r"validation discriminator_auc <score>=(\S+)",
    "train:binary_classification_cross_entropy": (
        _Q + r"batch=\S+ train binary_classification_cross_entropy <loss>=(\S+)"
    ),
    "train:binary_classification_accuracy": (
        _Q + r"batch=\S+ train binary_classification_accuracy <score>=(\S+)"
    ),
    "train:binary_classification_cross_entropy:epoch": (
        _Q + r"train binary_classification_cross_entropy <loss>=(\S+)"
    ),
    "train:binary_classification_accuracy:epoch": (
        _Q + r"train binary_classification_accuracy <score>=(\S+)"
    ),
}


def test_metric_regexes_are_sagemakers():
    assert {m.name: m.regex for m in SPEC.metrics} == SAGEMAKER_REGEXES
    assert [m.name for m in SPEC.tunable_metrics()] == ["validation:discriminator_auc"]
    assert SPEC.metric("validation:discriminator_auc").direction == "Maximize"


def test_inference_types():
    assert set(SPEC.request_content_types) == {
        "text/csv",
        "application/json",
        "application/jsonlines",
    }
    assert SPEC.response_content_types == ("application/json", "application/jsonlines")


def test_spec_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys; import openmaker.algorithms.ip_insights.spec; "
        "print(any(m in sys.modules for m in ('numpy', 'pyarrow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
