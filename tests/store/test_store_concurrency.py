"""Many processes on one database: migrations, metric appends, transitions, compare-and-set."""

from __future__ import annotations

import itertools
import multiprocessing
import traceback
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from openmaker.store import MetricPoint, Store, TrainingJobRecord, open_store

from .conftest import T0

WORKERS = 4
BATCHES = 15
BATCH_SIZE = 20
OWN_STATUSES = ["Downloading", "Training", "Uploading", "Completed"]

_ctx = multiprocessing.get_context(
    "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
)


def _run(target: Any, args_per_worker: list[tuple[Any, ...]]) -> list[Any]:
    """Start one process per argument tuple behind a barrier; return their results in order."""
    barrier = _ctx.Barrier(len(args_per_worker))
    results = _ctx.Queue()
    procs = [
        _ctx.Process(target=_wrapped, args=(target, i, barrier, results, *args))
        for i, args in enumerate(args_per_worker)
    ]
    for proc in procs:
        proc.start()
    collected = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    errors = [r for r in collected if r[1] == "error"]
    assert not errors, errors[0][2]
    return [value for _, _, value in sorted(collected, key=lambda r: r[0])]


def _wrapped(target: Any, index: int, barrier: Any, results: Any, *args: Any) -> None:
    try:
        barrier.wait(timeout=30)
        results.put((index, "ok", target(index, *args)))
    except BaseException:
        results.put((index, "error", traceback.format_exc()))


def _open_and_count(_index: int, url: str) -> int:
    with open_store(url) as store:
        return len(store.training_jobs.list()[0])


def _write(index: int, url: str) -> str:
    own = f"own-{index}"
    with open_store(url) as store:
        jobs = store.training_jobs
        jobs.create(TrainingJobRecord(name=own, arn=own, algorithm="pca"))
        jobs.transition(own, "Starting", "Starting the training job.")
        for batch in range(BATCHES):
            points = [
                MetricPoint(
                    f"worker{index}:loss",
                    float(step),
                    T0 + timedelta(seconds=step),
                    step,
                )
                for step in range(batch * BATCH_SIZE, (batch + 1) * BATCH_SIZE)
            ]
            jobs.add_metrics("shared", points)
            jobs.transition("shared", "Training", f"worker {index} batch {batch}")
            if batch < len(OWN_STATUSES):
                status = OWN_STATUSES[batch]
                primary = "Completed" if status == "Completed" else None
                jobs.transition(own, status, f"{status}.", status=primary)
    return own


def _finish(index: int, url: str) -> bool:
    status = "Completed" if index % 2 else "Stopped"
    with open_store(url) as store:
        result = store.training_jobs.transition(
            "race", status, f"{status} by {index}", status=status, only_if_status=("InProgress",)
        )
    return result is not None


def test_concurrent_first_open_migrates_once(store_url: str) -> None:
    assert _run(_open_and_count, [(store_url,)] * WORKERS) == [0] * WORKERS
    with open_store(store_url) as store:
        assert store.training_jobs.list() == ([], None)


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    jobs = store.training_jobs
    jobs.create(TrainingJobRecord(name="shared", arn="shared", algorithm="xgboost"))
    jobs.transition("shared", "Starting", "Starting the training job.")
    owners = _run(_write, [(store.url,)] * WORKERS)

    series = jobs.metric_series("shared")
    assert len(series) == WORKERS * BATCHES * BATCH_SIZE
    counts = Counter(p.name for p in series)
    assert counts == {f"worker{i}:loss": BATCHES * BATCH_SIZE for i in range(WORKERS)}
    for i in range(WORKERS):
        steps = [p.step for p in jobs.metric_series("shared", f"worker{i}:loss")]
        assert steps == list(range(BATCHES * BATCH_SIZE))
    shared = jobs.get("shared")
    last_step = BATCHES * BATCH_SIZE - 1
    assert {p.name: p.step for p in shared.final_metrics} == {
        f"worker{i}:loss": last_step for i in range(WORKERS)
    }
    # Every worker's "Training" update went to the one open Training entry.
    assert [t.status for t in shared.secondary_status_transitions] == ["Starting", "Training"]
    assert shared.secondary_status_transitions[-1].end_time is None
    assert shared.secondary_status_transitions[-1].message.endswith(f"batch {BATCHES - 1}")

    for own in owners:
        record = jobs.get(own)
        assert record.status == "Completed"
        history = record.secondary_status_transitions
        assert [t.status for t in history] == ["Starting", *OWN_STATUSES]
        for before, after in itertools.pairwise(history):
            assert before.end_time == after.start_time


def test_compare_and_set_has_one_winner(store: Store) -> None:
    store.training_jobs.create(TrainingJobRecord(name="race", arn="race", algorithm="pca"))
    store.training_jobs.transition("race", "Training", "Training in progress.")
    wins = _run(_finish, [(store.url,)] * WORKERS)
    assert sum(wins) == 1
    record = store.training_jobs.get("race")
    winner = wins.index(True)
    assert record.status == ("Completed" if winner % 2 else "Stopped")
    assert [t.status for t in record.secondary_status_transitions] == [
        "Training",
        record.status,
    ]
    assert record.secondary_status_transitions[-1].message.endswith(f"by {winner}")


@pytest.mark.skipif(_ctx.get_start_method() != "fork", reason="needs fork")
def test_store_inherited_across_fork_reconnects(store: Store) -> None:
    store.training_jobs.create(TrainingJobRecord(name="forked", arn="forked", algorithm="pca"))
    store.training_jobs.get("forked")  # the parent now holds pooled connections

    def child(_index: int) -> int:
        store.training_jobs.add_metrics("forked", [MetricPoint("m", 1.0, T0)])
        return len(store.training_jobs.metric_series("forked"))

    assert _run(child, [()]) == [1]
    assert len(store.training_jobs.metric_series("forked")) == 1
