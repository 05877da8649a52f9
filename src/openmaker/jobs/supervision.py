"""Waiting on a supervised job (training, transform, tuning): one loop for all of them.

A job's supervisor runs detached; the caller polls the store until the job is terminal. If the
supervisor died without finishing (machine restart, kill), the job is settled by ``mark_lost``
instead of being waited on forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar


class _Record(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def last_modified_time(self) -> Any: ...

    @property
    def executor_handle(self) -> str | None: ...


R = TypeVar("R", bound=_Record)


def wait_until_terminal(
    get: Callable[[str], R],
    name: str,
    *,
    terminal: Collection[str],
    executor: Any,
    mark_lost: Callable[[R], object],
    what: str = "job",
    poll: float = 0.25,
    timeout: float | None = None,
    on_update: Callable[[R], None] | None = None,
    every_poll: bool = False,
    check_alive_every: float = 3.0,
) -> R:
    """Poll ``get(name)`` until its status is in ``terminal``; return the final record.

    Args:
        get: reads the current record.
        terminal: the statuses that end the wait.
        executor: where the supervisor runs (its ``is_alive(handle)`` is asked now and then).
        mark_lost: settles a job whose supervisor is gone.
        what: the kind of job, for the timeout message.
        on_update: called when the record changed (or on every poll with ``every_poll``).

    Raises:
        TimeoutError: still running after ``timeout`` seconds.
    """
    start = time.monotonic()
    checked = start
    last: Any = object()
    while True:
        rec = get(name)
        if on_update is not None and (every_poll or rec.last_modified_time != last):
            on_update(rec)
            last = rec.last_modified_time
        if rec.status in terminal:
            return rec
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} {name!r} still {rec.status} after {timeout}s")
        if time.monotonic() - checked > check_alive_every:
            checked = time.monotonic()
            if rec.executor_handle and executor.is_alive(rec.executor_handle) is False:
                # The supervisor may have just finished: read again before settling the job.
                time.sleep(poll)
                latest = get(name)
                if latest.status not in terminal:
                    mark_lost(latest)
        time.sleep(poll)
