"""Validation overlapped with the next epoch, and the prefetching batch reader.

Epoch ``e``'s validation runs in a thread while epoch ``e + 1`` trains, and an epoch begun
after the stopping point is abandoned: none of that may change the model or the metric lines.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from openmaker.algorithms.common import load_model_arrays, prefetch
from openmaker.algorithms.linear_learner import train as ll_train

from .conftest import Workspace

_METRIC = re.compile(r"#(quality_metric|early_stopping_criteria_metric|progress_metric).*")


def _metric_lines(log: str) -> list[str]:
    return [m.group(0) for m in _METRIC.finditer(log)]


@pytest.mark.parametrize("patience", [1, 3])
def test_overlap_and_abort_change_nothing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, patience: int
) -> None:
    hp = {"epochs": 12, "early_stopping_patience": patience, "early_stopping_tolerance": 0.05}
    monkeypatch.setattr(ll_train, "ABORT_CHECK_BATCHES", 1)  # look after every mini-batch
    fast, fast_log = ws.run("binary", **hp)
    real_fit = ll_train._fit

    def sequential(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["can_abort_epoch"] = False
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(ll_train, "_fit", sequential)
    slow, slow_log = ws.run("binary", **hp)
    assert "Early stop condition met" in fast_log
    assert _metric_lines(fast_log) == _metric_lines(slow_log)
    wa, ma = load_model_arrays(fast.model_dir)
    wb, mb = load_model_arrays(slow.model_dir)
    assert ma == mb
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key


def test_without_validation_the_train_loss_decides(ws: Workspace) -> None:
    _, log = ws.run("binary", validation=False, epochs=30, early_stopping_patience=1,
                    early_stopping_tolerance=0.5)  # fmt: skip
    assert "Early stop condition met" in log
    assert "criteria=loss" in log


def test_prefetch_keeps_order_and_raises_where_the_source_failed() -> None:
    def source() -> Iterator[int]:
        yield from range(10)
        raise ValueError("record 10 is bad")

    got: list[int] = []
    with pytest.raises(ValueError, match="record 10"):
        for item in prefetch(source(), depth=2):
            got.append(item)
    assert got == list(range(10))
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_prefetch_closed_early_stops_its_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(10**9)
        finally:
            closed.set()

    before = threading.active_count()
    gen = prefetch(source(), depth=2)
    assert [next(gen) for _ in range(5)] == [0, 1, 2, 3, 4]
    gen.close()
    assert closed.wait(5)
    assert threading.active_count() == before
