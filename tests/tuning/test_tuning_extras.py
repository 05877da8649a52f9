"""Runtime limit, orphan recovery, the plot, and the SDK-like range classes."""

from __future__ import annotations

import time

import pytest

from openmaker import Estimator, HyperparameterTuner
from openmaker.errors import ValidationError
from openmaker.store import open_store
from openmaker.tuning import validation
from openmaker.tuning.api import CategoricalParameter, ContinuousParameter, IntegerParameter
from openmaker.tuning.plot import best_so_far, write_plot
from openmaker.tuning.service import TuningJobService

from .conftest import run_simulated, tuning_request


def test_max_runtime_ends_the_tuning_job_and_stops_its_children(home, monkeypatch) -> None:
    monkeypatch.setattr(validation, "MIN_RUNTIME", 1)
    request = tuning_request(
        max_jobs=50, static={"num_round": "1000", "objective": "binary:logistic"}
    )
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 1

    def slow(hps: dict, step: int) -> float:
        time.sleep(0.01)
        return 0.7

    service, sim = run_simulated(request, slow)
    d = service.describe("tune1")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert len(sim.created) == 2 and sorted(sim.stopped) == sorted(sim.created)
    assert d["ConsumedResources"]["RuntimeInSeconds"] >= 1


def test_a_tuning_job_whose_supervisor_died_is_marked_failed(home) -> None:
    class DeadExecutor:
        name = "dead"

        def submit(self, job_name: str, runner: str = "") -> str:
            return "gone"

        def is_alive(self, handle: str) -> bool | None:
            return False

        def kill(self, handle: str) -> None:
            pass

    store = open_store()
    service = TuningJobService(store, DeadExecutor(), recover=False)  # type: ignore[arg-type]
    service.create(tuning_request())
    assert service.get("tune1").status == "InProgress"
    assert service.recover_orphans() == ["tune1"]
    rec = service.get("tune1")
    assert rec.status == "Failed" and rec.failure_reason.startswith("PlatformError")


def test_plot_html_and_png(tmp_path) -> None:
    assert best_so_far([0.5, None, 0.4, 0.6], maximize=False) == [0.5, 0.5, 0.4, 0.4]
    html = write_plot(
        tmp_path / "p.html", [0.5, None, 0.7], metric="validation:auc", maximize=True, title="t <1>"
    )
    text = html.read_text()
    assert "<svg" in text and "t &lt;1&gt;" in text and "trial 3: 0.7" in text
    pytest.importorskip("matplotlib")
    png = write_plot(tmp_path / "p.png", [0.5, 0.7], metric="m", maximize=True, title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValidationError, match=r"\.html or \.png"):
        write_plot(tmp_path / "p.svg", [0.5], metric="m", maximize=True, title="t")


def test_tuner_builds_sagemakers_request() -> None:
    tuner = HyperparameterTuner(
        Estimator("xgboost", {"num_round": 10, "objective": "binary:logistic", "eta": 0.3}),
        "validation:logloss",
        {
            "eta": ContinuousParameter(0.01, 0.2),
            "max_depth": IntegerParameter(2, 5, "Linear"),
            "booster": CategoricalParameter(["gbtree", "dart"]),
        },
        max_jobs=6,
        max_parallel_jobs=2,
        strategy="Hyperband",
        random_seed=3,
        max_number_of_training_jobs_not_improving=4,
    )
    req = tuner.create_request({"train": "t.csv", "validation": "v.csv"}, job_name="req")
    config = req["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:logloss",
    }
    assert config["ResourceLimits"] == {"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": 6}
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "2", "MaxValue": "5", "ScalingType": "Linear"}
    ]
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "booster", "Values": ["gbtree", "dart"]}
    ]
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {}}
    static = req["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static == {"num_round": "10", "objective": "binary:logistic"}  # eta is searched
    checked = validation.validate_request(req)
    assert checked.settings.max_resource == 10
    assert checked.settings.max_not_improving == 4


def test_only_the_steps_the_pruner_needs_are_reported() -> None:
    from openmaker.tuning.supervisor import reported_steps

    points = [(s, 1.0 / s) for s in range(1, 301)]
    assert reported_steps(points, latest_only=True) == [(300, 1.0 / 300)]
    steps = [s for s, _ in reported_steps(points, latest_only=False)]
    assert steps[:10] == list(range(1, 11)) and 20 in steps and 15 not in steps
    assert 150 in steps and 120 not in steps and steps[-1] == 300
    assert reported_steps([], latest_only=True) == []
