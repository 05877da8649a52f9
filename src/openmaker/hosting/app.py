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

Plain invocations also have a lane around ASGI: the worker's HTTP protocol
(:mod:`openmaker.hosting.protocol`) asks :meth:`HostingApp.lane_route` whether it serves the
path and hands the request to :meth:`HostingApp.lane_invoke`, which answers through a callback.
Both paths run the same steps (``_start``: headers, variant, batcher; ``_finish``: outcome,
model errors, data capture), so they answer the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openmaker.asgi import run_lifespan
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
            await run_lifespan(receive, send, self.startup, self.shutdown, log)

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
            await _answer(send, *self._error(exc, name))
        except _Disconnected:  # nobody to answer
            return

    async def _invoke(
        self, scope: dict[str, Any], receive: Any, send: Any, name: str | None
    ) -> None:
        headers = scope["headers"]
        _check_length(headers)
        body = await _read_body(receive)
        if name is None:
            name = self._container_endpoint()
        assert self.routing is not None
        route = self.routing.routes.get(name) or await self._route(name)
        if route is None:
            raise self.routing.not_found(name)
        call = self._start(route, headers, body)
        with contextlib.suppress(Exception):  # _finish reads the outcome, errors included
            await call.future
        status, answer_headers, out = self._finish(call)
        await _answer(send, status, answer_headers, out)

    def _start(self, route: Route, headers: list[tuple[bytes, bytes]], body: bytes) -> _Call:
        """Read the runtime headers, pick the variant and hand the body to its batcher."""
        content_type = ""
        accept = target = None
        for key, value in headers:  # one pass, only the headers the path needs
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"accept":
                accept = value.decode("latin-1")
            elif key == b"x-amzn-sagemaker-target-variant":
                target = value.decode("latin-1")
        variant = route.choose(target)
        future = variant.batcher.submit(body, content_type, accept)
        return _Call(route.endpoint, variant, headers, body, content_type, future)

    def _finish(self, call: _Call) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The answer to an invocation whose prediction is done (data capture included).

        Raises:
            OpenmakerError: the request's own error, or SageMaker's ``ModelError`` for a
                model failure (the worker lives on).
        """
        variant = call.variant
        try:
            out, out_type = call.future.result()
        except Exception as exc:
            failure = self._failure(exc, call.endpoint, variant)
            if failure is exc:
                raise
            raise failure from exc
        if variant.capture is not None and variant.capture.sample():
            headers = dict(call.headers)
            inference_id = headers.get(b"x-amzn-sagemaker-inference-id")
            custom = headers.get(b"x-amzn-sagemaker-custom-attributes")
            variant.capture.add(
                call.body,
                call.content_type,
                out,
                out_type,
                inference_id.decode("latin-1") if inference_id else None,
                custom.decode("latin-1") if custom else None,
            )
        type_header = self._type_headers.get(out_type)
        if type_header is None:
            type_header = self._type_headers[out_type] = (b"content-type", out_type.encode())
        return 200, [type_header, variant.header], out

    def _failure(self, exc: Exception, endpoint: str, variant: Variant) -> OpenmakerError:
        """What a prediction's exception answers: the request's own error (400, 415...), or
        SageMaker's ``ModelError`` for a model failure (logged when it is the model's own bug)."""
        if isinstance(exc, OpenmakerError):
            if exc.kind == "user":
                return exc
        else:
            log.error(
                "endpoint %s variant %s: predict failed", endpoint, variant.name, exc_info=exc
            )
        return model_error(exc, endpoint, variant.name, self.settings)

    def _error(self, exc: OpenmakerError, endpoint: str | None) -> tuple[int, list, bytes]:
        status, headers, body = error_answer(
            exc, runtime=endpoint is not None, endpoint=endpoint, settings=self.settings
        )
        return status, [(k.encode(), v.encode()) for k, v in headers.items()], body

    # --- the protocol's fast lane (openmaker.hosting.protocol) --------------------------------
    def lane_route(self, path: bytes) -> tuple[Route, bool] | None:
        """The route of an invocation path the worker can answer without ASGI, with whether
        it is the runtime path; None sends the request down the ASGI path (unknown endpoint,
        async invocations, any other path)."""
        routing = self.routing
        if routing is None:
            return None
        if path.startswith(b"/endpoints/"):
            if not path.endswith(b"/invocations"):
                return None
            route = routing.routes.get(path[11:-12].decode("latin-1"))
            return (route, True) if route is not None else None
        if path == b"/invocations":
            try:
                route = routing.routes.get(self._container_endpoint())
            except OpenmakerError:
                return None
            return (route, False) if route is not None else None
        return None

    def lane_invoke(
        self,
        lane: tuple[Route, bool],
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        reply: Callable[[int, list[tuple[bytes, bytes]], bytes], None],
    ) -> None:
        """Answer an invocation routed by :meth:`lane_route`: ``reply(status, headers, body)``
        is called once, when the answer (or the error) is known."""
        route, runtime = lane
        name = route.endpoint if runtime else None
        try:
            call = self._start(route, headers, body)
        except OpenmakerError as exc:
            reply(*self._error(exc, name))
            return

        def done(_: object) -> None:
            try:
                answer = self._finish(call)
            except OpenmakerError as exc:
                answer = self._error(exc, name)
            reply(*answer)

        if call.future.done():
            done(call.future)
        else:
            call.future.add_done_callback(done)

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
        try:
            out, out_type = await variant.batcher.predict(
                data, request.content_type, request.accept
            )
        except Exception as exc:
            failure = self._failure(exc, request.endpoint, variant)
            if failure is exc:
                raise
            raise failure from exc
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


@dataclass(frozen=True)
class _Call:
    """An invocation on its way through a variant's batcher."""

    endpoint: str
    variant: Variant
    headers: list[tuple[bytes, bytes]]
    body: bytes
    content_type: str
    future: asyncio.Future[tuple[bytes, str]]


def _check_length(headers: list[tuple[bytes, bytes]]) -> None:
    """Refuse a declared body over the limit before reading it (413)."""
    for key, value in headers:
        if key == b"content-length":
            if value.isdigit() and int(value) > MAX_PAYLOAD_BYTES:
                raise PayloadTooLargeError(int(value), MAX_PAYLOAD_BYTES)
            return


class _Disconnected(Exception):
    """The client went away before its body was complete: the request is not predicted."""


async def _read_body(receive: Any) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
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
