"""Hyperparameter validation: defaults, auto values, refusals naming the parameter."""

from __future__ import annotations

import pytest

from openmaker.algorithms.linear_learner.settings import resolve
from openmaker.algorithms.linear_learner.spec import SPEC
from openmaker.errors import HyperparameterError

BASE = {"predictor_type": "binary_classifier"}


def test_defaults_and_auto_resolution() -> None:
    s = resolve(SPEC.validate_hyperparameters(BASE))
    assert s.loss == "logistic" and s.num_models == 32 and s.epochs == 15
    assert s.mini_batch_size == 1000 and s.normalize_data and not s.normalize_label
    assert {m.optimizer for m in s.models} == {"adam"}
    assert len({(m.learning_rate, m.wd, m.l1) for m in s.models}) == 32
    assert s.models[0].learning_rate == 0.01 and s.models[0].wd == 0.0


def test_regressor_normalises_label_and_tuning_forces_one_model() -> None:
    hp = {"predictor_type": "regressor", "_tuning_objective_metric": "validation:mse"}
    s = resolve(SPEC.validate_hyperparameters(hp))
    assert s.loss == "squared_loss" and s.normalize_label and s.num_models == 1


def test_explicit_values_are_shared_by_all_models() -> None:
    hp = {**BASE, "learning_rate": "0.2", "wd": "0.01", "l1": "0", "num_models": "3",
          "optimizer": "sgd"}  # fmt: skip
    s = resolve(SPEC.validate_hyperparameters(hp))
    assert {(m.learning_rate, m.wd, m.l1, m.optimizer) for m in s.models} == {
        (0.2, 0.01, 0.0, "sgd")
    }


def test_legacy_criteria_map() -> None:
    hp = {**BASE, "binary_classifier_model_selection_criteria": "f1"}
    assert resolve(SPEC.validate_hyperparameters(hp)).criterion == "f_beta"


@pytest.mark.parametrize(
    ("given", "parameter"),
    [
        ({}, "predictor_type"),
        ({"predictor_type": "multiclass_classifier"}, "num_classes"),
        ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "num_classes"),
        ({**BASE, "loss": "squared_loss"}, "loss"),
        ({"predictor_type": "regressor", "loss": "softmax_loss"}, "loss"),
        ({**BASE, "learning_rate": "0"}, "learning_rate"),
        ({**BASE, "learning_rate": "fast"}, "learning_rate"),
        ({**BASE, "wd": "-1"}, "wd"),
        ({**BASE, "optimizer": "adagrad"}, "optimizer"),
        ({**BASE, "positive_example_weight_mult": "0"}, "positive_example_weight_mult"),
        ({**BASE, "positive_example_weight_mult": "heavy"}, "positive_example_weight_mult"),
        ({**BASE, "quantile": "1"}, "quantile"),
        ({**BASE, "beta_1": "1"}, "beta_1"),
        ({**BASE, "early_stopping_tolerance": "0"}, "early_stopping_tolerance"),
        ({**BASE, "feature_dim": "0"}, "feature_dim"),
        ({**BASE, "num_models": "many"}, "num_models"),
        ({**BASE, "mini_batch_siz": "10"}, "mini_batch_siz"),
    ],
)
def test_refusals_name_the_parameter(given: dict[str, str], parameter: str) -> None:
    with pytest.raises(HyperparameterError) as info:
        SPEC.validate_hyperparameters(given)
    assert info.value.parameter == parameter
    assert parameter in str(info.value)


def test_metric_definitions_cover_the_reference_names() -> None:
    names = {m.name for m in SPEC.metrics}
    for name in (
        "train:objective_loss", "validation:objective_loss", "test:objective_loss",
        "validation:binary_f_beta", "test:mse", "validation:precision", "validation:rmse",
        "test:multiclass_top_k_accuracy", "validation:macro_f_beta", "test:roc_auc_score",
    ):  # fmt: skip
        assert name in names
    assert SPEC.metric("validation:objective_loss").regex == (  # type: ignore[union-attr]
        r"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"
    )
