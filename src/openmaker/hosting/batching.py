"""Micro-batching: the requests that reach a model while it is busy are predicted together.

A serving worker answers small requests on its event loop. Each request for a model that has
``predict_batch`` (:class:`openmaker.spec.algorithm.BatchModel`) joins the model's pending
list; the first one schedules a flush with ``loop.call_soon``, so the flush runs right after
the requests the loop is already handling have joined. At low load a batch is one request and
nothing waits. Under load, every request that arrived while the previous predict ran (the loop
was busy) joins the next batch: one ``predict_batch`` call answers them all, and its answers
are handed back per request. If the batch call raises (one bad request, say), the batch is
predicted again request by request, so every request gets its own answer or error.

Settings (environment of ``openmaker serve``):

* ``OPENMAKER_SERVE_MAX_BATCH`` (default 64): most requests in one batch; 1 turns batching off.
* ``OPENMAKER_SERVE_MAX_BATCH_DELAY_MS`` (default 1, 0-1000): how long a request may wait
  for company, and only under load: a request waits only when the model answered a batch of
  several requests less than ``HOT_WINDOW`` (5 ms) ago and fewer requests than that batch had
  are pending (closed-loop clients answered together come back together). At low load (the
  last batch was one request, or it is older than 5 ms) a request is predicted at once, so the
  delay never adds latency there. 0 turns the wait off entirely.

Requests above ``inline_bytes`` are predicted alone in a worker thread (a big request does not
stall the small ones); a batch whose bodies add up to more than ``inline_bytes`` is predicted
in a worker thread too, with the next batch collected meanwhile.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openmaker.errors import ValidationError

#: Bodies (of one request, or of a batch together) up to this size are predicted on the loop.
INLINE_PREDICT_BYTES = 64 * 1024
#: A batch stops growing once its bodies add up to this many bytes.
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: A model answered a batch of several requests less than this many seconds ago: it is under
#: load, and a new batch waits (at most ``max_delay``) for as many requests as the last one had.
HOT_WINDOW = 0.005

Answer = tuple[bytes, str]
_Item = tuple[bytes, str, "str | None", "asyncio.Future[Answer]"]


@dataclass(frozen=True)
class BatchSettings:
    """How a worker batches requests (see the module docstring).

    Attributes:
        max_batch: most requests per predict call (1: no batching).
        max_delay: seconds the first request of a batch may wait (0: none).
        inline_bytes: bodies up to this size are predicted on the event loop.
    """

    max_batch: int = 64
    max_delay: float = 0.001
    inline_bytes: int = INLINE_PREDICT_BYTES

    @classmethod
    def from_env(cls) -> BatchSettings:
        """Read ``OPENMAKER_SERVE_MAX_BATCH`` and ``OPENMAKER_SERVE_MAX_BATCH_DELAY_MS``.

        Raises:
            ValidationError: a value that is not a number in range.
        """
        raw_batch = os.environ.get("OPENMAKER_SERVE_MAX_BATCH", "64")
        raw_delay = os.environ.get("OPENMAKER_SERVE_MAX_BATCH_DELAY_MS", "1")
        try:
            max_batch = int(raw_batch)
            delay_ms = float(raw_delay)
        except ValueError:
            max_batch, delay_ms = 0, -1.0
        if max_batch < 1 or not 0 <= delay_ms <= 1000:
            raise ValidationError(
                "OPENMAKER_SERVE_MAX_BATCH must be an integer >= 1 and "
                "OPENMAKER_SERVE_MAX_BATCH_DELAY_MS a number of milliseconds 0-1000; got "
                f"{raw_batch!r} and {raw_delay!r}"
            )
        return cls(max_batch=max_batch, max_delay=delay_ms / 1000.0)


class MicroBatcher:
    """Batches the requests for one loaded model in one worker (build one per model).

    Args:
        model: anything with ``predict(body, content_type, accept)``; a
            :class:`~openmaker.serving.LoadedModel` whose model has ``predict_batch`` is
            batched, others are predicted request by request.
        settings: the batch limits.
    """

    def __init__(self, model: Any, settings: BatchSettings | None = None) -> None:
        self.model = model
        self.settings = settings or BatchSettings()
        inner = getattr(model, "model", model)
        batch_fn = getattr(inner, "predict_batch", None)
        self._batch_fn: Callable[[Sequence[tuple[bytes, str, str | None]]], list[Answer]] | None
        self._batch_fn = batch_fn if callable(batch_fn) and self.settings.max_batch > 1 else None
        self._pending: list[_Item] = []
        self._pending_bytes = 0
        self._handle: asyncio.Handle | None = None
        self._timed = False  # the scheduled flush is the delayed one
        self._busy = False  # a batch is being predicted in a worker thread
        self._last_size = 1  # requests in the last batch
        self._last_time = float("-inf")  # loop.time() when it was answered
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # predict_batch calls made (observability and tests)

    @property
    def batching(self) -> bool:
        """Whether requests for this model are batched."""
        return self._batch_fn is not None

    async def predict(self, body: bytes, content_type: str, accept: str | None) -> Answer:
        """Answer one request, batched with the others that are waiting.

        Raises:
            Exception: what the model's ``predict`` raised for this request.
        """
        return await self.submit(body, content_type, accept)

    def submit(self, body: bytes, content_type: str, accept: str | None) -> asyncio.Future[Answer]:
        """Start answering one request (on the event loop); the future gets the answer, or
        the exception the model's ``predict`` raised for this request."""
        loop = asyncio.get_running_loop()
        inline = self.settings.inline_bytes
        if self._batch_fn is None or len(body) > inline:
            if len(body) > inline:
                return asyncio.ensure_future(
                    asyncio.to_thread(self.model.predict, body, content_type, accept)
                )
            done: asyncio.Future[Answer] = loop.create_future()
            try:
                done.set_result(self.model.predict(body, content_type, accept))
            except Exception as exc:
                done.set_exception(exc)
            return done
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((body, content_type, accept, future))
        self._pending_bytes += len(body)
        if not self._busy:
            n = len(self._pending)
            # under load, wait (at most max_delay) for as many requests as the last batch had:
            # closed-loop clients answered together come back together
            hot = loop.time() - self._last_time < HOT_WINDOW
            if (
                n >= (self._last_size if hot else 1)
                or n >= self.settings.max_batch
                or self._pending_bytes >= MAX_BATCH_BYTES
                or self.settings.max_delay <= 0
            ):
                if self._handle is None or self._timed:
                    self._schedule(loop, 0.0)
            elif self._handle is None:
                self._schedule(loop, self.settings.max_delay)
        return future

    # --- flushing ----------------------------------------------------------------------------
    def _schedule(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._timed = delay > 0
        if self._timed:
            self._handle = loop.call_later(delay, self._flush)
        else:
            self._handle = loop.call_soon(self._flush)

    def _take(self) -> list[_Item]:
        pending = self._pending
        limit = self.settings.max_batch
        if len(pending) <= limit and self._pending_bytes <= MAX_BATCH_BYTES:
            items, self._pending, self._pending_bytes = pending, [], 0
        else:
            n = size = 0
            while n < min(limit, len(pending)) and (
                n == 0 or size + len(pending[n][0]) <= MAX_BATCH_BYTES
            ):
                size += len(pending[n][0])
                n += 1
            items = pending[:n]
            del pending[:n]
            self._pending_bytes -= size
        return [item for item in items if not item[3].done()]  # cancelled: nobody waits

    def _flush(self) -> None:
        self._handle = None
        items = self._take()
        loop = asyncio.get_running_loop()
        self._last_size = max(1, len(items))
        if items:
            if sum(len(item[0]) for item in items) <= self.settings.inline_bytes:
                _settle(items, self._compute(items))
            else:  # collect the next batch while this one is predicted
                self._busy = True
                self._task = loop.create_task(self._flush_in_thread(items))
                return
        self._last_time = loop.time()
        if self._pending:
            self._schedule(loop, 0.0)

    async def _flush_in_thread(self, items: list[_Item]) -> None:
        try:
            _settle(items, await asyncio.to_thread(self._compute, items))
        finally:
            self._busy = False
            loop = asyncio.get_running_loop()
            self._last_time = loop.time()
            if self._pending:
                self._schedule(loop, 0.0)

    def _compute(self, items: list[_Item]) -> list[tuple[bool, Any]]:
        """``(ok, answer or exception)`` per item; never raises."""
        if len(items) > 1 and self._batch_fn is not None:
            try:
                answers = self._batch_fn(
                    [(body, ctype, accept) for body, ctype, accept, _ in items]
                )
            except Exception:  # predicted one by one below: each request gets its own error
                answers = []
            if len(answers) == len(items):
                self.batches += 1
                return [(True, answer) for answer in answers]
        outcomes: list[tuple[bool, Any]] = []
        for body, content_type, accept, _ in items:
            try:
                outcomes.append((True, self.model.predict(body, content_type, accept)))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes


def _settle(items: list[_Item], outcomes: list[tuple[bool, Any]]) -> None:
    for (_, _, _, future), (ok, value) in zip(items, outcomes, strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
