"""InvocationProtocol's mechanics on a fake transport: which requests take the fast lane, the
order of answers on a connection, and answers for connections that are gone."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from openmaker.hosting.protocol import FAST_LANE_BYTES, InvocationProtocol


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        assert not self.closed
        self.data += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)


class App:
    """An ASGI app with the lane methods; the lane answers when told to."""

    def __init__(self) -> None:
        self.lane: list[tuple[bytes, Any]] = []
        self.asgi: list[str] = []

    def lane_route(self, path: bytes) -> Any:
        return ("route", True) if path == b"/endpoints/e/invocations" else None

    def lane_invoke(self, route: Any, headers: Any, body: bytes, reply: Any) -> None:
        assert route == ("route", True)
        self.lane.append((body, reply))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        self.asgi.append(scope["path"])
        body = b"asgi:" + message["body"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def _request(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _connect(app: App) -> tuple[InvocationProtocol, Transport]:
    config = Config(app=app, http=InvocationProtocol, log_level="warning", proxy_headers=False)
    proto = InvocationProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    proto.connection_made(transport)
    return proto, transport


def _bodies(data: bytes) -> list[bytes]:
    out = []
    for part in data.split(b"HTTP/1.1 ")[1:]:
        out.append(part.split(b"\r\n\r\n", 1)[1])
    return out


def test_lane_takes_plain_invocations_and_keeps_answer_order() -> None:
    async def main() -> None:
        app = App()
        proto, transport = _connect(app)
        # two pipelined requests: the first takes the lane, the second queues behind it
        proto.data_received(_request("/endpoints/e/invocations", b"one")
                            + _request("/endpoints/e/invocations", b"two"))  # fmt: skip
        assert [b for b, _ in app.lane] == [b"one"]
        assert transport.data == b""
        app.lane[0][1](200, [(b"content-type", b"text/csv")], b"lane:one")
        await asyncio.sleep(0.01)  # the queued request runs as an ASGI task
        assert _bodies(transport.data) == [b"lane:one", b"asgi:two"]
        assert b"content-type: text/csv\r\n" in transport.data
        assert b"content-length: 8\r\n" in transport.data
        # with the connection idle again, the next one takes the lane
        proto.data_received(_request("/endpoints/e/invocations", b"three"))
        assert [b for b, _ in app.lane] == [b"one", b"three"]
        app.lane[1][1](424, [], b"err")
        assert _bodies(transport.data)[-1] == b"err"
        assert b"HTTP/1.1 424" in transport.data
        assert not transport.closed

    asyncio.run(main())


def test_other_requests_take_the_asgi_path() -> None:
    async def main() -> None:
        app = App()
        proto, _ = _connect(app)
        cases = [
            _request("/endpoints/other/invocations", b"x"),  # the app does not route it
            _request("/endpoints/e/invocations?q=1", b"x"),
            _request("/endpoints/e/invocations", b"x" * (FAST_LANE_BYTES + 1)),
            b"POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
            b"GET /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for data in cases:
            proto.data_received(data)
            await asyncio.sleep(0.01)
        assert app.lane == []
        assert len(app.asgi) == len(cases)

    asyncio.run(main())


def test_answers_for_gone_or_closing_connections() -> None:
    async def main() -> None:
        app = App()
        proto, transport = _connect(app)
        proto.data_received(_request("/endpoints/e/invocations", b"x"))
        proto.connection_lost(None)  # the client left while the model worked
        app.lane[0][1](200, [], b"late")
        assert b"late" not in transport.data
        # a graceful shutdown while an answer is pending: answer, then close
        app2 = App()
        proto2, transport2 = _connect(app2)
        proto2.data_received(_request("/endpoints/e/invocations", b"y"))
        proto2.shutdown()
        assert not transport2.closed
        app2.lane[0][1](200, [], b"done")
        assert _bodies(transport2.data) == [b"done"]
        assert transport2.closed

    asyncio.run(main())


def test_workers_run_the_fast_lane() -> None:
    from openmaker.hosting.server import http_protocol

    assert http_protocol() is InvocationProtocol
