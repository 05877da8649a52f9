"""Standby supervisors (``openmaker.executors.standby``): the next local job of an algorithm
is handed to a process that has done its imports, only when its environment is the same;
a standby that is dead, idle too long or orphaned is not used and does not linger."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from openmaker import Estimator
from openmaker.executors.standby import StandbyPool, standby_pool

HP = {"objective": "binary:logistic", "num_round": "5", "eval_metric": "auc", "seed": "3"}


@pytest.fixture()
def train_csv(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(float)
    path = tmp_path / "train.csv"
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.6g")
    return str(path)


@pytest.fixture()
def standbys_on(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandbyPool]:
    monkeypatch.setenv("OPENMAKER_STANDBY_SECONDS", "60")
    pool = standby_pool()
    pool.close()
    yield pool
    pool.close()


def _fit(train_csv: str) -> tuple[dict, int]:
    job = Estimator("xgboost", HP).fit({"train": train_csv}, content_type="text/csv")
    described = job.describe()
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    from openmaker.store import open_store

    with open_store() as store:
        handle = store.training_jobs.get(described["TrainingJobName"]).executor_handle
    return described, int(handle.split(":")[1])


def _standby_after_job(pool: StandbyPool, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = pool.standbys()
        if ready:
            return ready[0].pid
        time.sleep(0.05)
    raise AssertionError("no standby was started after the job")


def test_the_next_job_runs_in_the_standby_and_trains_the_same_model(
    standbys_on: StandbyPool, train_csv: str
) -> None:
    first, first_pid = _fit(train_csv)
    standby_pid = _standby_after_job(standbys_on)
    assert standby_pid != first_pid
    second, second_pid = _fit(train_csv)
    assert second_pid == standby_pid  # the job went to the standby

    def values(job: dict) -> dict:
        return {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}

    assert values(second) == values(first)
    from openmaker.settings import get_settings

    assert (get_settings().jobs_dir / second["TrainingJobName"] / "runner.log").exists()
    assert _standby_after_job(standbys_on) not in (standby_pid, first_pid)  # and one more


def test_a_job_with_another_environment_starts_cold(
    standbys_on: StandbyPool, train_csv: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fit(train_csv)
    standby_pid = _standby_after_job(standbys_on)
    monkeypatch.setenv("SOME_SETTING_THE_JOB_SEES", "1")
    _, pid = _fit(train_csv)
    assert pid != standby_pid
    assert psutil.pid_exists(standby_pid)  # left waiting for a job like its own


def test_a_dead_standby_is_replaced_by_a_cold_start(
    standbys_on: StandbyPool, train_csv: str
) -> None:
    _fit(train_csv)
    standby_pid = _standby_after_job(standbys_on)
    proc = standbys_on.standbys()[0]
    proc.kill()
    proc.wait(timeout=30)
    _, pid = _fit(train_csv)
    assert pid != standby_pid


def test_an_idle_standby_exits_with_its_warm_process(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("OPENMAKER_STANDBY_SECONDS", "2")
    pool = StandbyPool()
    proc = pool.start("xgboost", dict(os.environ))
    assert proc is not None
    time.sleep(1.0)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children  # its warm algorithm process
    assert proc.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive
    assert pool.standbys() == []


def test_a_standby_whose_parent_is_gone_exits(home: Path) -> None:
    code = (
        "import os, sys\n"
        "from openmaker.executors.standby import StandbyPool\n"
        "env = dict(os.environ, OPENMAKER_STANDBY_SECONDS='600')\n"
        "p = StandbyPool().start('xgboost', env)\n"
        "print(p.pid, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the standby outlived the process that started it")


def test_no_standby_when_turned_off(home: Path, train_csv: str) -> None:
    pool = standby_pool()
    pool.close()
    _fit(train_csv)  # OPENMAKER_STANDBY_SECONDS=0 in the suite's conftest
    time.sleep(1.0)
    assert pool.standbys() == []


def _children_within(pid: int, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children()
        if children:
            return children
        time.sleep(0.05)
    return []


def test_the_warm_up_runs_at_the_lowest_priority_and_nothing_else_does() -> None:
    import os
    import threading

    from openmaker.jobs import warm

    seen: list[int] = []
    warm.in_background(
        lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    ).join()
    assert seen == [19]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0
    warm.in_background(lambda: 1 / 0).join()  # an error is left for the job to meet


def test_a_standby_and_its_warm_process_run_jobs_at_normal_priority(
    standbys_on: StandbyPool, train_csv: str
) -> None:
    _fit(train_csv)
    standby = psutil.Process(_standby_after_job(standbys_on))
    children = _children_within(standby.pid, 30)
    assert children
    assert [p.nice() for p in [standby, *children]] == [0] * (1 + len(children))
    _, pid = _fit(train_csv)
    assert pid == standby.pid


def test_a_job_handed_to_a_standby_still_warming_up_runs(
    standbys_on: StandbyPool, train_csv: str
) -> None:
    import os

    from openmaker.executors.local import LocalExecutor

    home_path = Path(os.environ["OPENMAKER_HOME"])
    env = dict(os.environ)
    env.update(
        OPENMAKER_HOME=str(home_path),
        OPENMAKER_DATABASE_URL=f"sqlite:///{home_path / 'openmaker.db'}",
        **LocalExecutor().environment(),
    )
    standby = standbys_on.start("xgboost", env)
    assert standby is not None
    _, pid = _fit(train_csv)  # at once: its interpreter has barely started
    assert pid == standby.pid


def test_the_next_standby_starts_when_the_job_has_ended_not_before(
    standbys_on: StandbyPool, train_csv: str
) -> None:
    from openmaker.jobs.service import TrainingJobService

    est = Estimator("xgboost", HP)
    request = est.create_request({"train": train_csv}, content_type="text/csv")
    service = TrainingJobService()
    record = service.create(request)
    assert standbys_on.standbys() == []  # its interpreters would slow this job's start
    service.wait(record.name, timeout=120)
    assert service.describe(record.name)["TrainingJobStatus"] == "Completed"
    assert _standby_after_job(standbys_on)


def test_close_also_cancels_the_standbys_promised_to_running_jobs(home: Path) -> None:
    import os

    pool = StandbyPool()
    read_end, write_end = os.pipe()
    pool.start_when_ended(read_end, "xgboost", dict(os.environ, OPENMAKER_STANDBY_SECONDS="60"))
    pool.close()
    os.close(write_end)  # the job's supervisor exits
    time.sleep(1.0)
    assert pool.standbys() == []
