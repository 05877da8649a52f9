"""Asynchronous inference: config, request checks, the worker's queue, the app's route."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from openmaker.errors import ValidationError
from openmaker.hosting.app import HostingApp
from openmaker.hosting.async_inference import (
    DEFAULT_MAX_CONCURRENT,
    MAX_INLINE_BODY_BYTES,
    AsyncInvoker,
    AsyncRequest,
    normalize_async_config,
    parse_request,
)
from openmaker.hosting.routing import Route, Variant

from .conftest import deploy

ROWS = b"1,2,3,4\n0,0,0,0\n-1,0.5,2,3\n"


# --- the config --------------------------------------------------------------------------------
def test_config_defaults_and_checks() -> None:
    assert normalize_async_config(None) is None
    config = normalize_async_config({"OutputConfig": {"S3OutputPath": "s3://b/out"}})
    assert config is not None
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": DEFAULT_MAX_CONCURRENT}
    bad = [
        ({}, "S3OutputPath is required"),
        ({"OutputConfig": {}}, "S3OutputPath is required"),
        ({"OutputConfig": {"S3OutputPath": "s3://b", "S3FailurePath": 3}}, "S3FailurePath"),
        ({"OutputConfig": {"S3OutputPath": "s3://b"}, "ClientConfig": []}, "ClientConfig"),
        ({"OutputConfig": {"S3OutputPath": "s3://b"},
          "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 0}}, "1-1000"),
        ({"OutputConfig": {"S3OutputPath": "s3://b"},
          "ClientConfig": {"MaxConcurrentInvocationsPerInstance": True}}, "1-1000"),
    ]  # fmt: skip
    for value, message in bad:
        with pytest.raises(ValidationError, match=message):
            normalize_async_config(value)


def test_a_config_without_client_config_stores_the_default(home: Path, model_uri: str) -> None:
    from openmaker.hosting.endpoint_configs import EndpointConfigService

    deploy("ep", [("A", model_uri, 1.0)],
           async_config={"OutputConfig": {"S3OutputPath": str(home / "out")}})  # fmt: skip
    described = EndpointConfigService().describe("ep-c")
    client = described["AsyncInferenceConfig"]["ClientConfig"]
    assert client["MaxConcurrentInvocationsPerInstance"] == DEFAULT_MAX_CONCURRENT
    assert all("AsyncInferenceConfig" not in v for v in described["ProductionVariants"])


# --- one request -------------------------------------------------------------------------------
CONFIG = {
    "OutputConfig": {"S3OutputPath": "/tmp/out", "S3FailurePath": "/tmp/failed"},
    "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
}


def test_parse_request_names_the_locations() -> None:
    request = parse_request(
        "ep",
        CONFIG,
        {
            "x-amzn-sagemaker-inputlocation": "s3://b/in.csv",
            "x-amzn-sagemaker-content-type": "text/csv",
            "x-amzn-sagemaker-accept": "application/json",
            "x-amzn-sagemaker-s3outputpathextension": "day/1",
            "x-amzn-sagemaker-filename": "answer.json",
            "x-amzn-sagemaker-inference-id": "my-id",
        },
        b"",
    )
    assert request.output_location == "/tmp/out/day/1/answer.json"
    assert request.failure_location.startswith("/tmp/failed/day/1/")
    assert request.failure_location.endswith("-error.out")
    assert (request.inference_id, request.content_type, request.accept) == (
        "my-id", "text/csv", "application/json")  # fmt: skip
    inline = parse_request("ep", CONFIG, {"content-type": "text/csv"}, b"1,2,3,4")
    assert inline.body == b"1,2,3,4" and inline.input_location is None
    assert inline.content_type == "text/csv" and inline.output_location.endswith(".out")
    assert inline.inference_id in inline.output_location  # a fresh uuid names both


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({}, b"", "X-Amzn-SageMaker-InputLocation"),
        ({"x-amzn-sagemaker-inputlocation": "s3://b/x"}, b"1,2", "not both"),
        ({}, b"1" * (MAX_INLINE_BODY_BYTES + 1), "at most 128000"),
        ({"x-amzn-sagemaker-requestttlseconds": "5"}, b"1", "RequestTTLSeconds must be"),
        ({"x-amzn-sagemaker-invocationtimeoutseconds": "x"}, b"1", "InvocationTimeoutSeconds"),
        ({"x-amzn-sagemaker-s3outputpathextension": "a/../b"}, b"1", "S3OutputPathExtension"),
        ({"x-amzn-sagemaker-filename": "a/b"}, b"1", "Filename must be a file name"),
        ({"x-amzn-sagemaker-inference-id": "i" * 65}, b"1", "Inference-Id must be 1-64"),
    ],
)
def test_bad_requests_are_refused(headers: dict[str, str], body: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_request("ep", CONFIG, headers, body)


# --- the worker's queue ------------------------------------------------------------------------
def _request(tmp_path: Path, i: int, *, ttl: float = 60.0, timeout: float = 60.0) -> AsyncRequest:
    return AsyncRequest(
        inference_id=f"id-{i}",
        endpoint="ep",
        input_location=None,
        body=b"%d" % i,
        content_type="text/plain",
        accept=None,
        custom_attributes=None,
        output_location=str(tmp_path / "out" / f"{i}.out"),
        failure_location=str(tmp_path / "failed" / f"{i}-error.out"),
        deadline=time.monotonic() + ttl,
        timeout=timeout,
    )


def _failure_body(request: AsyncRequest, exc: BaseException) -> tuple[int, bytes]:
    return 500, json.dumps({"message": str(exc)}).encode()


def test_the_queue_respects_max_concurrent_invocations(tmp_path: Path) -> None:
    running = peak = 0

    async def predict(request: AsyncRequest, data: bytes) -> tuple[bytes, str]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return data * 2, "text/plain"

    async def run() -> AsyncInvoker:
        invoker = AsyncInvoker(predict, _failure_body)
        for i in range(7):
            invoker.submit(_request(tmp_path, i), CONFIG)
        assert invoker.queued == 7
        await invoker.close(grace=30)
        return invoker

    invoker = asyncio.run(run())
    assert peak == 2 and invoker.completed == 7 and invoker.failed == 0
    assert (tmp_path / "out" / "3.out").read_bytes() == b"33"
    assert not (tmp_path / "failed").exists()


def test_expired_and_slow_requests_fail(tmp_path: Path) -> None:
    async def predict(request: AsyncRequest, data: bytes) -> tuple[bytes, str]:
        if data == b"2":
            await asyncio.sleep(30)
        return data, "text/plain"

    async def run() -> AsyncInvoker:
        invoker = AsyncInvoker(predict, _failure_body)
        invoker.submit(_request(tmp_path, 1, ttl=-1), CONFIG)  # waited past its TTL
        invoker.submit(_request(tmp_path, 2, timeout=0.05), CONFIG)  # predicts too long
        await invoker.close(grace=30)
        return invoker

    invoker = asyncio.run(run())
    assert invoker.failed == 2 and invoker.completed == 0
    expired = json.loads((tmp_path / "failed" / "1-error.out").read_text())
    assert "RequestTTLSeconds" in expired["message"] and expired["InferenceId"] == "id-1"
    slow = json.loads((tmp_path / "failed" / "2-error.out").read_text())
    assert "InvocationTimeoutSeconds" in slow["message"]
    assert not (tmp_path / "out").exists()


# --- through the app ---------------------------------------------------------------------------
class Exploding:
    """A model whose predict raises a plain exception (a bug in the model)."""

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        raise RuntimeError("boom in the model")


Calls = Callable[[httpx.AsyncClient, HostingApp], Awaitable[list[httpx.Response]]]


def _serve(app: HostingApp, calls: Calls) -> list[httpx.Response]:
    """Start the app, make the calls, wait until the async queue is empty, stop."""

    async def run() -> list[httpx.Response]:
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answers = await calls(client, app)
            await _drained(app)
            return answers
        finally:
            await app.shutdown()

    return asyncio.run(run())


async def _drained(app: HostingApp) -> None:
    """Wait (at most a minute) until the app's async requests are processed."""
    deadline = time.monotonic() + 60
    while app.async_invoker.queued and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def _async_post(client: httpx.AsyncClient, endpoint: str, headers: dict[str, str],
                body: bytes = b"") -> Awaitable[httpx.Response]:  # fmt: skip
    return client.post(f"/endpoints/{endpoint}/async-invocations", headers=headers, content=body)


def _path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


@pytest.fixture()
def async_home(home: Path, model_uri: str) -> Path:
    """Endpoint ``ep`` with an AsyncInferenceConfig (no ClientConfig), ``sync`` without."""
    deploy("ep", [("A", model_uri, 1.0)], async_config={
        "OutputConfig": {"S3OutputPath": f"file://{home}/async/out",
                         "S3FailurePath": f"file://{home}/async/failed"}})  # fmt: skip
    deploy("sync", [("A", model_uri, 1.0)])
    (home / "in.csv").write_bytes(ROWS)
    return home


def test_async_invocation_writes_the_answer(async_home: Path, model_uri: str) -> None:
    from openmaker.serving import load_model

    async def calls(client: httpx.AsyncClient, app: HostingApp) -> list[httpx.Response]:
        return [
            await _async_post(client, "ep", {
                "x-amzn-sagemaker-inputlocation": f"file://{async_home}/in.csv",
                "x-amzn-sagemaker-content-type": "text/csv",
                "x-amzn-sagemaker-inference-id": "first"}),
            await _async_post(client, "ep", {
                "content-type": "text/csv", "accept": "application/json",
                "x-amzn-sagemaker-s3outputpathextension": "inline"}, b"1,2,3,4"),
        ]  # fmt: skip

    by_location, inline = _serve(HostingApp(), calls)
    model = load_model(model_uri)
    assert by_location.status_code == 202, by_location.text
    answer = by_location.json()
    assert answer["InferenceId"] == "first"
    assert by_location.headers["x-amzn-sagemaker-outputlocation"] == answer["OutputLocation"]
    assert by_location.headers["x-amzn-sagemaker-failurelocation"] == answer["FailureLocation"]
    assert _path(answer["OutputLocation"]).read_bytes() == model.predict(ROWS, "text/csv")[0]
    assert not _path(answer["FailureLocation"]).exists()
    assert inline.status_code == 202, inline.text
    out = _path(inline.json()["OutputLocation"])
    assert out.parent.name == "inline"
    assert json.loads(out.read_bytes()) == json.loads(
        model.predict(b"1,2,3,4", "text/csv", "application/json")[0]
    )


def test_async_bad_input_gets_a_documented_error(async_home: Path) -> None:
    async def calls(client: httpx.AsyncClient, app: HostingApp) -> list[httpx.Response]:
        csv = {"x-amzn-sagemaker-content-type": "text/csv"}
        return [
            await _async_post(client, "ep", csv),  # no input location, no body
            await _async_post(client, "sync", {**csv, "x-amzn-sagemaker-inputlocation": "/x"}),
            await _async_post(client, "ghost", {**csv, "x-amzn-sagemaker-inputlocation": "/x"}),
        ]

    missing, not_async, ghost = _serve(HostingApp(), calls)
    assert missing.status_code == 400
    assert missing.headers["x-amzn-errortype"] == "ValidationError"
    assert "X-Amzn-SageMaker-InputLocation" in missing.json()["message"]
    assert not_async.status_code == 400
    assert "not configured for asynchronous inference" in not_async.json()["message"]
    assert ghost.status_code == 400
    assert ghost.json()["message"] == "Endpoint ghost of account 000000000000 not found."


def test_async_failures_are_written_to_the_failure_location(async_home: Path) -> None:
    app = HostingApp()

    async def calls(client: httpx.AsyncClient, app: HostingApp) -> list[httpx.Response]:
        csv = {"x-amzn-sagemaker-content-type": "text/csv"}
        answers = [
            await _async_post(client, "ep", csv, b"1,2,abc,4"),  # malformed
            await _async_post(client, "ep", {  # unreadable input
                **csv, "x-amzn-sagemaker-inputlocation": f"file://{async_home}/nowhere.csv"}),
        ]  # fmt: skip
        await _drained(app)  # processed with the real model
        assert app.routing is not None
        route = app.routing.routes["ep"]  # the model now raises
        bad = Variant("Bad", "x", Exploding(), 1.0, None)  # type: ignore[arg-type]
        app.routing.routes = {"ep": Route.build("ep", 10**6, (bad,), route.async_config)}
        answers.append(await _async_post(client, "ep", csv, b"1,2,3,4"))
        return answers

    malformed, unreadable, exploding = _serve(app, calls)
    documents = []
    for answer in (malformed, unreadable, exploding):
        assert answer.status_code == 202, answer.text
        locations = answer.json()
        assert not _path(locations["OutputLocation"]).exists()
        document = json.loads(_path(locations["FailureLocation"]).read_text())
        assert document["InferenceId"] == locations["InferenceId"]
        documents.append(document)
    bad_csv, gone, boom = documents
    assert bad_csv["StatusCode"] == 400 and "line 1" in bad_csv["message"]
    assert gone["StatusCode"] == 400 and "nowhere.csv" in gone["message"]
    assert boom["StatusCode"] == 424 and boom["ErrorCode"] == "SERVER_ERROR_FROM_MODEL"
    assert "boom in the model" in boom["OriginalMessage"]
    assert app.async_invoker.failed == 3 and app.async_invoker.completed == 0
