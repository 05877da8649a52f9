"""The first-party containers' internal hyperparameters: declared per algorithm, validated,
hidden from describe and DescribeAlgorithm; genuinely unknown names are still refused."""

from __future__ import annotations

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.catalog import describe_algorithm
from openmaker.errors import HyperparameterError
from openmaker.spec.hyperparameters import describe_table

FIRST_PARTY = {
    "linear-learner": {"predictor_type": "regressor", "feature_dim": "3"},
    "kmeans": {"feature_dim": "3", "k": "2"},
    "pca": {"feature_dim": "3", "num_components": "2", "mini_batch_size": "10"},
    "knn": {"feature_dim": "3", "k": "2", "sample_size": "10", "predictor_type": "classifier"},
    "randomcutforest": {"feature_dim": "3"},
    "factorization-machines": {
        "feature_dim": "3",
        "num_factors": "2",
        "predictor_type": "regressor",
    },
    "ipinsights": {"num_entity_vectors": "10", "vector_dim": "4"},
}
COMMON = {
    "_kvstore": "dist_sync",
    "_num_gpus": "auto",
    "_num_kv_servers": "1",
    "_log_level": "INFO",
    "_enable_profiler": "false",
}


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
def test_the_common_internal_keys_are_accepted_and_typed(name: str) -> None:
    spec = registry.get(name)
    objective = spec.metrics[0].name  # PCA has no tunable metric; any declared one is valid
    values = spec.validate_hyperparameters(
        {**FIRST_PARTY[name], **COMMON, "_tuning_objective_metric": objective}
    )
    assert values["_num_kv_servers"] == 1 and values["_enable_profiler"] is False
    assert values["_log_level"] == "info" and values["_tuning_objective_metric"] == objective


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("_kvstore", "carrier_pigeon"),
        ("_num_gpus", "-1"),
        ("_num_kv_servers", "0"),
        ("_log_level", "loud"),
        ("_enable_profiler", "maybe"),
        ("_tuning_objective_metric", "validation:no_such_metric"),
        ("_kvstor", "auto"),  # a misspelt internal key is an unknown name
    ],
)
def test_bad_internal_values_are_refused_by_name(name: str, key: str, value: str) -> None:
    with pytest.raises(HyperparameterError) as err:
        registry.get(name).validate_hyperparameters({**FIRST_PARTY[name], key: value})
    assert err.value.parameter == key and key in str(err.value)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("kmeans", {"force_dense": "True", "_num_slices": "1", "_disable_wait_to_read": "false"}),
        ("pca", {"force_dense": "true", "epochs": "1"}),
        ("randomcutforest", {"force_dense": "true", "epochs": "1", "_ftp_port": "8999"}),
        ("ipinsights", {"feature_dim": "2"}),
    ],
)
def test_each_containers_own_internal_keys(name: str, extra: dict[str, str]) -> None:
    spec = registry.get(name)
    values = spec.validate_hyperparameters({**FIRST_PARTY[name], **extra})
    assert set(extra) <= set(values)
    key = next(iter(extra))
    with pytest.raises(HyperparameterError, match=key):
        spec.validate_hyperparameters({**FIRST_PARTY[name], key: "bogus"})


def test_force_dense_is_not_accepted_where_no_container_takes_it() -> None:
    with pytest.raises(HyperparameterError, match="Unknown hyperparameter 'force_dense'"):
        registry.get("linear-learner").validate_hyperparameters(
            {**FIRST_PARTY["linear-learner"], "force_dense": "true"}
        )


def test_internal_keys_are_hidden_from_describe_unless_asked() -> None:
    spec = registry.get("kmeans")
    shown = {row["name"] for row in describe_table(spec.hyperparameters)}
    everything = {row["name"]: row for row in describe_table(spec.hyperparameters, internal=True)}
    assert "k" in shown and "force_dense" not in shown and "_kvstore" not in shown
    assert everything["force_dense"]["internal"] == "yes" and everything["k"]["internal"] == ""
    described = describe_algorithm("kmeans")["TrainingSpecification"]["SupportedHyperParameters"]
    assert "force_dense" not in {h["Name"] for h in described}


def test_the_cli_shows_internal_keys_only_when_asked() -> None:
    from click.testing import CliRunner

    from openmaker.cli.main import cli

    args = ["algorithms", "describe", "kmeans", "--output", "table"]
    hidden = CliRunner().invoke(cli, args, catch_exceptions=False, terminal_width=200)
    shown = CliRunner().invoke(cli, [*args, "--internal"], catch_exceptions=False)
    assert hidden.exit_code == 0 and shown.exit_code == 0
    assert "force_dense" not in hidden.output and "force_dense" in shown.output
    assert "_kvstore" in shown.output
