"""The warm algorithm process (``openmaker.jobs.warm``): started with the supervisor, handed
the host's environment when the job is ready, discarded when it would not be the same process
as a cold one, replaced by a cold one when it died, and gone when its supervisor is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openmaker.jobs import warm
from openmaker.jobs.runner import JobRunner
from openmaker.jobs.service import TrainingJobService
from openmaker.settings import get_settings
from openmaker.store import open_store


class Recorder:
    """A local executor that records what it was asked to start and starts nothing."""

    name = "local"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def submit(self, job_name: str, runner: str = "openmaker.jobs.runner", args: Any = ()) -> str:
        self.calls.append((job_name, runner, tuple(args)))
        return "recorded"

    def is_alive(self, handle: str) -> bool | None:
        return None


def _request(name: str, csv: dict[str, Path], **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "3", "objective": "reg:squarederror"},
        "InputDataConfig": [
            {"ChannelName": "train", "ContentType": "text/csv",
             "DataSource": {"S3DataSource": {"S3Uri": str(csv["train"])}}},
        ],
        **extra,
    }  # fmt: skip


def _run_supervisor(name: str, proc: Any) -> Any:
    """The supervisor's work, in this process, with ``proc`` as algo-1's warm process."""
    with open_store() as store:
        JobRunner(store, name, proc).run()
        return store.training_jobs.get(name)


def _create(name: str, csv: dict[str, Path], **extra: Any) -> tuple[Recorder, Any]:
    executor = Recorder()
    with open_store() as store:
        service = TrainingJobService(store, executor, recover=False)  # type: ignore[arg-type]
        service.create(_request(name, csv, **extra))
    job_dir = get_settings().jobs_dir / name
    job_dir.mkdir(parents=True, exist_ok=True)
    return executor, job_dir


def test_a_single_host_job_runs_in_the_warm_process(home: Path, regression_csv: dict) -> None:
    executor, job_dir = _create("warm-job", regression_csv)
    assert executor.calls == [("warm-job", "openmaker.jobs.warm", ("xgboost",))]
    proc = warm.start(job_dir, "xgboost")
    assert proc is not None
    rec = _run_supervisor("warm-job", proc)
    assert rec.status == "Completed", rec.failure_reason
    # it ran the job: it ended by itself (a discarded one is killed: -9)
    assert proc.returncode == 0
    log = (job_dir / "logs" / "algo-1.log").read_text()
    assert "Train matrix has 240 rows" in log


def test_a_job_with_its_own_environment_is_never_run_warm(home: Path, regression_csv: dict) -> None:
    executor, job_dir = _create("env-job", regression_csv, Environment={"MY_FLAG": "1"})
    assert executor.calls == [("env-job", "openmaker.jobs.runner", ())]
    proc = warm.start(job_dir, "xgboost")  # as if it had been started anyway
    assert proc is not None
    rec = _run_supervisor("env-job", proc)
    assert rec.status == "Completed", rec.failure_reason
    assert proc.returncode == -9  # discarded: a cold process ran the job


def test_a_warm_process_that_died_is_replaced_by_a_cold_one(
    home: Path, regression_csv: dict
) -> None:
    _, job_dir = _create("dead-warm", regression_csv)
    proc = warm.start(job_dir, "xgboost")
    assert proc is not None
    proc.kill()
    proc.wait(timeout=30)
    rec = _run_supervisor("dead-warm", proc)
    assert rec.status == "Completed", rec.failure_reason


def test_a_failing_warm_up_waits_and_the_job_reports_it(tmp_path: Path) -> None:
    import time

    proc = warm.start(tmp_path, "no-such-algorithm")
    assert proc is not None
    time.sleep(1.0)
    assert proc.poll() is None  # the failed import did not end it: it waits for its job
    assert warm.release(proc, {"PATH": "/usr/bin:/bin"}, tmp_path)
    assert proc.wait(timeout=60) != 0
    assert (tmp_path / "output" / "failure").read_text()  # run() met the error and reported it


def test_a_warm_process_whose_supervisor_is_gone_exits(tmp_path: Path) -> None:
    proc = warm.start(tmp_path, "xgboost")
    assert proc is not None and proc.stdin is not None
    proc.stdin.close()  # what the supervisor's exit does to the pipe
    assert proc.wait(timeout=60) == 0
    assert not (tmp_path / "output").exists()  # it ran nothing


@pytest.mark.parametrize("algorithm", ["xgboost", "kmeans"])
def test_preload_imports_the_training_code(algorithm: str) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from openmaker.jobs.entrypoint import preload; "
        f"preload({algorithm!r}); "
        "print('xgboost' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert out[0] == str(algorithm == "xgboost")
    assert out[1] == "False"  # XGBoost's preload leaves scikit-learn out
