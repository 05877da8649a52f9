"""The tuning supervisor's decisions, run in-process against simulated training jobs."""

from __future__ import annotations

import re

import optuna
import pytest

from openmaker.errors import ValidationError
from openmaker.store import open_store
from openmaker.tuning.search import storage

from .conftest import bowl, run_simulated, tuning_request

GRID = {
    "CategoricalParameterRanges": [
        {"Name": "max_depth", "Values": ["2", "3", "4"]},
        {"Name": "eta", "Values": ["0.1", "0.3"]},
    ]
}


def test_random_search_runs_every_job_and_reports_like_sagemaker(home) -> None:
    service, sim = run_simulated(tuning_request(max_jobs=6, RandomSeed=3), bowl)
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"] == {
        "Completed": 6,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 6, "Pending": 0, "Failed": 0}
    assert "HyperParameterTuningEndTime" in d
    children = service.children("tune1")
    assert [c.name for c in children] == sim.created
    assert all(re.fullmatch(r"tune1-\d{3}-[0-9a-f]{8}", c.name) for c in children)
    assert [c.name.split("-")[1] for c in children] == ["001", "002", "003", "004", "005", "006"]
    for child in children:
        assert child.hyperparameters["_tuning_objective_metric"] == "validation:auc"
        assert child.tuning_job_arn == d["HyperParameterTuningJobArn"]
    best = d["BestTrainingJob"]
    values = {c.name: c.final_metrics[0].value for c in children}
    assert best["TrainingJobName"] == max(values, key=values.get)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize",
        "MetricName": "validation:auc",
        "Value": max(values.values()),
    }
    assert set(best["TunedHyperParameters"]) == {"eta", "max_depth"}
    # the study lives in openmaker's own database
    study = optuna.load_study(
        study_name="openmaker-tuning-tune1", storage=storage(service.store.url)
    )
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 6
    assert study.best_value == pytest.approx(max(values.values()))


def test_children_sorted_by_objective_with_pages(home) -> None:
    service, _ = run_simulated(tuning_request(max_jobs=5, RandomSeed=1), bowl)
    page1, token = service.list_training_jobs(
        "tune1", sort_by="FinalObjectiveMetricValue", sort_order="Descending", max_results=3
    )
    page2, end = service.list_training_jobs(
        "tune1",
        sort_by="FinalObjectiveMetricValue",
        sort_order="Descending",
        max_results=3,
        next_token=token,
    )
    assert end is None and len(page1) == 3 and len(page2) == 2
    values = [r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for r in page1 + page2]
    assert values == sorted(values, reverse=True)
    by_name, _ = service.list_training_jobs("tune1", max_results=10)
    names = [r["TrainingJobName"] for r in by_name]
    assert names == sorted(names)
    with pytest.raises(ValidationError, match="another SortBy"):
        service.list_training_jobs("tune1", next_token=token)
    with pytest.raises(ValidationError, match="SortBy"):
        service.list_training_jobs("tune1", sort_by="Objective")


def test_same_seed_same_trials(home) -> None:
    def params(name: str) -> list[dict[str, str]]:
        service, _ = run_simulated(tuning_request(name=name, max_jobs=4, RandomSeed=7), bowl)
        rows, _ = service.list_training_jobs(name, sort_by="CreationTime")
        return [r["TunedHyperParameters"] for r in rows]

    assert params("seeded-a") == params("seeded-b")


def test_failed_children_are_counted_and_do_not_stop_the_tuning_job(home) -> None:
    service, _ = run_simulated(tuning_request(max_jobs=5), bowl, fail={2, 4}, refuse={3})
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 2
    assert d["TrainingJobStatusCounters"]["NonRetryableError"] == 3
    assert d["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 0, "Failed": 3}


def test_all_children_failing_fails_the_tuning_job(home) -> None:
    service, _ = run_simulated(tuning_request(max_jobs=3), bowl, fail={1, 2, 3})
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Failed"
    assert "validation:auc" in d["FailureReason"] and "simulated failure" in d["FailureReason"]
    assert "BestTrainingJob" not in d


def test_target_objective_value_completes_early(home) -> None:
    request = tuning_request(
        max_jobs=10, TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.0}
    )
    service, sim = run_simulated(request, bowl)
    assert service.get("tune1").status == "Completed"
    assert len(sim.created) == 2  # the first result meets the target; the other was running


def test_best_objective_not_improving_completes_early(home) -> None:
    request = tuning_request(
        max_jobs=12,
        max_parallel=1,
        TuningJobCompletionCriteria={
            "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}
        },
    )
    service, sim = run_simulated(request, lambda hps, step: 0.7)
    assert len(sim.created) == 4
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_early_stopping_auto_stops_trials_below_the_median(home) -> None:
    def curve(hps: dict, step: int) -> float:
        return 0.9 - 0.1 * (int(hps["max_depth"]) - 2)  # shallower is better

    ranges = {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5"}]}
    request = tuning_request(
        max_jobs=10,
        max_parallel=1,
        ranges=ranges,
        RandomSeed=0,
        TrainingJobEarlyStoppingType="Auto",
        static={"num_round": "10", "objective": "binary:logistic"},
    )
    service, sim = run_simulated(request, curve)
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert sim.stopped, "no trial was stopped early"
    stopped = [c for c in service.children("tune1") if c.status == "Stopped"]
    assert {c.name for c in stopped} == set(sim.stopped)
    assert all(c.hyperparameters["max_depth"] != "2" for c in stopped)
    assert all(sim.progress[c.name] < 10 for c in stopped)
    assert d["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    # an early-stopped job still has its (last) objective value
    assert d["ObjectiveStatusCounters"]["Succeeded"] == 10


def test_hyperband_stops_weak_trials_at_low_resource(home) -> None:
    request = tuning_request(
        strategy="Hyperband",
        max_jobs=12,
        max_parallel=2,
        RandomSeed=0,
        static={"num_round": "27", "objective": "binary:logistic"},
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1}},
    )
    service, sim = run_simulated(request, bowl)
    assert service.get("tune1").status == "Completed"
    assert sim.stopped
    study = optuna.load_study(
        study_name="openmaker-tuning-tune1", storage=storage(service.store.url)
    )
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    assert len(pruned) == len(sim.stopped)
    assert sum(sim.progress.values()) < 12 * 27  # fewer rounds trained than without pruning


def test_grid_runs_each_combination_once(home) -> None:
    service, sim = run_simulated(
        tuning_request(strategy="Grid", max_jobs=None, ranges=GRID, RandomSeed=0), bowl
    )
    combos = {
        (c.hyperparameters["max_depth"], c.hyperparameters["eta"])
        for c in service.children("tune1")
    }
    assert len(sim.created) == 6 and len(combos) == 6
    assert service.get("tune1").status == "Completed"


def test_stop_stops_running_children_and_ends_stopped(home) -> None:
    store = open_store()

    def curve(hps: dict, step: int) -> float:
        if step == 3:
            store.tuning_jobs.update("tune1", status="Stopping", only_if_status=("InProgress",))
        return 0.8

    request = tuning_request(max_jobs=8, static={"num_round": "6", "objective": "binary:logistic"})
    service, sim = run_simulated(request, curve)
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    assert len(sim.created) == 2 and len(sim.stopped) == 2
    assert d["TrainingJobStatusCounters"]["Stopped"] == 2


def test_warm_start_adds_parent_trials_and_reports_the_overall_best(home) -> None:
    parent_service, _ = run_simulated(tuning_request(name="parent", max_jobs=4, RandomSeed=1), bowl)
    request = tuning_request(name="child", strategy="Bayesian", max_jobs=2, RandomSeed=2)
    request["WarmStartConfig"] = {
        "WarmStartType": "TransferLearning",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
    }
    service, _ = run_simulated(request, lambda hps, step: 0.1)  # the child's own runs are poor
    study = optuna.load_study(
        study_name="openmaker-tuning-child", storage=storage(service.store.url)
    )
    assert len(study.trials) == 4 + 2
    warm = [t for t in study.trials if t.user_attrs.get("warm_start")]
    assert len(warm) == 4
    d = service.describe("child")
    assert d["BestTrainingJob"]["TuningJobName"] == "child"
    assert d["OverallBestTrainingJob"]["TuningJobName"] == "parent"
    assert d["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
    assert (
        d["OverallBestTrainingJob"]["TrainingJobName"]
        == (parent_service.describe("parent")["BestTrainingJob"]["TrainingJobName"])
    )


def test_identical_data_warm_start_needs_the_same_data(home) -> None:
    run_simulated(tuning_request(name="parent", max_jobs=2), bowl)
    from openmaker.tuning.service import TuningJobService

    request = tuning_request(name="child", channels={"train": "/else/t.csv", "validation": "/v"})
    request["WarmStartConfig"] = {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
    }
    with pytest.raises(ValidationError, match="input data differ"):
        TuningJobService(recover=False).validate(request)


def test_list_tuning_jobs_and_delete(home) -> None:
    service, _ = run_simulated(tuning_request(name="alpha", max_jobs=2), bowl)
    run_simulated(tuning_request(name="beta", max_jobs=2), bowl)
    summaries, token = service.list()
    assert [s["HyperParameterTuningJobName"] for s in summaries] == ["alpha", "beta"]
    assert summaries[0]["Strategy"] == "Random"
    assert summaries[0]["TrainingJobStatusCounters"]["Completed"] == 2
    assert summaries[0]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 2
    assert token is None
    service.delete("alpha")
    assert [s["HyperParameterTuningJobName"] for s in service.list()[0]] == ["beta"]
    with pytest.raises(KeyError):
        optuna.load_study(study_name="openmaker-tuning-alpha", storage=storage(service.store.url))
    assert len(service.store.training_jobs.list()[0]) == 4  # the children stay, as in SageMaker
