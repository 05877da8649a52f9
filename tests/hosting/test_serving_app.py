"""The ASGI app in-process (httpx.ASGITransport): every bad-input answer, worker survival."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from openmaker.hosting.app import MAX_PAYLOAD_BYTES, HostingApp
from openmaker.hosting.routing import Route, Variant

from .conftest import deploy


class Exploding:
    """A model whose predict raises a plain exception (a bug in the model)."""

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        raise RuntimeError("boom in the model")


def _call(app: HostingApp, requests: list[tuple[str, dict[str, str], bytes]]) -> list[Any]:
    async def run() -> list[Any]:
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                out = []
                for path, headers, body in requests:
                    if path == "/ping":
                        out.append(await client.get(path))
                    else:
                        out.append(await client.post(path, headers=headers, content=body))
                return out
        finally:
            await app.shutdown()

    return asyncio.run(run())


@pytest.fixture()
def app(home: Path, model_uri: str) -> HostingApp:
    deploy("ep", [("A", model_uri, 1.0), ("B", model_uri, 1.0)])
    return HostingApp()


CSV = {"content-type": "text/csv"}


def test_good_and_bad_requests(app: HostingApp) -> None:
    r = _call(
        app,
        [
            ("/ping", {}, b""),
            ("/endpoints/ep/invocations", {**CSV, "x-amzn-sagemaker-target-variant": "B"},
             b"1,2,3,4\n0,0,0,0"),
            ("/endpoints/ep/invocations", {"content-type": "image/png"}, b"1,2,3,4"),
            ("/endpoints/ep/invocations", CSV, b"1,2,abc,4"),
            ("/endpoints/ep/invocations", CSV, b"1,2"),
            ("/endpoints/ep/invocations", {**CSV, "accept": "image/png"}, b"1,2,3,4"),
            ("/endpoints/ghost/invocations", CSV, b"1,2,3,4"),
            ("/endpoints/ep/invocations", {**CSV, "x-amzn-sagemaker-target-variant": "Z"},
             b"1,2,3,4"),
            ("/endpoints/ep/invocations", CSV, b"1," * (MAX_PAYLOAD_BYTES // 2 + 1)),
            ("/invocations", CSV, b"1,2,3,4"),
            ("/nowhere", CSV, b""),
        ],
    )  # fmt: skip
    ping, ok, media, malformed, width, accept, ghost, variant, big, container, missing = r
    assert ping.status_code == 200
    assert ok.status_code == 200 and ok.headers["x-amzn-invoked-production-variant"] == "B"
    assert len(ok.text.splitlines()) == 2 and ok.headers["content-type"] == "text/csv"
    assert media.status_code == 415
    assert "text/csv" in media.json()["SupportedContentTypes"]
    assert media.headers["x-amzn-errortype"] == "ValidationError"
    assert malformed.status_code == 400 and "line 1" in malformed.json()["message"]
    assert width.status_code == 400 and "expects 4 features" in width.json()["Message"]
    assert (
        accept.status_code == 415 and "application/json" in accept.json()["SupportedContentTypes"]
    )
    assert ghost.status_code == 400
    assert ghost.json()["message"] == "Endpoint ghost of account 000000000000 not found."
    assert variant.status_code == 400 and "Target variant Z not found" in variant.json()["message"]
    assert big.status_code == 413 and big.json()["Limit"] == MAX_PAYLOAD_BYTES
    assert container.status_code == 200  # the only endpoint in service
    assert missing.status_code == 404


def test_model_error_is_a_424_and_the_worker_lives_on(app: HostingApp, model_uri: str) -> None:
    async def run() -> list[httpx.Response]:
        await app.startup()
        try:
            assert app.routing is not None
            good = app.routing.routes["ep"].variants[0]
            bad = Variant("Bad", "x", Exploding(), 0.0, None)  # type: ignore[arg-type]
            app.routing.routes = {"ep": Route.build("ep", 10**6, (good, bad))}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                url = "/endpoints/ep/invocations"
                return list(
                    await asyncio.gather(
                        client.post(url, headers={**CSV, "x-amzn-sagemaker-target-variant": "Bad"},
                                    content=b"1,2,3,4"),
                        client.post(url, headers=CSV, content=b"1,2,3,4"),
                    )
                )  # fmt: skip
        finally:
            await app.shutdown()

    failed, fine = asyncio.run(run())
    assert failed.status_code == 424
    assert failed.headers["x-amzn-errortype"] == "ModelError"
    body = failed.json()
    assert body["ErrorCode"] == "SERVER_ERROR_FROM_MODEL"
    assert body["OriginalStatusCode"] == 500
    assert "boom in the model" in body["OriginalMessage"]
    assert body["LogStreamArn"].endswith("/aws/sagemaker/Endpoints/ep")
    assert fine.status_code == 200  # the other request in flight was not affected
    float(fine.text)


def test_zero_weights_need_a_target(home: Path, model_uri: str) -> None:
    deploy("ep", [("A", model_uri, 0.0), ("B", model_uri, 0.0)])
    r0, r1 = _call(
        HostingApp(),
        [
            ("/endpoints/ep/invocations", CSV, b"1,2,3,4"),
            ("/endpoints/ep/invocations", {**CSV, "x-amzn-sagemaker-target-variant": "A"},
             b"1,2,3,4"),
        ],
    )  # fmt: skip
    assert r0.status_code == 400 and "traffic weight" in json.loads(r0.text)["message"]
    assert r1.status_code == 200
