"""A two-node Ray cluster on this machine (head + a worker node, each with its own CPUs): a
two-host job spreads over both nodes; killing the worker node mid-job fails a job with a clear
reason instead of hanging it, and restarts a job that has a RetryStrategy."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from openmaker.jobs.service import TrainingJobService

from .multihost import request, write_parts
from .ray_cluster import RayCluster, ray_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    c = RayCluster()
    try:
        c.start_head(num_cpus=2)
        c.worker = c.add_node(num_cpus=2)  # type: ignore[attr-defined]
        yield c
    finally:
        c.stop()


def _nodes(jobs: TrainingJobService, name: str) -> set[str]:
    return {m.group(1) for line in jobs.logs(name) if (m := re.search(r"Ray node (\w+)", line))}


def test_a_lost_node_fails_a_job_or_restarts_it_under_retry_strategy(
    home: Path, tmp_path: Path, cluster: RayCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray_env(monkeypatch, cluster.address, cpus_per_host=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    data = write_parts(tmp_path / "train", np.column_stack([X[:, 0], X]), 2)
    chans = {"train": (data, "ShardedByS3Key")}
    jobs = TrainingJobService()
    jobs.create(request("doomed", "xgboost", {"num_round": "1000000", "max_depth": "2"},
                        chans, 2, max_runtime=300))  # fmt: skip
    retried = request("retried", "xgboost", {"num_round": "2000", "max_depth": "2"}, chans, 2)
    retried["RetryStrategy"] = {"MaximumRetryAttempts": 1}
    jobs.create(retried)
    try:
        deadline = time.monotonic() + 180
        for name in ("doomed", "retried"):
            while not any(line.startswith("[algo-2] [") for line in jobs.logs(name)):
                assert time.monotonic() < deadline, f"{name}: the hosts never started boosting"
                assert jobs.get(name).status == "InProgress", jobs.get(name).failure_reason
                time.sleep(0.3)
            assert len(_nodes(jobs, name)) == 2  # one host per node, like two instances

        cluster.kill_node(cluster.worker)  # type: ignore[attr-defined]

        doomed = jobs.wait("doomed", timeout=150)  # a TimeoutError here means it hung
        assert doomed.status == "Failed"
        assert doomed.failure_reason.startswith("PlatformError: host algo-")
        assert "was lost" in doomed.failure_reason
        restarted = jobs.wait("retried", timeout=300)
        assert restarted.status == "Completed", restarted.failure_reason
        steps = [t.status for t in restarted.secondary_status_transitions]
        assert "Restarting" in steps and steps[-1] == "Completed"
        assert any("Restarting the training job" in line for line in jobs.logs("retried"))
    finally:
        for name in ("doomed", "retried"):
            with contextlib.suppress(Exception):
                jobs.stop(name)
