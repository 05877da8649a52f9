"""The ray executor on a local Ray cluster (one ``ray start --head`` node, 2 CPUs).

Ray starts slowly on 2 cores, so this module shares one cluster and keeps to a few jobs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from openmaker.executors.local import LocalExecutor
from openmaker.jobs.service import TrainingJobService

from .multihost import request, write_parts, xgboost_predictions
from .ray_cluster import RayCluster, ray_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    c = RayCluster()
    try:
        c.start_head(num_cpus=2)
        yield c
    finally:
        c.stop()


@pytest.fixture()
def on_ray(home: Path, cluster: RayCluster, monkeypatch: pytest.MonkeyPatch) -> RayCluster:
    ray_env(monkeypatch, cluster.address)
    return cluster


@pytest.fixture()
def regression(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 4))
    y = X @ rng.normal(size=4) + 0.1 * rng.normal(size=800)
    return write_parts(tmp_path / "train", np.column_stack([y, X]), 4), X


def test_a_two_host_job_on_ray_gives_the_local_model(on_ray, regression) -> None:
    data, X = regression
    hp = {"num_round": "10", "max_depth": "3", "objective": "reg:squarederror"}
    ray_jobs = TrainingJobService()
    assert ray_jobs.executor.name == "ray"
    ray_jobs.create(request("on-ray", "xgboost", hp, {"train": (data, "ShardedByS3Key")}, 2))
    rec = ray_jobs.wait("on-ray", timeout=240)
    assert rec.status == "Completed", rec.failure_reason
    assert rec.executor == "ray"
    lines = list(ray_jobs.logs("on-ray"))
    assert any("algo-2 runs on Ray node" in line for line in lines)
    assert any(line.startswith("[algo-2] [9]\ttrain-rmse:") for line in lines)
    assert [p.step for p in ray_jobs.metrics("on-ray", "train:rmse")] == list(range(10))

    local = TrainingJobService(executor=LocalExecutor())
    local.create(request("on-local", "xgboost", hp, {"train": (data, "FullyReplicated")}, 1))
    ref = local.wait("on-local", timeout=120)
    assert ref.status == "Completed", ref.failure_reason
    ours = xgboost_predictions(rec.model_artifacts, X[:40])
    theirs = xgboost_predictions(ref.model_artifacts, X[:40])
    assert np.abs(ours - theirs).max() < 1e-3 * np.abs(theirs).max()


def test_stop_and_max_runtime_end_ray_jobs(on_ray, regression) -> None:
    data, _ = regression
    hp = {"num_round": "1000000", "max_depth": "2"}
    jobs = TrainingJobService()
    chans = {"train": (data, "ShardedByS3Key")}
    jobs.create(request("ray-stop", "xgboost", hp, chans, 1))
    jobs.create(request("ray-timeout", "xgboost", hp, chans, 1, max_runtime=20))
    deadline = time.monotonic() + 180
    while not any(line.startswith("[") and "train-rmse" in line for line in jobs.logs("ray-stop")):
        assert time.monotonic() < deadline, "the job never started boosting"
        time.sleep(0.5)
    jobs.stop("ray-stop")
    stopped = jobs.wait("ray-stop", timeout=120)
    assert stopped.status == "Stopped" and stopped.secondary_status == "Stopped"
    timed_out = jobs.wait("ray-timeout", timeout=240)
    assert timed_out.status == "Stopped"
    assert timed_out.secondary_status == "MaxRuntimeExceeded"


def test_a_job_larger_than_the_cluster_fails_at_once(on_ray, regression) -> None:
    data, _ = regression
    jobs = TrainingJobService()
    hp = {"num_round": "2"}
    jobs.create(request("too-big", "xgboost", hp, {"train": (data, "ShardedByS3Key")}, 3))
    rec = jobs.wait("too-big", timeout=120)
    assert rec.status == "Failed"
    assert "need 3 CPU but the Ray cluster has 2" in rec.failure_reason


def test_tuning_trials_run_concurrently_on_the_cluster(on_ray, tmp_path) -> None:
    from openmaker.tuning.service import TuningJobService

    from ..conftest import write_csv
    from ..tuning.conftest import tuning_request

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype("float32")
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype("float32")
    channels = {
        "train": write_csv(tmp_path / "t" / "train.csv", X[:150], y[:150]),
        "validation": write_csv(tmp_path / "t" / "validation.csv", X[150:], y[150:]),
    }
    tuning = TuningJobService()
    assert tuning.executor.name == "ray"
    tuning.create(tuning_request("ray-tune", max_jobs=2, max_parallel=2, channels=channels))
    rec = tuning.wait("ray-tune", timeout=300)
    assert rec.status == "Completed", rec.failure_reason
    children, _ = TrainingJobService().list()
    assert len(children) == 2
    assert all(c.executor == "ray" and c.status == "Completed" for c in children)
    first, second = sorted(children, key=lambda c: c.training_start_time)
    # both trials held their Ray host at the same time (MaxParallelTrainingJobs = 2)
    assert second.training_start_time < first.training_end_time


def test_batch_transform_across_the_cluster(on_ray, tmp_path, regression) -> None:
    from openmaker.hosting.models import ModelService
    from openmaker.transform.service import TransformJobService

    data, X = regression
    jobs = TrainingJobService(executor=LocalExecutor())
    hp = {"num_round": "5", "max_depth": "2"}
    jobs.create(request("for-transform", "xgboost", hp, {"train": (data, "FullyReplicated")}, 1))
    model_data = jobs.wait("for-transform", timeout=120).model_artifacts
    ModelService().create(
        {"ModelName": "m", "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": model_data}}
    )
    src = tmp_path / "batch"
    for i in range(3):
        write_parts(src / f"f{i}", X[i * 100 : (i + 1) * 100], 1)

    def transform(name: str, service: TransformJobService, out: Path) -> object:
        service.create(
            {
                "TransformJobName": name,
                "ModelName": "m",
                "MaxConcurrentTransforms": 2,
                "TransformInput": {
                    "DataSource": {"S3DataSource": {"S3Uri": str(src)}},
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                },
                "TransformOutput": {"S3OutputPath": str(out), "AssembleWith": "Line"},
            }
        )
        return service.wait(name, timeout=240)

    rec = transform("on-ray", TransformJobService(), tmp_path / "out-ray")
    assert rec.status == "Completed", rec.failure_reason
    assert rec.progress["FilesDone"] == 3 and rec.progress["RecordsDone"] == 300
    assert any("on Ray with 2 actor(s)" in line for line in TransformJobService().logs("on-ray"))
    local = transform("local", TransformJobService(executor=LocalExecutor()), tmp_path / "out")
    assert local.status == "Completed", local.failure_reason
    for i in range(3):
        ours = (tmp_path / "out-ray" / f"f{i}" / "part-0.csv.out").read_bytes()
        assert ours == (tmp_path / "out" / f"f{i}" / "part-0.csv.out").read_bytes()
