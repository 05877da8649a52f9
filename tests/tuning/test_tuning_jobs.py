"""Tuning jobs end to end: real XGBoost children through the executor, the Python API, the CLI."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from openmaker import Estimator, HyperparameterTuner
from openmaker.cli.main import cli
from openmaker.errors import ValidationError
from openmaker.jobs.service import TrainingJobService
from openmaker.tuning.api import CategoricalParameter, ContinuousParameter, IntegerParameter

STATIC = {"num_round": "5", "objective": "binary:logistic", "seed": "1"}


def _inputs(binary_csv) -> dict[str, str]:
    return {"train": str(binary_csv["train"]), "validation": str(binary_csv["validation"])}


def test_tuner_fit_best_job_analytics(home, binary_csv) -> None:
    tuner = HyperparameterTuner(
        Estimator("xgboost", STATIC),
        "validation:auc",
        {
            "eta": ContinuousParameter(0.05, 0.5, "Logarithmic"),
            "max_depth": IntegerParameter(2, 4),
            "booster": CategoricalParameter(["gbtree", "dart"]),
        },
        max_jobs=3,
        max_parallel_jobs=2,
        random_seed=0,
    )
    assert tuner.objective_type == "Maximize"  # the direction the algorithm declares
    tuner.fit(_inputs(binary_csv), content_type="text/csv", job_name="e2e")
    d = tuner.describe()
    assert d["HyperParameterTuningJobStatus"] == "Completed", d.get("FailureReason")
    assert d["TrainingJobStatusCounters"]["Completed"] == 3
    assert d["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] == (
        "validation:auc"
    )
    best = tuner.best_training_job()
    assert best == d["BestTrainingJob"]["TrainingJobName"]
    # children are ordinary training jobs, listed with the others
    jobs, _ = TrainingJobService().list()
    assert len(jobs) == 3
    for job in jobs:
        assert job.tuning_job_arn == d["HyperParameterTuningJobArn"]
        assert job.hyperparameters["_tuning_objective_metric"] == "validation:auc"
        assert job.model_artifacts
    frame = tuner.analytics()
    assert set(frame.columns[:3]) == {"eta", "max_depth", "booster"}
    assert len(frame) == 3 and frame.FinalObjectiveValue.notna().all()
    assert frame.FinalObjectiveValue.max() == pytest.approx(
        d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    )
    assert (frame.TrainingElapsedTimeSeconds > 0).all()
    assert tuner.best_estimator().model_data.endswith("model.tar.gz")
    attached = HyperparameterTuner.attach("e2e")
    assert attached.best_training_job() == best and attached.max_jobs == 3


def test_bad_range_is_refused_before_anything_starts(home, binary_csv) -> None:
    tuner = HyperparameterTuner(
        Estimator("xgboost", STATIC),
        "validation:auc",
        {"eta": ContinuousParameter(0.0, 0.5, "Logarithmic")},
        max_jobs=2,
    )
    with pytest.raises(ValidationError, match="Logarithmic scaling needs values greater than 0"):
        tuner.fit(_inputs(binary_csv), content_type="text/csv")
    assert tuner.latest_tuning_job is None


def test_stop_stops_the_running_children(home, binary_csv) -> None:
    tuner = HyperparameterTuner(
        Estimator("xgboost", {**STATIC, "num_round": "3000"}),
        "validation:auc",
        {"max_depth": IntegerParameter(2, 4)},
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(_inputs(binary_csv), content_type="text/csv", job_name="tostop", wait=False)
    training = TrainingJobService()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = tuner.service.children("tostop")
        if len(children) == 2 and all(c.secondary_status == "Training" for c in children):
            break
        time.sleep(0.2)
    tuner.stop()
    tuner.wait(timeout=60)
    d = tuner.describe()
    assert d["HyperParameterTuningJobStatus"] == "Stopped"
    children = tuner.service.children("tostop")
    assert len(children) == 2
    assert {training.get(c.name).status for c in children} <= {"Stopped", "Completed"}
    with pytest.raises(ValidationError, match="cannot be stopped"):
        tuner.stop()


def test_cli_tune_trials_describe_and_plot(home, binary_csv, tmp_path) -> None:
    plot = tmp_path / "trials.html"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "tune",
            "xgboost",
            "-c",
            f"train={binary_csv['train']}",
            "-c",
            f"validation={binary_csv['validation']}",
            "--content-type",
            "text/csv",
            "--objective",
            "validation:auc",
            "--range",
            "eta=0.05:0.5:Logarithmic",
            "--range",
            "booster=gbtree,dart",
            "--static",
            "num_round=5",
            "--static",
            "objective=binary:logistic",
            "--max-jobs",
            "2",
            "--max-parallel",
            "2",
            "--strategy",
            "Random",
            "--job-name",
            "clitune",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "clitune: Completed" in result.output and "Best: clitune-00" in result.output
    assert "<svg" in plot.read_text()
    trials = runner.invoke(cli, ["tuning", "trials", "clitune", "--sort-by-objective"])
    assert trials.exit_code == 0 and "clitune-001" in trials.output
    listed = runner.invoke(cli, ["tuning", "list"])
    assert "clitune" in listed.output and "Completed" in listed.output
    described = runner.invoke(cli, ["tuning", "describe", "clitune"])
    assert '"BestTrainingJob"' in described.output
    bad = runner.invoke(
        cli,
        [
            "tune",
            "xgboost",
            "-c",
            f"train={binary_csv['train']}",
            "--objective",
            "validation:auc",
            "--range",
            "depth=2:4",
            "--static",
            "num_round=5",
        ],
    )
    assert bad.exit_code != 0
