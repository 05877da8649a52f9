"""The serving process's ASGI app: the container contract and the runtime path.

Routes:

* ``GET /ping`` — 200 when the worker is up (the container health check).
* ``POST /invocations`` — the container contract: serves the endpoint named by
  ``OPENMAKER_SERVE_ENDPOINT`` (``openmaker serve --endpoint``), or the only endpoint in service.
* ``POST /endpoints/{name}/invocations`` — InvokeEndpoint. Request headers ``Content-Type``,
  ``Accept``, ``X-Amzn-SageMaker-Custom-Attributes``, ``X-Amzn-SageMaker-Target-Variant``,
  ``X-Amzn-SageMaker-Inference-Id``; the answer carries ``Content-Type`` and
  ``X-Amzn-Invoked-Production-Variant``. Built-in algorithms set no custom attributes, so none
  are returned (the request's go to data capture).
* ``POST /endpoints/{name}/async-invocations`` — InvokeEndpointAsync: ``202`` at once, the
  answer written to storage later (:mod:`openmaker.hosting.async_inference`).

It is a bare ASGI callable rather than a FastAPI app: the 1-row request path is one pass over
the headers, a dictionary lookup, a weighted draw and the model's micro-batcher
(:mod:`openmaker.hosting.batching`: concurrent requests for a model are predicted with one
call), with no framework layers (see the endpoint benchmark). Small requests are predicted on
the event loop (a thread hand-off costs more than a small predict), big ones in a worker
thread, so a big request does not stall the small ones. Errors are mapped by
:mod:`openmaker.hosting.runtime_errors`; no error ends the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import Any

from openmaker.errors import (
    OpenmakerError,
    PayloadTooLargeError,
    PlatformError,
    ValidationError,
)
from openmaker.hosting.async_inference import AsyncInvoker, AsyncRequest, parse_request
from openmaker.hosting.batching import INLINE_PREDICT_BYTES
from openmaker.hosting.capture import CaptureWriter
from openmaker.hosting.routing import Route, RoutingTable, Variant, poll_seconds
from openmaker.hosting.runtime_errors import error_answer, model_error
from openmaker.settings import get_settings

log = logging.getLogger("openmaker.serve")

#: InvokeEndpoint's body limit (6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: A request for an unknown endpoint refreshes the table at most this often (seconds).
FORCED_REFRESH_INTERVAL = 0.2
#: Seconds queued async requests get to finish when the worker stops.
ASYNC_SHUTDOWN_GRACE = 5.0
__all__ = ["INLINE_PREDICT_BYTES", "MAX_PAYLOAD_BYTES", "HostingApp", "create_app"]

_JSON = [(b"content-type", b"application/json")]


class HostingApp:
    """One worker's ASGI app (build it with :func:`create_app`)."""

    def __init__(self, default_endpoint: str | None = None) -> None:
        self.settings = get_settings()
        self.default_endpoint = default_endpoint
        self.routing: RoutingTable | None = None
        self.capture = CaptureWriter()
        self.async_invoker = AsyncInvoker(self._predict_async, self._failure_body)
        self._type_headers: dict[str, tuple[bytes, bytes]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._refresh_lock: asyncio.Lock | None = None
        self._last_forced = 0.0

    # --- lifespan ---------------------------------------------------------------------------
    async def startup(self) -> None:
        """Open the store and load every endpoint in service."""
        from openmaker.store import open_store

        store = await asyncio.to_thread(open_store)
        self.routing = RoutingTable(store, self.capture)
        self._refresh_lock = asyncio.Lock()
        await asyncio.to_thread(self.routing.refresh)
        self._poller = asyncio.create_task(self._poll())

    async def shutdown(self) -> None:
        """Finish queued async requests (a few seconds at most), stop polling, write capture."""
        await self.async_invoker.close(ASYNC_SHUTDOWN_GRACE)
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await asyncio.to_thread(self.capture.close)
        if self.routing is not None:
            self.routing.store.close()

    async def _poll(self) -> None:
        interval = poll_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                assert self.routing is not None
                await asyncio.to_thread(self.routing.refresh)
            except Exception:  # a store hiccup must not stop the polling
                log.exception("refreshing the endpoint table failed")

    async def _route(self, name: str) -> Route | None:
        assert self.routing is not None and self._refresh_lock is not None
        route = self.routing.routes.get(name)
        if route is not None:
            return route
        async with self._refresh_lock:
            route = self.routing.routes.get(name)
            if route is None and time.monotonic() - self._last_forced > FORCED_REFRESH_INTERVAL:
                self._last_forced = time.monotonic()
                await asyncio.to_thread(self.routing.refresh)
                route = self.routing.routes.get(name)
        return route

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        name: str | None = None  # the endpoint of a runtime path
        call = None
        if method == "POST":
            if path.startswith("/endpoints/"):
                if path.endswith("/invocations"):
                    name, call = path[11:-12], self._invoke
                elif path.endswith("/async-invocations"):
                    name, call = path[11:-18], self._invoke_async
            elif path == "/invocations":
                call = self._invoke
        elif path == "/ping" and method in ("GET", "HEAD"):
            await _answer(send, 200, [(b"content-type", b"application/json")], b"{}")
            return
        if call is None:
            await _answer(send, 404, list(_JSON), b'{"message": "Not Found"}')
            return
        try:
            await call(scope, receive, send, name)
        except OpenmakerError as exc:
            status, headers, body = error_answer(
                exc, runtime=name is not None, endpoint=name, settings=self.settings
            )
            await _answer(
                send, status, [(k.encode(), v.encode()) for k, v in headers.items()], body
            )

    async def _invoke(
        self, scope: dict[str, Any], receive: Any, send: Any, name: str | None
    ) -> None:
        content_type = ""
        accept = target = None
        for key, value in scope["headers"]:  # one pass, only the headers the path needs
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"accept":
                accept = value.decode("latin-1")
            elif key == b"content-length":
                if value.isdigit() and int(value) > MAX_PAYLOAD_BYTES:
                    raise PayloadTooLargeError(int(value), MAX_PAYLOAD_BYTES)
            elif key == b"x-amzn-sagemaker-target-variant":
                target = value.decode("latin-1")
        body = await _read_body(receive)
        if name is None:
            name = self._container_endpoint()
        assert self.routing is not None
        route = self.routing.routes.get(name) or await self._route(name)
        if route is None:
            raise self.routing.not_found(name)
        variant = route.choose(target)
        out, out_type = await self._predict(variant, name, body, content_type, accept)
        if variant.capture is not None and variant.capture.sample():
            headers = dict(scope["headers"])
            inference_id = headers.get(b"x-amzn-sagemaker-inference-id")
            custom = headers.get(b"x-amzn-sagemaker-custom-attributes")
            variant.capture.add(
                body,
                content_type,
                out,
                out_type,
                inference_id.decode("latin-1") if inference_id else None,
                custom.decode("latin-1") if custom else None,
            )
        type_header = self._type_headers.get(out_type)
        if type_header is None:
            type_header = self._type_headers[out_type] = (b"content-type", out_type.encode())
        await _answer(send, 200, [type_header, variant.header], out)

    async def _predict(
        self, variant: Variant, endpoint: str, body: bytes, content_type: str, accept: str | None
    ) -> tuple[bytes, str]:
        """The variant's answer; a model failure becomes SageMaker's ``ModelError``."""
        try:
            return await variant.batcher.predict(body, content_type, accept)
        except OpenmakerError as exc:
            if exc.kind == "user":
                raise
            raise model_error(exc, endpoint, variant.name, self.settings) from exc
        except Exception as exc:  # the model's own bug: SageMaker's ModelError, worker lives on
            log.exception("endpoint %s variant %s: predict failed", endpoint, variant.name)
            raise model_error(exc, endpoint, variant.name, self.settings) from exc

    # --- asynchronous inference --------------------------------------------------------------
    async def _invoke_async(
        self, scope: dict[str, Any], receive: Any, send: Any, name: str | None
    ) -> None:
        assert name is not None  # only the runtime path takes async invocations
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive)
        route = await self._route(name)
        if route is None:
            assert self.routing is not None
            raise self.routing.not_found(name)
        if route.async_config is None:
            raise ValidationError(
                f"Endpoint {name} is not configured for asynchronous inference: its endpoint "
                "config has no AsyncInferenceConfig; use /invocations, or deploy it with an "
                "AsyncInferenceConfig"
            )
        request = parse_request(name, route.async_config, headers, body)
        self.async_invoker.submit(request, route.async_config)
        answer = request.accepted()
        await _answer(
            send,
            202,
            [
                (b"content-type", b"application/json"),
                (b"x-amzn-sagemaker-outputlocation", answer["OutputLocation"].encode()),
                (b"x-amzn-sagemaker-failurelocation", answer["FailureLocation"].encode()),
            ],
            json.dumps(answer).encode(),
        )

    async def _predict_async(self, request: AsyncRequest, data: bytes) -> tuple[bytes, str]:
        route = await self._route(request.endpoint)
        if route is None:  # deleted while the request was queued
            assert self.routing is not None
            raise self.routing.not_found(request.endpoint)
        variant = route.choose(None)
        out, out_type = await self._predict(
            variant, request.endpoint, data, request.content_type, request.accept
        )
        if variant.capture is not None and variant.capture.sample():
            variant.capture.add(
                data,
                request.content_type,
                out,
                out_type,
                request.inference_id,
                request.custom_attributes,
            )
        return out, out_type

    def _failure_body(self, request: AsyncRequest, exc: BaseException) -> tuple[int, bytes]:
        if not isinstance(exc, OpenmakerError):  # model failures are ModelErrors already
            exc = PlatformError(f"{type(exc).__name__}: {exc}")
        status, _, body = error_answer(
            exc, runtime=True, endpoint=request.endpoint, settings=self.settings
        )
        return status, body

    def _container_endpoint(self) -> str:
        if self.default_endpoint:
            return self.default_endpoint
        assert self.routing is not None
        names = sorted(self.routing.routes)
        if len(names) == 1:
            return names[0]
        raise ValidationError(
            "POST /invocations needs one endpoint: start the server with --endpoint NAME, or "
            f"use /endpoints/NAME/invocations; in service: {', '.join(names) or 'none'}"
        )


async def _read_body(receive: Any) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_PAYLOAD_BYTES:
                raise PayloadTooLargeError(size, MAX_PAYLOAD_BYTES)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> HostingApp:
    """The app factory uvicorn calls in each worker (settings come from the environment)."""
    return HostingApp(default_endpoint=os.environ.get("OPENMAKER_SERVE_ENDPOINT") or None)
