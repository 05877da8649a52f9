"""The K-Means spec: SageMaker's names, defaults, aliases, auto values and refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.kmeans.spec import (
    SPEC,
    resolve_extra_center_factor,
    resolve_num_trials,
)
from openmaker.errors import HyperparameterError

BASE = {"feature_dim": "5", "k": "3"}


def _validate(**extra: str) -> dict:
    return SPEC.validate_hyperparameters({**BASE, **extra})


def test_registered_under_sagemakers_name():
    assert registry.get("kmeans") is SPEC
    assert SPEC.image_repository == "kmeans"
    assert SPEC.model_files == ("model_algo-1",)
    assert SPEC.problem_types == ("unsupervised",)


def test_defaults_follow_the_reference():
    hp = _validate()
    assert hp == {
        "feature_dim": 5,
        "k": 3,
        "epochs": 1,
        "eval_metrics": ["msd"],
        "extra_center_factor": "auto",
        "half_life_time_size": 0,
        "init_method": "random",
        "local_lloyd_init_method": "kmeans++",
        "local_lloyd_max_iter": 300,
        "local_lloyd_num_trials": "auto",
        "local_lloyd_tol": 0.0001,
        "mini_batch_size": 5000,
    }


def test_auto_values_resolve_to_ten():
    assert resolve_extra_center_factor("auto") == 10
    assert resolve_num_trials("auto") == 10
    assert resolve_extra_center_factor(4) == 4
    hp = _validate(extra_center_factor="4", local_lloyd_num_trials="2")
    assert hp["extra_center_factor"] == 4 and hp["local_lloyd_num_trials"] == 2


def test_sdk_aliases_map_to_canonical_names():
    hp = SPEC.validate_hyperparameters(
        {
            **BASE,
            "max_iterations": "50",
            "tol": "0.01",
            "num_trials": "3",
            "local_init_method": "random",
            "center_factor": "5",
        }
    )
    assert hp["local_lloyd_max_iter"] == 50
    assert hp["local_lloyd_tol"] == 0.01
    assert hp["local_lloyd_num_trials"] == 3
    assert hp["local_lloyd_init_method"] == "random"
    assert hp["extra_center_factor"] == 5


@pytest.mark.parametrize(
    "text, expected",
    [('["msd"]', ["msd"]), ('["ssd"]', ["ssd"]), ('["msd","ssd"]', ["msd", "ssd"]),
     ("['msd', 'ssd']", ["msd", "ssd"]), ("ssd", ["ssd"])],
)  # fmt: skip
def test_eval_metrics_lists(text, expected):
    assert _validate(eval_metrics=text)["eval_metrics"] == expected


def test_kmeanspp_is_spelled_without_a_hyphen():
    assert _validate(init_method="kmeans++")["init_method"] == "kmeans++"
    with pytest.raises(HyperparameterError) as err:
        _validate(init_method="k-means++")
    assert err.value.parameter == "init_method"


@pytest.mark.parametrize(
    "name, value",
    [
        ("k", "0"),
        ("k", "2.5"),
        ("feature_dim", "0"),
        ("epochs", "0"),
        ("mini_batch_size", "-1"),
        ("extra_center_factor", "0"),
        ("extra_center_factor", "many"),
        ("local_lloyd_num_trials", "0"),
        ("local_lloyd_max_iter", "0"),
        ("local_lloyd_tol", "1.5"),
        ("local_lloyd_tol", "-0.1"),
        ("half_life_time_size", "-1"),
        ("local_lloyd_init_method", "farthest"),
        ("eval_metrics", '["mse"]'),
        ("eval_metrics", "[]"),
    ],
)
def test_bad_values_are_refused_by_name(name, value):
    with pytest.raises(HyperparameterError) as err:
        _validate(**{name: value})
    assert err.value.parameter == name
    assert name in str(err.value)


@pytest.mark.parametrize("missing", ["k", "feature_dim"])
def test_required_hyperparameters(missing):
    given = dict(BASE)
    del given[missing]
    with pytest.raises(HyperparameterError, match=f"Missing required hyperparameter '{missing}'"):
        SPEC.validate_hyperparameters(given)


def test_unknown_and_internal_names():
    with pytest.raises(HyperparameterError, match="mini_batch_siz"):
        _validate(mini_batch_siz="10")
    assert _validate(_kvstore="auto")["_kvstore"] == "auto"


def test_metrics_and_channels():
    names = {m.name: m for m in SPEC.metrics}
    assert names["test:msd"].regex == r"#quality_metric: host=\S+, test msd <loss>=(\S+)"
    assert names["test:ssd"].regex == r"#quality_metric: host=\S+, test ssd <loss>=(\S+)"
    assert names["test:msd"].tunable and names["test:ssd"].tunable
    assert names["test:msd"].direction == "Minimize"
    assert not names["train:msd"].tunable
    assert {c.name for c in SPEC.channels} == {"train", "test"}
    train = SPEC.channel("train")
    assert train is not None and train.required
    assert train.default_content_type == "application/x-recordio-protobuf"
    assert train.accepts("text/csv", "Pipe") and not train.accepts("text/libsvm", "File")


def test_importing_the_spec_stays_light():
    code = (
        "import sys; import openmaker.algorithms.kmeans.spec, openmaker.algorithms.kmeans; "
        "print('numpy' in sys.modules or 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
