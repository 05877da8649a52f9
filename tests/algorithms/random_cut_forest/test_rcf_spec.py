"""The spec: SageMaker's names, defaults and ranges; registry and image lookups."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.random_cut_forest.spec import SPEC
from openmaker.errors import ChannelError, HyperparameterError


def test_defaults_and_sdk_values():
    typed = SPEC.validate_hyperparameters({"feature_dim": "9"})
    assert typed == {
        "feature_dim": 9,
        "num_trees": 100,
        "num_samples_per_tree": 256,
        "eval_metrics": ["accuracy", "precision_recall_fscore"],
        "mini_batch_size": 1000,
    }
    # what the SageMaker SDK sends (a Python-style list, mini_batch_size 1000)
    sdk = SPEC.validate_hyperparameters(
        {
            "feature_dim": "3",
            "num_trees": "50",
            "num_samples_per_tree": "512",
            "eval_metrics": "['accuracy', 'precision_recall_fscore']",
            "mini_batch_size": "1000",
            "_tuning_objective_metric": "test:f1",
        }
    )
    assert sdk["num_samples_per_tree"] == 512 and sdk["eval_metrics"][0] == "accuracy"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("feature_dim", "0"),
        ("feature_dim", "10001"),
        ("num_trees", "49"),
        ("num_trees", "1001"),
        ("num_samples_per_tree", "0"),
        ("num_samples_per_tree", "2049"),
        ("num_samples_per_tree", "12.5"),
        ("eval_metrics", '["f1"]'),
        ("mini_batch_size", "0"),
        ("num_tree", "100"),
    ],
)
def test_invalid_hyperparameters_are_refused_by_name(name, value):
    with pytest.raises(HyperparameterError) as info:
        SPEC.validate_hyperparameters({"feature_dim": "4", name: value})
    assert info.value.parameter == name
    assert name in str(info.value)


def test_feature_dim_is_required():
    with pytest.raises(HyperparameterError, match="feature_dim"):
        SPEC.validate_hyperparameters({"num_trees": "100"})


def test_metrics_and_channels():
    assert [m.name for m in SPEC.tunable_metrics()] == ["test:f1"]
    f1 = SPEC.metric("test:f1")
    assert f1 is not None and f1.direction == "Maximize"
    assert f1.match("#quality_metric: host=algo-1, test f1 <score>=0.75") == 0.75
    assert f1.match("#quality_metric: host=algo-1, test f1_neg <score>=0.75") is None
    assert SPEC.validate_channels(
        {"train": ("text/csv;label_size=0", "Pipe"), "test": ("text/csv;label_size=1", "File")}
    ) == {"train": "text/csv", "test": "text/csv"}
    assert SPEC.validate_channels({"train": (None, "File")}) == {
        "train": "application/x-recordio-protobuf"
    }
    with pytest.raises(ChannelError, match="validation"):
        SPEC.validate_channels({"train": (None, "File"), "validation": (None, "File")})
    with pytest.raises(ChannelError, match="libsvm"):
        SPEC.validate_channels({"train": ("text/libsvm", "File")})


def test_registry_and_image():
    assert registry.get("randomcutforest") is SPEC
    image = "174872318107.dkr.ecr.us-west-2.amazonaws.com/randomcutforest:1"
    assert registry.resolve_image(image) is SPEC


def test_importing_the_spec_stays_light():
    code = (
        "import sys; import openmaker.algorithms.random_cut_forest.spec; "
        "import openmaker.algorithms.random_cut_forest; "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
