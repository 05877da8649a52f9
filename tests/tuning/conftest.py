"""Tuning test helpers: small data, requests, and a simulated trainer.

``SimulatedTraining`` stands in for the training-job service inside the supervisor: it writes
real training-job records into the store, but instead of starting processes each ``get`` moves a
child one step on (one metric point of the objective), so a whole tuning job runs in-process in
a fraction of a second and the scenario (values, failures, slow trials) is scripted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.errors import ValidationError
from openmaker.store import MetricPoint, Store, TrainingJobRecord, open_store

from ..conftest import write_csv

Curve = Callable[[Mapping[str, str], int], float]


@pytest.fixture()
def binary_csv(tmp_path: Path) -> dict[str, Path]:
    """A tiny binary-classification problem: train.csv and validation.csv."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype("float32")
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=200) > 0).astype("float32")
    return {
        "train": write_csv(tmp_path / "data" / "train.csv", X[:150], y[:150]),
        "validation": write_csv(tmp_path / "data" / "validation.csv", X[150:], y[150:]),
    }


def tuning_request(
    name: str = "tune1",
    *,
    strategy: str = "Random",
    max_jobs: int = 4,
    max_parallel: int = 2,
    ranges: dict[str, Any] | None = None,
    static: dict[str, str] | None = None,
    objective: str = "validation:auc",
    objective_type: str = "Maximize",
    channels: dict[str, Path | str] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request for XGBoost (binary:logistic by default)."""
    channels = channels or {"train": "/nonexistent/train.csv", "validation": "/nonexistent/v.csv"}
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": max_parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    request = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": objective},
            "ResourceLimits": limits,
            "ParameterRanges": ranges
            if ranges is not None
            else {
                "ContinuousParameterRanges": [
                    {
                        "Name": "eta",
                        "MinValue": "0.05",
                        "MaxValue": "0.5",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5"}],
            },
            **config,
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            "StaticHyperParameters": static
            if static is not None
            else {"num_round": "5", "objective": "binary:logistic"},
            "InputDataConfig": [
                {
                    "ChannelName": ch,
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3Uri": str(uri)}},
                }
                for ch, uri in channels.items()
            ],
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
    return request


class SimulatedTraining:
    """The training-job service as the supervisor uses it, simulated (see module docstring).

    Args:
        store: where the child records go.
        curve: objective value of a child at a step (1-based) given its hyperparameters.
        steps: steps each child runs (from its ``num_round`` when ``None``).
        fail: children (by 1-based launch index) that fail.
        refuse: children whose creation is refused.
        metric: the objective metric's name.
    """

    def __init__(
        self,
        store: Store,
        curve: Curve,
        *,
        steps: int | None = None,
        fail: set[int] | None = None,
        refuse: set[int] | None = None,
        metric: str = "validation:auc",
    ) -> None:
        self.store = store
        self.curve = curve
        self.steps = steps
        self.fail = fail or set()
        self.refuse = refuse or set()
        self.metric = metric
        self.progress: dict[str, int] = {}
        self.index: dict[str, int] = {}
        self.stopped: list[str] = []
        self.created: list[str] = []
        self.launches = 0
        self.clock = datetime(2030, 1, 1, tzinfo=UTC)

    def _now(self) -> datetime:
        self.clock += timedelta(milliseconds=10)
        return self.clock

    def create(self, request: Mapping[str, Any]) -> TrainingJobRecord:
        self.launches += 1
        index = self.launches
        name = request["TrainingJobName"]
        if index in self.refuse:
            raise ValidationError(f"simulated refusal of {name}")
        now = self._now()
        rec = TrainingJobRecord(
            name=name,
            arn=f"arn:training-job/{name}",
            algorithm="xgboost",
            hyperparameters=dict(request["HyperParameters"]),
            tuning_job_arn=request["TuningJobArn"],
            creation_time=now,
            last_modified_time=now,
            training_start_time=now,
        )
        self.created.append(name)
        self.index[name] = index
        self.progress[name] = 0
        return self.store.training_jobs.create(rec)

    def get(self, name: str) -> TrainingJobRecord:
        rec = self.store.training_jobs.get(name)
        if rec.status == "Stopping":
            return self._end(name, "Stopped")
        if rec.status != "InProgress":
            return rec
        step = self.progress[name] + 1
        total = self.steps or int(rec.hyperparameters.get("num_round", "5"))
        if self.index[name] in self.fail:
            return self._end(name, "Failed", "AlgorithmError: simulated failure")
        value = self.curve(rec.hyperparameters, step)
        self.store.training_jobs.add_metrics(
            name, [MetricPoint(self.metric, value, self._now(), step - 1)]
        )
        self.progress[name] = step
        if step >= total:
            return self._end(name, "Completed")
        return self.store.training_jobs.get(name)

    def _end(self, name: str, status: str, reason: str | None = None) -> TrainingJobRecord:
        done = self.store.training_jobs.transition(
            name,
            status,
            f"Training job {status.lower()}",
            status=status,
            failure_reason=reason,
            training_end_time=self._now(),
        )
        assert done is not None
        return done

    def stop(self, name: str) -> TrainingJobRecord:
        rec = self.store.training_jobs.get(name)
        if rec.status != "InProgress":
            raise ValidationError(f"{name} is {rec.status}")
        self.stopped.append(name)
        done = self.store.training_jobs.transition(name, "Stopping", "Stopping", status="Stopping")
        assert done is not None
        return done

    def metrics(self, name: str, metric_name: str | None = None) -> list[MetricPoint]:
        return self.store.training_jobs.metric_series(name, metric_name)


def run_simulated(
    request: Mapping[str, Any], curve: Curve, **kwargs: Any
) -> tuple[Any, SimulatedTraining]:
    """Validate and record ``request`` as the service does, then run its supervisor in this
    process against a :class:`SimulatedTraining`. Returns (service, simulation)."""
    from openmaker.tuning.service import TuningJobService
    from openmaker.tuning.supervisor import TuningSupervisor

    class NoExecutor:
        name = "simulated"

        def submit(self, job_name: str, runner: str = "") -> str:
            return "simulated"

        def is_alive(self, handle: str) -> bool | None:
            return None

        def kill(self, handle: str) -> None:
            pass

    store = open_store()
    service = TuningJobService(store, NoExecutor(), recover=False)  # type: ignore[arg-type]
    service.create(request)
    sim = SimulatedTraining(store, curve, **kwargs)
    name = request["HyperParameterTuningJobName"]
    TuningSupervisor(store, name, sim, poll=0.0, prune_check=0.0).run()  # type: ignore[arg-type]
    return service, sim


def bowl(hps: Mapping[str, str], step: int) -> float:
    """An AUC-like objective that grows with steps, best near eta=0.2, max_depth=4."""
    eta = float(hps.get("eta", 0.2))
    depth = float(hps.get("max_depth", 4))
    quality = 1.0 - 0.5 * (math.log(eta / 0.2)) ** 2 - 0.02 * (depth - 4) ** 2
    return 0.5 + 0.45 * quality * (1 - math.exp(-step / 3))
