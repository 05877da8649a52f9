"""uvicorn's HTTP protocol with a fast lane for InvokeEndpoint.

The serving worker runs on uvicorn with its httptools protocol. For every request that protocol
builds an ASGI scope, a request cycle, an ``asyncio.Event`` and a task, and passes the body and
the answer through four ASGI messages: ~25 µs of CPU a request on this 2-core machine, as much
as everything else a 1-row XGBoost request costs.

:class:`InvocationProtocol` is that protocol with one change. A request that is a plain
invocation of an endpoint the worker serves (``POST /endpoints/NAME/invocations`` or
``POST /invocations``, HTTP/1.1 keep-alive, a ``Content-Length`` up to
:data:`FAST_LANE_BYTES`, no ``Expect: 100-continue``, nothing else in flight on the
connection) goes to :meth:`~openmaker.hosting.app.HostingApp.lane_invoke` when its body is
complete; the app answers it through a callback and the protocol writes the answer itself. The
app runs the same code as on its ASGI path (headers, variant choice, micro-batching, model
errors, data capture), so the answers are the same bytes. Everything else (``/ping``,
asynchronous invocations, unknown endpoints, chunked or large bodies, pipelined requests
behind a pending one, HTTP/1.0) takes uvicorn's ASGI path unchanged.

While a fast-lane request is answered, a small stand-in for uvicorn's request cycle keeps the
connection's state: requests pipelined behind it queue in uvicorn's own pipeline, a graceful
shutdown closes the connection after the answer, and an answer for a connection that is gone
is dropped.
"""

from __future__ import annotations

import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: Bodies up to this size take the fast lane (bigger ones are predicted in a thread anyway).
FAST_LANE_BYTES = 64 * 1024


class _Pending:
    """Stands in for uvicorn's request cycle while a fast-lane request is answered."""

    __slots__ = ("disconnected", "keep_alive", "response_complete")

    def __init__(self) -> None:
        self.response_complete = False
        self.keep_alive = True
        self.disconnected = False

    @property
    def message_event(self) -> _Pending:
        return self  # connection_lost() sets it: nothing waits on it

    def set(self) -> None:
        """What ``message_event.set()`` does here: nothing."""


@functools.lru_cache(maxsize=8)
def _lane_of(app: Any) -> Any:
    """The :class:`~openmaker.hosting.app.HostingApp` under uvicorn's middleware, or None."""
    for _ in range(8):
        if hasattr(app, "lane_invoke"):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class InvocationProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the invocation fast lane (see the module docstring)."""

    _lane_call: tuple[Any, Any] | None = None
    _lane_body: bytearray

    def on_headers_complete(self) -> None:
        call = self._lane_request()
        if call is None:
            self._lane_call = None
            super().on_headers_complete()
            return
        self._lane_call = call
        self._lane_body = bytearray()
        self.cycle = _Pending()  # type: ignore[assignment]

    def _lane_request(self) -> tuple[Any, Any] | None:
        lane = _lane_of(self.app)
        parser = self.parser
        if (
            lane is None
            or parser.get_method() != b"POST"
            or self.expect_100_continue
            or (self.cycle is not None and not self.cycle.response_complete)
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or parser.should_upgrade()
            or b"?" in self.url
            or b"%" in self.url
        ):
            return None
        length = -1
        for name, value in self.headers:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"transfer-encoding":
                return None
        if not 0 <= length <= FAST_LANE_BYTES:
            return None
        route = lane.lane_route(self.url)
        return (lane, route) if route is not None else None

    def on_body(self, body: bytes) -> None:
        if self._lane_call is None:
            super().on_body(body)
        else:
            self._lane_body += body

    def on_message_complete(self) -> None:
        call = self._lane_call
        if call is None:
            super().on_message_complete()
            return
        self._lane_call = None
        lane, route = call
        pending = self.cycle
        lane.lane_invoke(
            route,
            self.headers,
            bytes(self._lane_body),
            functools.partial(self._lane_reply, pending),
        )

    def _lane_reply(
        self, pending: _Pending, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        pending.response_complete = True
        if self.transport.is_closing():  # the client left: nobody to answer
            return
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        for name, value in headers:
            content += (name, b": ", value, b"\r\n")
        content += (b"content-length: %d\r\n\r\n" % len(body), body)
        self.transport.write(b"".join(content))
        if not pending.keep_alive:  # the server is shutting down
            self.transport.close()
        self.on_response_complete()
