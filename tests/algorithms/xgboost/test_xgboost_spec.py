"""The XGBoost spec: hyperparameters, rules, channels, metrics (no training)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.xgboost.spec import METRIC_NAMES, SPEC
from openmaker.errors import ChannelError, HyperparameterError
from openmaker.spec.metrics import format_log_line
from openmaker.testing.conformance import check_refuses_invalid, check_spec

REFERENCE_NAMES = [
    "num_round",
    "num_class",
    "csv_weights",
    "early_stopping_rounds",
    "booster",
    "verbosity",
    "nthread",
    "eta",
    "gamma",
    "max_depth",
    "min_child_weight",
    "max_delta_step",
    "subsample",
    "colsample_bytree",
    "colsample_bylevel",
    "colsample_bynode",
    "lambda",
    "alpha",
    "tree_method",
    "sketch_eps",
    "scale_pos_weight",
    "updater",
    "dsplit",
    "refresh_leaf",
    "process_type",
    "grow_policy",
    "max_leaves",
    "max_bin",
    "predictor",
    "monotone_constraints",
    "interaction_constraints",
    "sample_type",
    "normalize_type",
    "rate_drop",
    "one_drop",
    "skip_drop",
    "lambda_bias",
    "tweedie_variance_power",
    "objective",
    "base_score",
    "eval_metric",
    "seed",
    "num_parallel_tree",
    "save_model_on_termination",
    "aft_loss_distribution",
    "aft_loss_distribution_scale",
    "deterministic_histogram",
    "sampling_method",
    "prob_buffer_row",
    "use_dask_gpu_training",
    "_kfold",
    "_num_cv_round",
    "_tuning_objective_metric",
]

BASE = {"num_round": "10"}


def test_registry_resolves_spec_and_image() -> None:
    assert registry.get("xgboost") is SPEC
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert registry.resolve_image(image) is SPEC


def test_importing_spec_and_package_does_not_import_xgboost() -> None:
    code = (
        "import sys, openmaker.algorithms.xgboost as p, openmaker.algorithms.xgboost.spec\n"
        "assert 'xgboost' not in sys.modules, 'xgboost imported'\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_reference_hyperparameter_is_declared() -> None:
    declared = [hp.name for hp in SPEC.hyperparameters]
    assert sorted(declared) == sorted(REFERENCE_NAMES)


def test_spec_is_well_formed_and_refuses_generated_bad_values() -> None:
    check_spec(SPEC)
    check_refuses_invalid(SPEC)


def test_no_defaults_are_set_by_the_spec() -> None:
    assert SPEC.validate_hyperparameters({"num_round": "3"}) == {"num_round": 3}


@pytest.mark.parametrize(
    ("alias", "name", "value"),
    [
        ("learning_rate", "eta", 0.2),
        ("min_split_loss", "gamma", 1.5),
        ("reg_lambda", "lambda", 3.0),
        ("reg_alpha", "alpha", 0.5),
    ],
)
def test_aliases(alias: str, name: str, value: float) -> None:
    out = SPEC.validate_hyperparameters({**BASE, alias: str(value)})
    assert out[name] == value
    assert alias not in out


def test_typed_values() -> None:
    out = SPEC.validate_hyperparameters(
        {
            **BASE,
            "max_depth": "4",
            "eta": "0.1",
            "objective": "multi:softprob",
            "num_class": "3",
            "eval_metric": "mlogloss,merror,accuracy",
            "tree_method": "hist",
            "monotone_constraints": "(0, 1,-1)",
            "interaction_constraints": "[[0, 1], [2]]",
            "save_model_on_termination": "true",
            "updater": "grow_quantile_histmaker,prune",
            "_kfold": "3",
            "_num_cv_round": "2",
            "_tuning_objective_metric": "validation:accuracy",
        }
    )
    assert out["max_depth"] == 4 and out["eta"] == 0.1
    assert out["eval_metric"] == ["mlogloss", "merror", "accuracy"]
    assert out["monotone_constraints"] == "(0,1,-1)"
    assert out["interaction_constraints"] == "[[0,1],[2]]"
    assert out["save_model_on_termination"] is True
    assert out["updater"] == ["grow_quantile_histmaker", "prune"]
    assert out["_kfold"] == 3 and out["_num_cv_round"] == 2
    assert out["_tuning_objective_metric"] == "validation:accuracy"


@pytest.mark.parametrize("metric", ["error@0.7", "ndcg@5", "map@3", "ndcg@10-", "error", "rmsle"])
def test_eval_metric_forms(metric: str) -> None:
    objective = "rank:ndcg" if metric.startswith(("ndcg", "map")) else "binary:logistic"
    out = SPEC.validate_hyperparameters({**BASE, "objective": objective, "eval_metric": metric})
    assert out["eval_metric"] == [metric]


@pytest.mark.parametrize(
    ("given", "parameter", "fragments"),
    [
        ({"nope": "1"}, "nope", ["Unknown hyperparameter", "num_round"]),
        ({"num_round": None}, "num_round", ["Missing required", "integer in [1, +inf)"]),
        ({"eta": "1.5"}, "eta", ["1.5", "[0, 1]"]),
        ({"max_depth": "abc"}, "max_depth", ["'abc'", "integer in [0, +inf)"]),
        ({"objective": "reg:bogus"}, "objective", ["reg:bogus", "binary:logistic"]),
        ({"objective": "multi:softprob"}, "num_class", ["Missing required", "multi:softprob"]),
        ({"objective": "binary:logistic", "num_class": "2"}, "num_class", ["multi:softmax"]),
        ({"num_class": "3"}, "num_class", ["objective is not set"]),
        ({"eval_metric": "auc"}, "eval_metric", ["'auc'", "binary:* or rank:*"]),
        (
            {"objective": "reg:squarederror", "eval_metric": "rmse,aucpr"},
            "eval_metric",
            ["aucpr", "reg:squarederror"],
        ),
        ({"eval_metric": "aft-nloglik"}, "eval_metric", ["survival:aft"]),
        ({"eval_metric": "rmse,bogus"}, "eval_metric", ["bogus", "a metric name"]),
        ({"eval_metric": "error@x"}, "eval_metric", ["error@x"]),
        (
            {"_tuning_objective_metric": "validation:auc"},
            "_tuning_objective_metric",
            ["auc", "binary:*"],
        ),
        ({"_tuning_objective_metric": "train:rmse"}, "_tuning_objective_metric", ["train:rmse"]),
        (
            {"tree_method": "hist", "monotone_constraints": "(0,2)"},
            "monotone_constraints",
            ["(0,2)", "tuple of -1/0/1"],
        ),
        (
            {"tree_method": "hist", "monotone_constraints": "up"},
            "monotone_constraints",
            ["'up'"],
        ),
        ({"monotone_constraints": "(0,1)"}, "monotone_constraints", ["exact, hist"]),
        (
            {"tree_method": "approx", "monotone_constraints": "(0,1)"},
            "monotone_constraints",
            ["'approx'"],
        ),
        (
            {"tree_method": "hist", "interaction_constraints": "[1,2]"},
            "interaction_constraints",
            ["[1,2]", "nested list"],
        ),
        (
            {"tree_method": "auto", "interaction_constraints": "[[1,2]]"},
            "interaction_constraints",
            ["exact, hist, approx"],
        ),
        ({"updater": "grow_colmaker,grow_histmaker"}, "updater", ["one grow plugin"]),
        ({"updater": "bogus"}, "updater", ["'bogus'"]),
        ({"booster": "gblinear", "updater": "grow_colmaker"}, "updater", ["shotgun"]),
        ({"process_type": "update", "updater": "grow_colmaker"}, "updater", ["refresh"]),
        ({"subsample": "0"}, "subsample", ["(0, 1]"]),
        ({"seed": str(2**31)}, "seed", [str(2**31)]),
        ({"tweedie_variance_power": "2"}, "tweedie_variance_power", ["(1, 2)"]),
        ({"csv_weights": "2"}, "csv_weights", ["[0, 1]"]),
        ({"_kfold": "1"}, "_kfold", ["[2, +inf)"]),
        ({"_num_cv_round": "2"}, "_num_cv_round", ["_kfold"]),
        ({"use_dask_gpu_training": "true"}, "use_dask_gpu_training", ["Dask"]),
        ({"save_model_on_termination": "maybe"}, "save_model_on_termination", ["true or false"]),
        ({"num_round": "0"}, "num_round", ["[1, +inf)"]),
    ],
)
def test_bad_values_are_refused_with_name_domain_and_value(
    given: dict[str, str | None], parameter: str, fragments: list[str]
) -> None:
    hp = {**BASE, **given}
    hp = {k: v for k, v in hp.items() if v is not None}
    with pytest.raises(HyperparameterError) as info:
        SPEC.validate_hyperparameters(hp)
    err = info.value
    assert err.parameter == parameter
    message = str(err)
    assert repr(parameter) in message or parameter in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert err.allowed


def test_channels_and_content_types() -> None:
    train = SPEC.channel("train")
    assert train is not None and train.required
    assert train.default_content_type == "text/libsvm"
    assert SPEC.validate_channels({"train": (None, "File")}) == {"train": "text/libsvm"}
    out = SPEC.validate_channels({"train": ("csv", "Pipe"), "validation": ("csv", "Pipe")})
    assert out == {"train": "text/csv", "validation": "text/csv"}
    with pytest.raises(ChannelError, match="Pipe"):
        SPEC.validate_channels({"train": ("text/libsvm", "Pipe")})
    with pytest.raises(ChannelError, match="test"):
        SPEC.validate_channels({"train": ("csv", "File"), "test": ("csv", "File")})


def test_metrics_regexes_directions() -> None:
    validation = [m for m in SPEC.metrics if m.name.startswith("validation:")]
    assert {m.name.split(":", 1)[1] for m in validation} == set(METRIC_NAMES)
    assert all(m.tunable for m in validation)
    rmse = SPEC.metric("validation:rmse")
    assert rmse is not None
    assert rmse.regex == r".*\[[0-9]+\].*#011validation-rmse:(\S+)"
    assert rmse.direction == "Minimize"
    auc = SPEC.metric("validation:auc")
    assert auc is not None and auc.direction == "Maximize"
    train_rmse = SPEC.metric("train:rmse")
    assert train_rmse is not None and not train_rmse.tunable
    assert train_rmse.regex == r".*\[[0-9]+\]#011train-rmse:([^#\s]+)"
    for name in ("accuracy", "f1", "ndcg", "r2", "precision_micro", "recall_macro", "map"):
        m = SPEC.metric(f"validation:{name}")
        assert m is not None and m.direction == "Maximize"
    for name in ("mse", "logloss", "mlogloss", "merror", "mae", "error", "aft-nloglik"):
        m = SPEC.metric(f"validation:{name}")
        assert m is not None and m.direction == "Minimize"


def test_cloudwatch_example_line_matches() -> None:
    line = format_log_line("[0]\ttrain-rmse:18.79\tvalidation-rmse:19.94")
    assert line == "[0]#011train-rmse:18.79#011validation-rmse:19.94"
    assert SPEC.metric("validation:rmse").match(line) == 19.94  # type: ignore[union-attr]
    assert SPEC.metric("train:rmse").match(line) == 18.79  # type: ignore[union-attr]
    assert SPEC.metric("validation:mae").match(line) is None  # type: ignore[union-attr]


def test_inference_types_and_examples() -> None:
    assert SPEC.response_content_types[0] == "text/csv"
    assert set(SPEC.request_content_types) >= {"text/csv", "text/libsvm", "application/x-npy"}
    assert SPEC.model_files == ("xgboost-model",)
    assert SPEC.image_repository == "sagemaker-xgboost"
    for kind in ("regression", "binary", "multiclass"):
        SPEC.validate_hyperparameters(SPEC.example_hyperparameters[kind])
    assert all(re.compile(m.regex).groups == 1 for m in SPEC.metrics)
