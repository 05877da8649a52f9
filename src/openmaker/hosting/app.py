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

It is a bare ASGI callable rather than a FastAPI app: the 1-row request path is a dictionary
lookup, a weighted draw and ``model.predict``, with no framework layers (see the endpoint
benchmark). ``predict`` runs on the event loop for bodies up to
``INLINE_PREDICT_BYTES`` (a thread hand-off costs more than a small predict) and in a worker
thread above that, so a big request does not stall the small ones. Errors are mapped by
:mod:`openmaker.hosting.runtime_errors`; no error ends the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

from openmaker.errors import OpenmakerError, PayloadTooLargeError, ValidationError
from openmaker.hosting.capture import CaptureWriter
from openmaker.hosting.routing import Route, RoutingTable, poll_seconds
from openmaker.hosting.runtime_errors import error_answer, model_error
from openmaker.settings import get_settings

log = logging.getLogger("openmaker.serve")

#: InvokeEndpoint's body limit (6 MB).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Bodies up to this size are predicted on the event loop, bigger ones in a thread.
INLINE_PREDICT_BYTES = 64 * 1024
#: A request for an unknown endpoint refreshes the table at most this often (seconds).
FORCED_REFRESH_INTERVAL = 0.2

_JSON = [(b"content-type", b"application/json")]


class HostingApp:
    """One worker's ASGI app (build it with :func:`create_app`)."""

    def __init__(self, default_endpoint: str | None = None) -> None:
        self.settings = get_settings()
        self.default_endpoint = default_endpoint
        self.routing: RoutingTable | None = None
        self.capture = CaptureWriter()
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
        """Stop polling and write the capture buffers."""
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
        if path == "/ping" and method in ("GET", "HEAD"):
            await _answer(send, 200, [(b"content-type", b"application/json")], b"{}")
            return
        runtime = path.startswith("/endpoints/") and path.endswith("/invocations")
        if method != "POST" or not (runtime or path == "/invocations"):
            await _answer(send, 404, _JSON, b'{"message": "Not Found"}')
            return
        name = path[len("/endpoints/") : -len("/invocations")] if runtime else None
        try:
            await self._invoke(scope, receive, send, name)
        except OpenmakerError as exc:
            status, headers, body = error_answer(
                exc, runtime=runtime, endpoint=name, settings=self.settings
            )
            await _answer(
                send, status, [(k.encode(), v.encode()) for k, v in headers.items()], body
            )

    async def _invoke(
        self, scope: dict[str, Any], receive: Any, send: Any, name: str | None
    ) -> None:
        headers: dict[bytes, bytes] = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeError(int(length), MAX_PAYLOAD_BYTES)
        body = await _read_body(receive)
        if name is None:
            name = self._container_endpoint()
        route = await self._route(name)
        if route is None:
            assert self.routing is not None
            raise self.routing.not_found(name)
        target = headers.get(b"x-amzn-sagemaker-target-variant")
        variant = route.choose(target.decode("latin-1") if target else None)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        accept_raw = headers.get(b"accept")
        accept = accept_raw.decode("latin-1") if accept_raw else None
        try:
            if len(body) <= INLINE_PREDICT_BYTES:
                out, out_type = variant.model.predict(body, content_type, accept)
            else:
                out, out_type = await asyncio.to_thread(
                    variant.model.predict, body, content_type, accept
                )
        except OpenmakerError as exc:
            if exc.kind == "user":
                raise
            raise model_error(exc, name, variant.name, self.settings) from exc
        except Exception as exc:  # the model's own bug: SageMaker's ModelError, worker lives on
            log.exception("endpoint %s variant %s: predict failed", name, variant.name)
            raise model_error(exc, name, variant.name, self.settings) from exc
        capture = variant.capture
        if capture is not None and capture.sample():
            inference_id = headers.get(b"x-amzn-sagemaker-inference-id")
            custom = headers.get(b"x-amzn-sagemaker-custom-attributes")
            capture.add(
                body,
                content_type,
                out,
                out_type,
                inference_id.decode("latin-1") if inference_id else None,
                custom.decode("latin-1") if custom else None,
            )
        await _answer(
            send,
            200,
            [
                (b"content-type", out_type.encode("latin-1")),
                (b"x-amzn-invoked-production-variant", variant.name.encode("latin-1")),
            ],
            out,
        )

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
