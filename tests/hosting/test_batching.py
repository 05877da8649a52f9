"""Micro-batching: concurrent requests for a model are answered by one ``predict_batch`` call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from openmaker.errors import DataFormatError, ValidationError
from openmaker.hosting.app import HostingApp
from openmaker.hosting.batching import BatchSettings, MicroBatcher

from .conftest import deploy

Request = tuple[bytes, str, str | None]


class Echo:
    """A row-wise model: answers a body upper-cased; a body starting with ``bad`` is refused."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []
        self.single_calls = 0

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        self.single_calls += 1
        return self._answer(body, accept)

    def predict_batch(self, requests: Sequence[Request]) -> list[tuple[bytes, str]]:
        self.batch_sizes.append(len(requests))
        return [self._answer(body, accept) for body, _, accept in requests]  # any bad one raises

    @staticmethod
    def _answer(body: bytes, accept: str | None) -> tuple[bytes, str]:
        if body.startswith(b"bad"):
            raise DataFormatError(f"cannot read {body.decode()}")
        return body.upper(), accept or "text/plain"


class EchoWithoutBatch:
    """A model with only ``predict``."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        self.calls += 1
        return body.upper(), "text/plain"


def _gather(batcher: MicroBatcher, bodies: list[bytes], accept: str | None = None) -> list[Any]:
    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                *(batcher.predict(b, "text/plain", accept) for b in bodies),
                return_exceptions=True,
            )
        )

    return asyncio.run(run())


def test_concurrent_requests_share_one_call_and_get_their_own_answers() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=64))
    bodies = [f"row-{i}".encode() for i in range(20)]
    answers = _gather(batcher, bodies, accept="x/y")
    assert answers == [(b.upper(), "x/y") for b in bodies]
    assert model.batch_sizes == [20] and model.single_calls == 0
    assert batcher.batching and batcher.batches == 1


def test_max_batch_caps_the_batch_size() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=4))
    bodies = [f"r{i}".encode() for i in range(10)]
    answers = _gather(batcher, bodies)
    assert [a[0] for a in answers] == [b.upper() for b in bodies]
    assert sum(model.batch_sizes) + model.single_calls == 10
    assert model.batch_sizes and max(model.batch_sizes) <= 4


def test_one_bad_request_gets_its_own_error_and_the_others_succeed() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=64))
    bodies = [b"a", b"b", b"bad-c", b"d", b"bad-e", b"f"]
    answers = _gather(batcher, bodies)
    for body, answer in zip(bodies, answers, strict=True):
        if body.startswith(b"bad"):
            assert isinstance(answer, DataFormatError)
            assert body.decode() in str(answer)  # its own error, not a neighbour's
        else:
            assert answer == (body.upper(), "text/plain")
    assert model.batch_sizes == [6]  # tried together, then one by one
    assert model.single_calls == 6 and batcher.batches == 0


def test_max_batch_1_turns_batching_off() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=1))
    assert not batcher.batching
    bodies = [f"r{i}".encode() for i in range(5)]
    assert [a[0] for a in _gather(batcher, bodies)] == [b.upper() for b in bodies]
    assert model.batch_sizes == [] and model.single_calls == 5


def test_a_model_without_predict_batch_is_predicted_request_by_request() -> None:
    model = EchoWithoutBatch()
    batcher = MicroBatcher(model)
    assert not batcher.batching
    assert [a[0] for a in _gather(batcher, [b"x", b"y", b"z"])] == [b"X", b"Y", b"Z"]
    assert model.calls == 3


def test_a_lone_request_never_waits_for_company() -> None:
    # a delay far longer than the test: a lone request that waited for it would time out
    batcher = MicroBatcher(Echo(), BatchSettings(max_batch=64, max_delay=3600.0))

    async def run() -> tuple[bytes, str]:
        return await asyncio.wait_for(batcher.predict(b"alone", "text/plain", None), 30)

    assert asyncio.run(run()) == (b"ALONE", "text/plain")


def test_under_load_a_smaller_batch_still_goes_after_the_delay() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=64, max_delay=0.01))

    async def run() -> list[Any]:
        first = await asyncio.gather(*(batcher.predict(b"p%d" % i, "t", None) for i in range(4)))
        # right after a batch of 4: a request that comes alone waits at most max_delay
        second = await asyncio.wait_for(batcher.predict(b"late", "t", None), 30)
        return [*first, second]

    answers = asyncio.run(run())
    assert [a[0] for a in answers] == [b"P0", b"P1", b"P2", b"P3", b"LATE"]
    assert model.batch_sizes == [4]


def test_big_requests_and_big_batches_are_predicted_in_a_thread() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=64, inline_bytes=40))
    bodies = [b"x" * 100, *(b"s%02d-" % i * 3 for i in range(10))]  # 1 big, 10 x 12 bytes
    answers = _gather(batcher, bodies)
    assert [a[0] for a in answers] == [b.upper() for b in bodies]
    assert model.single_calls >= 1  # the big one, alone
    assert sum(model.batch_sizes) == 10  # the small ones (120 bytes together) in a thread


def test_a_cancelled_request_is_left_out_of_the_batch() -> None:
    model = Echo()
    batcher = MicroBatcher(model, BatchSettings(max_batch=64))

    async def run() -> list[Any]:
        tasks = [asyncio.create_task(batcher.predict(b, "t", None)) for b in (b"a", b"b", b"c")]
        await asyncio.sleep(0)  # all three are queued, the flush is not run yet
        tasks[1].cancel()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    a, b, c = asyncio.run(run())
    assert a[0] == b"A" and c[0] == b"C" and isinstance(b, asyncio.CancelledError)
    assert model.batch_sizes == [2]


# --- settings ----------------------------------------------------------------------------------
def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENMAKER_SERVE_MAX_BATCH", raising=False)
    monkeypatch.delenv("OPENMAKER_SERVE_MAX_BATCH_DELAY_MS", raising=False)
    assert BatchSettings.from_env() == BatchSettings(max_batch=64, max_delay=0.001)
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH", "8")
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH_DELAY_MS", "2.5")
    assert BatchSettings.from_env() == BatchSettings(max_batch=8, max_delay=0.0025)
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH", "1")
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH_DELAY_MS", "0")
    assert BatchSettings.from_env() == BatchSettings(max_batch=1, max_delay=0.0)


@pytest.mark.parametrize(
    ("batch", "delay"), [("0", "1"), ("-3", "1"), ("many", "1"), ("4.5", "1"),
                         ("8", "-1"), ("8", "5000"), ("8", "soon")],
)  # fmt: skip
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, batch: str, delay: str) -> None:
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH", batch)
    monkeypatch.setenv("OPENMAKER_SERVE_MAX_BATCH_DELAY_MS", delay)
    with pytest.raises(ValidationError, match="OPENMAKER_SERVE_MAX_BATCH"):
        BatchSettings.from_env()


# --- a real model, through the app --------------------------------------------------------------
ROWS = np.random.default_rng(3).normal(size=(12, 4)).round(3)


def _csv(row: np.ndarray) -> bytes:
    return ",".join(str(v) for v in row).encode()


def test_xgboost_batch_answers_match_single_predictions(model_uri: str) -> None:
    from openmaker.serving import load_model

    model = load_model(model_uri)
    batcher = MicroBatcher(model, BatchSettings(max_batch=64))
    requests: list[tuple[bytes, str, str | None]] = [(_csv(r), "text/csv", None) for r in ROWS]
    requests[3] = (_csv(ROWS[3]) + b"\n" + _csv(ROWS[4]), "text/csv", None)  # two rows
    requests[5] = (_csv(ROWS[5]), "text/csv", "application/json")
    requests[7] = (b"[" + _csv(ROWS[7]) + b"]", "application/json", "text/csv")
    requests[9] = (_csv(ROWS[9]).replace(b",", b"\t"), "text/csv", None)

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(batcher.predict(*r) for r in requests)))

    answers = asyncio.run(run())
    assert batcher.batches == 1
    assert answers == [model.predict(*r) for r in requests]


def test_through_the_app_each_client_gets_its_own_answer(home: Path, model_uri: str) -> None:
    deploy("ep", [("A", model_uri, 1.0)])
    app = HostingApp()
    bodies = [_csv(r) for r in ROWS]
    bodies[4] = b"1,2,abc,4"  # malformed: 400 for it alone
    bodies[8] = b"1,2"  # wrong width: 400 for it alone

    tried: list[int] = []  # sizes of the predict_batch calls tried

    async def run() -> list[httpx.Response]:
        await app.startup()
        try:
            assert app.routing is not None
            batcher = app.routing.routes["ep"].variants[0].batcher
            batch_fn = batcher._batch_fn
            assert batch_fn is not None

            def recording(requests: Sequence[Request]) -> list[tuple[bytes, str]]:
                tried.append(len(requests))
                return batch_fn(requests)

            batcher._batch_fn = recording
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return list(
                    await asyncio.gather(
                        *(client.post("/endpoints/ep/invocations", content=b,
                                      headers={"content-type": "text/csv"}) for b in bodies)
                    )
                )  # fmt: skip
        finally:
            await app.shutdown()

    answers = asyncio.run(run())
    assert tried and max(tried) > 1  # the requests met in a batch, which the bad ones failed
    from openmaker.serving import load_model

    model = load_model(model_uri)
    for i, (body, answer) in enumerate(zip(bodies, answers, strict=True)):
        if i in (4, 8):
            assert answer.status_code == 400, answer.text
        else:
            assert answer.status_code == 200, answer.text
            assert answer.content == model.predict(body, "text/csv")[0]
    assert "line 1" in answers[4].json()["message"]
    assert "expects 4 features" in answers[8].json()["message"]
