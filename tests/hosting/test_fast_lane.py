"""The serving worker's HTTP fast lane (openmaker.hosting.protocol), over raw sockets.

Every case is answered twice by one real worker: on a keep-alive connection (the fast lane) and
with ``Connection: close`` (uvicorn's ASGI path); the answers must be the same. Then the HTTP
cases the fast lane hands to uvicorn (pipelining, ``Expect: 100-continue``, chunked and large
bodies, HTTP/1.0, unknown endpoints) and a client that leaves before its answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ServerProcess, deploy

Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def one_worker(module_home: Path, model_uri: str) -> Iterator[ServerProcess]:
    deploy("lane", [("A", model_uri, 1.0), ("B", model_uri, 1.0)])
    proc = ServerProcess(workers=1)
    try:
        yield proc
    finally:
        proc.close()


def _request(path: str, body: bytes, headers: dict[str, str], *, close: bool = False) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _read(stream: socket.SocketIO | object) -> Answer:
    status_line = stream.readline()  # type: ignore[attr-defined]
    assert status_line, "connection closed before an answer"
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := stream.readline().rstrip(b"\r\n")) != b"":  # type: ignore[attr-defined]
        name, value = line.decode().split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", 0)))  # type: ignore[attr-defined]
    return status, headers, body


def _exchange(port: int, data: bytes, answers: int = 1) -> list[Answer]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        stream = sock.makefile("rb")
        return [_read(stream) for _ in range(answers)]


def _same_view(answer: Answer) -> tuple[int, str | None, str | None, str | None, bytes]:
    status, headers, body = answer
    return (
        status,
        headers.get("content-type"),
        headers.get("x-amzn-invoked-production-variant"),
        headers.get("x-amzn-errortype"),
        body,
    )


CASES = [
    ("/endpoints/lane/invocations", b"1,2,3,4", {"Content-Type": "text/csv",
                                                  "X-Amzn-SageMaker-Target-Variant": "A"}),
    ("/endpoints/lane/invocations", b"1,2,3,4\n", {"Content-Type": "text/csv",
                                                    "Accept": "application/json",
                                                    "X-Amzn-SageMaker-Target-Variant": "B"}),
    ("/endpoints/lane/invocations", b"1,2,3,4\n5,6,7,8", {"Content-Type": "text/csv",
                                                          "X-Amzn-SageMaker-Target-Variant": "A"}),
    ("/endpoints/lane/invocations", b"1,2,3,4", {"Content-Type": "image/png"}),
    ("/endpoints/lane/invocations", b"1,2,x,4", {"Content-Type": "text/csv"}),
    ("/endpoints/lane/invocations", b"1,2,3", {"Content-Type": "text/csv"}),
    ("/endpoints/lane/invocations", b"1,2,3,4", {"Content-Type": "text/csv",
                                                  "Accept": "image/png"}),
    ("/endpoints/lane/invocations", b"1,2,3,4", {"Content-Type": "text/csv",
                                                  "X-Amzn-SageMaker-Target-Variant": "Nope"}),
    ("/endpoints/lane/invocations", b"", {"Content-Type": "text/csv"}),
    ("/invocations", b"1,2,3,4", {"Content-Type": "text/csv",
                                   "X-Amzn-SageMaker-Target-Variant": "A"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "headers"), CASES)
def test_fast_lane_answers_as_the_asgi_path(
    one_worker: ServerProcess, path: str, body: bytes, headers: dict[str, str]
) -> None:
    (fast,) = _exchange(one_worker.port, _request(path, body, headers))
    (asgi,) = _exchange(one_worker.port, _request(path, body, headers, close=True))
    assert _same_view(fast) == _same_view(asgi)
    if fast[0] != 200:
        assert b"message" in fast[2]


def test_keep_alive_and_pipelined_requests_are_answered_in_order(
    one_worker: ServerProcess,
) -> None:
    bodies = [f"{i},0,0,0".encode() for i in range(6)]
    alone = [_exchange(one_worker.port, _request("/endpoints/lane/invocations", b,
                                                 {"Content-Type": "text/csv"}))[0][2]
             for b in bodies]  # fmt: skip
    # all six in one write: the first takes the fast lane, the rest queue behind it
    burst = b"".join(
        _request("/endpoints/lane/invocations", b, {"Content-Type": "text/csv"}) for b in bodies
    )
    answers = _exchange(one_worker.port, burst, answers=len(bodies))
    assert [a[0] for a in answers] == [200] * len(bodies)
    assert [a[2] for a in answers] == alone
    # and one after the other on one kept-alive connection
    with socket.create_connection(("127.0.0.1", one_worker.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        for body, expected in zip(bodies * 5, alone * 5, strict=True):
            sock.sendall(_request("/endpoints/lane/invocations", body,
                                  {"Content-Type": "text/csv"}))  # fmt: skip
            status, _, out = _read(stream)
            assert (status, out) == (200, expected)


def test_requests_the_lane_hands_to_uvicorn(one_worker: ServerProcess) -> None:
    port = one_worker.port
    path = "/endpoints/lane/invocations"
    (expected,) = _exchange(port, _request(path, b"1,2,3,4", {"Content-Type": "text/csv"}))
    assert expected[0] == 200
    # Expect: 100-continue
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = _request(path, b"", {"Content-Type": "text/csv", "Expect": "100-continue"})
        sock.sendall(head.replace(b"Content-Length: 0", b"Content-Length: 7"))
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 100")
        stream.readline()
        sock.sendall(b"1,2,3,4")
        assert _read(stream)[2] == expected[2]
    # chunked body
    chunked = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        "Transfer-Encoding: chunked\r\n\r\n3\r\n1,2\r\n4\r\n,3,4\r\n0\r\n\r\n"
    ).encode()
    assert _exchange(port, chunked)[0][2] == expected[2]
    # HTTP/1.0: answered, then the connection closes
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request(path, b"1,2,3,4", {"Content-Type": "text/csv"})
                     .replace(b"HTTP/1.1", b"HTTP/1.0"))  # fmt: skip
        stream = sock.makefile("rb")
        assert _read(stream)[2] == expected[2]
        assert stream.read() == b""
    # a body over the lane's limit (many rows)
    big = b"\n".join([b"1,2,3,4"] * 20_000)
    status, _, out = _exchange(port, _request(path, big, {"Content-Type": "text/csv"}))[0]
    assert status == 200 and out.count(b"\n") == 19_999
    # a query string, and an unknown endpoint (SageMaker's error)
    (query,) = _exchange(port, _request(path + "?x=1", b"1,2,3,4", {"Content-Type": "text/csv"}))
    assert query[2] == expected[2]
    (unknown,) = _exchange(
        port, _request("/endpoints/nope/invocations", b"1,2,3,4", {"Content-Type": "text/csv"})
    )
    assert unknown[0] == 400 and b"Endpoint nope" in unknown[2]
    assert unknown[1]["x-amzn-errortype"] == "ValidationError"


def test_clients_that_leave_do_not_hurt_the_worker(one_worker: ServerProcess) -> None:
    request = _request("/endpoints/lane/invocations", b"1,2,3,4", {"Content-Type": "text/csv"})
    for _ in range(50):  # send and hang up before (or while) the answer is written
        with socket.create_connection(("127.0.0.1", one_worker.port), timeout=10) as sock:
            sock.sendall(request * 3)
    time.sleep(0.2)
    (after,) = _exchange(one_worker.port, request)
    assert after[0] == 200
    assert one_worker.proc.poll() is None
