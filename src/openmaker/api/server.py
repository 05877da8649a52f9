"""The SageMaker-compatible HTTP API: one ASGI app, one port, routed by path and header.

====================================================  =========================================
request                                               goes to
====================================================  =========================================
``POST /`` with ``X-Amz-Target: SageMaker.<Op>``      the control plane (:mod:`.control`)
``POST /`` with ``X-Amz-Target: Logs_20140328.<Op>``  CloudWatch Logs emulation (job logs)
``POST /`` with ``X-Amz-Target:                       CloudWatch metrics (training-job metrics,
GraniteServiceVersion20100801.<Op>``, or form-encoded  :mod:`openmaker.api.cloudwatch`): AWS
(``Action=<Op>``)                                     JSON 1.0 or AWS Query
``POST /endpoints/{name}/invocations``, ``/ping``     the hosting runtime (``HostingApp``)
``/s3``, ``/s3/<bucket>/<key>``                       the S3 subset (``openmaker.api.s3``), when
                                                      installed: point boto3's S3 client at
                                                      ``http://HOST:PORT/s3`` (path-style)
====================================================  =========================================

Anything else is a 404 (``UnknownOperationException`` for a ``POST /`` without a known
target). Requests are accepted whatever their signature unless the app is built with
``credentials`` (``openmaker server --auth``): then every request must carry a valid SigV4
signature by one of those access keys (:func:`openmaker.api.auth.verify`), or it gets a 403 in
its protocol's error shape.

The app is raw ASGI (no framework layers): a control-plane call costs a header lookup, a JSON
decode, a shape check and a thread hand-off before the service layer; an invocation costs one
path test more than the hosting app alone (see ``benchmarks/bench_api.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from openmaker.api.cloudwatch import MAX_BODY as MAX_CLOUDWATCH_BODY
from openmaker.api.cloudwatch import CloudWatchApi
from openmaker.api.control import ControlPlane, error_headers, target_of
from openmaker.api.protocol import encode_error
from openmaker.api.services import Services
from openmaker.asgi import run_lifespan

log = logging.getLogger("openmaker.api")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the S3 subset is mounted.
S3_PREFIX = "/s3"
#: The largest control-plane request body read (AWS JSON requests are small).
MAX_CONTROL_BODY = 16 * 1024 * 1024


class ApiApp:
    """The API server's ASGI app (build it with :func:`create_app`).

    Args:
        services: the service layer (default: built at startup from the settings).
        credentials: ``{access key: secret key}``; when given, requests must be SigV4-signed
            by one of them.
        hosting: serve the runtime paths (``/endpoints/{name}/invocations``) in this process.
        s3: serve the S3 subset under ``/s3`` when ``openmaker.api.s3`` is installed.
    """

    def __init__(
        self,
        *,
        services: Services | None = None,
        credentials: Mapping[str, str] | None = None,
        hosting: bool = True,
        s3: bool = True,
    ) -> None:
        self.control = ControlPlane(services)
        self.cloudwatch = CloudWatchApi(self.control.services)
        self.credentials = dict(credentials) if credentials is not None else None
        self.hosting: Any = None
        if hosting:
            from openmaker.hosting.app import HostingApp

            self.hosting = HostingApp()
        self.s3: ASGIApp | None = _optional_s3_app(self.credentials) if s3 else None
        self._verify: Callable[..., str] | None = None
        if self.credentials is not None:
            self._verify = _auth_verifier()
        self._s3_lifespan: _Lifespan | None = None

    # --- lifespan ---------------------------------------------------------------------------
    async def startup(self) -> None:
        """Build the service layer, load the endpoints in service, start the S3 app."""
        await self.control.services()
        if self.hosting is not None:
            await self.hosting.startup()
        if self.s3 is not None:
            self._s3_lifespan = _Lifespan(self.s3)
            await self._s3_lifespan.startup()

    async def shutdown(self) -> None:
        """Stop the S3 app and the hosting poller; release the store."""
        if self._s3_lifespan is not None:
            await self._s3_lifespan.shutdown()
        if self.hosting is not None:
            await self.hosting.shutdown()
        await asyncio.to_thread(self.control.close)

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            with contextlib.suppress(_Disconnected):  # the client left: nobody to answer
                await self._http(scope, receive, send)
        elif kind == "lifespan":
            await run_lifespan(receive, send, self.startup, self.shutdown, log)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == S3_PREFIX or path.startswith(S3_PREFIX + "/"):
            route = "s3"
        elif path.startswith("/endpoints/") or path in ("/ping", "/invocations"):
            route = "runtime"
        elif self.cloudwatch.wire_of(scope) is not None:
            route = "cloudwatch"
        else:
            route = "control"
        # The S3 app checks signatures itself (its bodies stream, chunk signatures too); the
        # health check needs none.
        if self._verify is not None and route != "s3" and path != "/ping":
            try:
                body = await _read_body(receive, limit=MAX_CONTROL_BODY)
            except _TooLarge:
                code, message = "SerializationException", "The request body is too large."
                await _answer(send, *self._refusal(scope, route, 413, code, message))
                return
            if not await self._authenticated(scope, body, route, send):
                return
            receive = _replay(body)
        if route == "runtime" and self.hosting is not None:
            await self.hosting(scope, receive, send)
        elif route == "s3" and self.s3 is not None:
            await self.s3(_mounted(scope, S3_PREFIX), receive, send)
        elif route == "cloudwatch":
            await self._cloudwatch(scope, receive, send)
        elif route == "control" and scope["method"] == "POST" and path == "/":
            await self._control(scope, receive, send)
        elif path == "/ping" and scope["method"] in ("GET", "HEAD"):
            await _answer(send, 200, [(b"content-type", b"application/json")], b"{}")
        else:
            code = "UnknownOperationException"
            body = encode_error(code, f"No operation at {scope['method']} {path}.")
            await _answer(send, 404, error_headers(code), body)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        try:
            body = await _read_body(receive, limit=MAX_CONTROL_BODY)
        except _TooLarge:
            code = "SerializationException"
            message = f"The request body is larger than {MAX_CONTROL_BODY} bytes."
            # 400, as SageMaker answers every client error (see openmaker.api.protocol)
            await _answer(send, 400, error_headers(code), encode_error(code, message))
            return
        status, out_headers, out = await self.control.handle(target_of(headers), body)
        await _answer(send, status, out_headers, out)

    async def _cloudwatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        wire = self.cloudwatch.wire_of(scope)
        assert wire is not None
        try:
            body = await _read_body(receive, limit=MAX_CLOUDWATCH_BODY)
        except _TooLarge:
            await _answer(send, *self.cloudwatch.too_large(wire))
            return
        await _answer(send, *await self.cloudwatch.handle(wire, scope, body))

    def _refusal(
        self, scope: Scope, route: str, status: int, code: str, message: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A refused request's answer, in its protocol's error shape."""
        if route == "cloudwatch":
            return self.cloudwatch.refusal(scope, status, code, message)
        return (status, *_auth_error(route, code, message))

    async def _authenticated(self, scope: Scope, body: bytes, route: str, send: Send) -> bool:
        assert self._verify is not None and self.credentials is not None
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[name] = f"{headers[name]},{text}" if name in headers else text
        try:
            self._verify(
                scope["method"],
                raw_path.decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                body,
                self.credentials,
            )
            return True
        except Exception as exc:
            code = str(getattr(exc, "code", "") or "AccessDeniedException")
            status = getattr(exc, "http_status", 403)
            status = status if isinstance(status, int) and 400 <= status < 500 else 403
            message = str(getattr(exc, "message", "") or exc) or "Access denied."
            await _answer(send, *self._refusal(scope, route, status, code, message))
            return False


def _auth_error(route: str, code: str, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of a refused request, in its protocol's error shape (rest-json for the
    runtime, AWS JSON for the rest)."""
    if route == "runtime":
        body = json.dumps({"message": message, "Message": message}).encode("utf-8")
        return [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", code.encode("latin-1")),
        ], body
    return error_headers(code), encode_error(code, message)


def _optional_s3_app(credentials: Mapping[str, str] | None) -> ASGIApp | None:
    """``openmaker.api.s3.create_s3_app()`` when that package is there, else ``None``."""
    try:
        module = importlib.import_module("openmaker.api.s3")
    except ImportError:
        return None
    factory = getattr(module, "create_s3_app", None)
    return factory(credentials=credentials) if factory is not None else None


def _auth_verifier() -> Callable[..., str]:
    from openmaker.errors import PlatformError

    try:
        module = importlib.import_module("openmaker.api.auth")
    except ImportError as exc:
        raise PlatformError(
            "--auth needs SigV4 verification (openmaker.api.auth), which is not installed"
        ) from exc
    verify: Callable[..., str] = module.verify
    return verify


def _mounted(scope: Scope, prefix: str) -> Scope:
    """The scope of a sub-app mounted at ``prefix``: ASGI's convention, the full ``path`` and
    ``raw_path`` (what SigV4 signed) with the mount point in ``root_path``."""
    child = dict(scope)
    child["root_path"] = scope.get("root_path", "") + prefix
    return child


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    """The client went away before its body was complete: the request is not run."""


async def _read_body(receive: Receive, *, limit: int | None) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if limit is not None and size > limit:
                raise _TooLarge()
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands a body already read to the next app."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Lifespan:
    """Runs a mounted app's lifespan protocol (apps that ignore lifespan are fine)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        try:
            await self.app({"type": "lifespan", "asgi": {"version": "3.0"}}, self._to_app.get,
                           self._from_app.put)  # fmt: skip
        except Exception:  # an app without lifespan support may raise on the scope type
            log.debug("mounted app has no lifespan support", exc_info=True)
        await self._from_app.put({"type": "_ended"})

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        reply = await self._from_app.get()
        if reply["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the S3 app failed to start: {reply.get('message', '')}")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._from_app.get(), timeout=5)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


def create_app(
    *,
    credentials: Mapping[str, str] | None = None,
    services: Services | None = None,
    hosting: bool = True,
    s3: bool = True,
) -> ApiApp:
    """The API's ASGI app (settings come from the environment; see :class:`ApiApp`)."""
    return ApiApp(services=services, credentials=credentials, hosting=hosting, s3=s3)


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    credentials: Mapping[str, str] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the API in the foreground (one process) until interrupted."""
    import uvicorn

    from openmaker.store import open_store

    open_store().close()  # migrate before serving, not inside the first request
    uvicorn.run(
        create_app(credentials=credentials),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
