"""Bad tuning requests are refused before anything starts, with a message saying why."""

from __future__ import annotations

import copy

import pytest

from openmaker.errors import ResourceNotFoundError, ValidationError
from openmaker.store import open_store
from openmaker.tuning.service import TuningJobService
from openmaker.tuning.validation import validate_request

from .conftest import tuning_request


def _with_ranges(**ranges: list[dict]) -> dict:
    return tuning_request(ranges=ranges)


def refused(request: dict, *fragments: str) -> str:
    with pytest.raises(ValidationError) as info:
        validate_request(request)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_good_request_is_normalised() -> None:
    checked = validate_request(tuning_request(strategy="Bayesian"))
    assert checked.definition["StaticHyperParameters"]["_tuning_objective_metric"] == (
        "validation:auc"
    )
    assert checked.config["TrainingJobEarlyStoppingType"] == "Off"
    assert set(checked.settings.tuned_names) == {"eta", "max_depth"}
    assert checked.settings.maximize


def test_range_on_a_hyperparameter_the_algorithm_does_not_have() -> None:
    refused(
        _with_ranges(IntegerParameterRanges=[{"Name": "depth", "MinValue": "1", "MaxValue": "3"}]),
        "has no hyperparameter 'depth'",
        "max_depth",
    )


@pytest.mark.parametrize(
    ("ranges", "fragments"),
    [
        (
            {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "1.5"}]},
            ("outside what algorithm 'xgboost' allows", "[0, 1]", "1.5"),
        ),
        (
            {
                "ContinuousParameterRanges": [
                    {"Name": "subsample", "MinValue": "0", "MaxValue": "1"}
                ]
            },
            ("subsample", "(0, 1]"),
        ),
        (
            {"CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "forest"]}]},
            ("booster", "'forest'"),
        ),
    ],
)
def test_range_outside_the_allowed_domain(ranges: dict, fragments: tuple[str, ...]) -> None:
    refused(tuning_request(ranges=ranges), *fragments)


@pytest.mark.parametrize(("lo", "hi"), [("0", "5"), ("-1", "5")])
def test_logarithmic_scale_over_zero_or_negatives(lo: str, hi: str) -> None:
    refused(
        _with_ranges(
            ContinuousParameterRanges=[
                {"Name": "alpha", "MinValue": lo, "MaxValue": hi, "ScalingType": "Logarithmic"}
            ]
        ),
        "Logarithmic scaling needs values greater than 0",
        "alpha",
    )


def test_reverse_logarithmic_needs_continuous_values_below_one() -> None:
    refused(
        _with_ranges(
            IntegerParameterRanges=[
                {
                    "Name": "max_depth",
                    "MinValue": "1",
                    "MaxValue": "5",
                    "ScalingType": "ReverseLogarithmic",
                }
            ]
        ),
        "continuous ranges only",
    )
    refused(
        _with_ranges(
            ContinuousParameterRanges=[
                {
                    "Name": "subsample",
                    "MinValue": "0.5",
                    "MaxValue": "1",
                    "ScalingType": "ReverseLogarithmic",
                }
            ]
        ),
        "0 <= values < 1",
    )


def test_non_tunable_objective_metric() -> None:
    refused(tuning_request(objective="train:auc"), "'train:auc'", "not tunable", "validation:auc")


def test_metric_the_algorithm_never_emits() -> None:
    refused(tuning_request(objective="validation:accuracy_at_k"), "never emitted", "xgboost")


def test_objective_type_must_match_the_metric_direction() -> None:
    refused(tuning_request(objective_type="Minimize"), "must be Maximized", "Type")


def test_max_parallel_above_max_jobs() -> None:
    refused(
        tuning_request(max_jobs=2, max_parallel=3),
        "MaxParallelTrainingJobs (3) cannot exceed MaxNumberOfTrainingJobs (2)",
    )


def test_metric_incompatible_with_the_static_objective() -> None:
    # AUC needs a binary objective: every child would fail, whatever the search draws.
    refused(
        tuning_request(static={"num_round": "5", "objective": "reg:squarederror"}),
        "Every training job of this tuning job would fail",
        "auc",
    )


def test_static_values_are_checked_on_their_own() -> None:
    refused(
        tuning_request(static={"num_round": "-1", "objective": "binary:logistic"}),
        "would be refused",
        "'num_round'",
    )
    refused(tuning_request(static={"objective": "binary:logistic"}), "'num_round'", "Missing")
    refused(
        tuning_request(static={"num_round": "5", "objective": "binary:logistic", "depth": "2"}),
        "Unknown hyperparameter 'depth'",
    )


def test_a_combination_some_trials_break_is_left_to_the_trials() -> None:
    """Cross-parameter rules are the trial's business: monotone_constraints needs tree_method
    exact/hist, so the approx trials fail and the hist ones run; the request is accepted."""
    static = {"num_round": "5", "objective": "binary:logistic", "monotone_constraints": "(1,0)"}
    grid = {"CategoricalParameterRanges": [{"Name": "tree_method", "Values": ["approx", "hist"]}]}
    checked = validate_request(
        tuning_request(strategy="Grid", max_jobs=None, ranges=grid, static=static)
    )
    assert checked.config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 2
    # ... but a search where no value passes is refused: every trial would fail.
    grid["CategoricalParameterRanges"][0]["Values"] = ["approx", "auto"]
    refused(
        tuning_request(strategy="Grid", max_jobs=None, ranges=grid, static=static),
        "Every training job",
        "monotone_constraints",
    )


def test_grid_takes_categorical_ranges_only_and_counts_the_combinations() -> None:
    refused(tuning_request(strategy="Grid", max_jobs=None), "categorical ranges only", "eta")
    grid = {
        "CategoricalParameterRanges": [
            {"Name": "max_depth", "Values": ["2", "3", "4"]},
            {"Name": "booster", "Values": ["gbtree", "dart"]},
        ]
    }
    checked = validate_request(tuning_request(strategy="Grid", max_jobs=None, ranges=grid))
    assert checked.settings.max_jobs == 6
    refused(tuning_request(strategy="Grid", max_jobs=4, ranges=grid), "every combination (6)")


def test_hyperband_rules() -> None:
    refused(
        tuning_request(strategy="Hyperband", TrainingJobEarlyStoppingType="Auto"),
        "must be Off with the Hyperband strategy",
    )
    checked = validate_request(
        tuning_request(
            strategy="Hyperband", static={"num_round": "27", "objective": "binary:logistic"}
        )
    )
    assert checked.settings.max_resource == 27 and checked.settings.min_resource == 1
    refused(
        tuning_request(
            strategy="Hyperband",
            StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 10, "MaxResource": 5}},
        ),
        "MinResource (10) exceeds MaxResource (5)",
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"HyperParameterTuningJobName": "x" * 33}, "1-32 characters"),
        ({"HyperParameterTuningJobName": "bad_name"}, "hyperParameterTuningJobName"),
    ],
)
def test_bad_names(change: dict, fragment: str) -> None:
    refused({**tuning_request(), **change}, fragment)


def test_other_bad_configs() -> None:
    refused(tuning_request(strategy="Annealing"), "Strategy must be one of")
    refused(
        _with_ranges(
            IntegerParameterRanges=[{"Name": "max_depth", "MinValue": "5", "MaxValue": "2"}]
        ),
        "greater than MaxValue",
    )
    refused(
        tuning_request(static={"num_round": "5", "objective": "binary:logistic", "eta": "0.1"}),
        "both static and searched",
    )
    refused(
        tuning_request(
            TuningJobCompletionCriteria={
                "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 2}
            }
        ),
        ">= 3",
    )
    refused(_with_ranges(), "at least one range")
    request = tuning_request()
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 10
    refused(request, "MaxRuntimeInSeconds must be between 120")


def test_the_service_records_nothing_for_a_refused_request(home) -> None:
    service = TuningJobService()
    with pytest.raises(ValidationError):
        service.create(tuning_request(objective="train:auc"))
    with open_store() as store:
        assert store.tuning_jobs.list()[0] == []
        assert store.training_jobs.list()[0] == []


def test_warm_start_parent_must_exist(home) -> None:
    request = copy.deepcopy(tuning_request(name="child"))
    request["WarmStartConfig"] = {
        "WarmStartType": "TransferLearning",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nobody"}],
    }
    with pytest.raises(ResourceNotFoundError):
        TuningJobService().create(request)
    request["WarmStartConfig"]["WarmStartType"] = "Sideways"
    refused(request, "WarmStartType must be one of")
