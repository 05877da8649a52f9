"""Malformed requests against ``openmaker serve``: its fast lane and its ASGI path answer each
with a documented 4xx, in the same bytes, and the worker lives on.

Every body of :func:`openmaker.testing.malformed.model_bodies` is sent on one kept-alive
connection (the fast lane, :mod:`openmaker.hosting.protocol`) and again with
``Connection: close`` (uvicorn's ASGI path); then broken HTTP framing on raw sockets.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from openmaker.testing.malformed import model_bodies, raw_http
from openmaker.testing.problems import encode_request

from .conftest import N_FEATURES, ServerProcess, deploy

PATH = "/endpoints/fuzz/invocations"
TYPES = ("text/csv", "text/libsvm", "application/json", "application/jsonlines",
         "application/x-recordio-protobuf", "application/x-npy")  # fmt: skip
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def worker(module_home: Path, model_uri: str) -> Iterator[ServerProcess]:
    deploy("fuzz", [("A", model_uri, 1.0)])
    proc = ServerProcess(workers=1)
    try:
        yield proc
    finally:
        proc.close()


def _request(body: bytes, content_type: str, *, close: bool = False) -> bytes:
    head = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
            f"Content-Type: {content_type}", "Accept: application/json"]  # fmt: skip
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _read(stream: socket.SocketIO | object) -> Answer:
    status_line = stream.readline()  # type: ignore[attr-defined]
    assert status_line, "the connection closed before an answer"
    headers: dict[str, str] = {}
    while (line := stream.readline().rstrip(b"\r\n")) != b"":  # type: ignore[attr-defined]
        name, value = line.decode("latin-1").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", 0)))  # type: ignore[attr-defined]
    return int(status_line.split()[1]), headers, body


def _problem(answer: Answer) -> str | None:
    status, headers, body = answer
    if status == 200:
        return None
    if status not in (400, 413, 415):
        return f"{status}: {body[:200]!r}"
    if headers.get("x-amzn-errortype") != "ValidationError" or b'"message"' not in body:
        return f"{status} not in the runtime's error shape: {headers} {body[:200]!r}"
    return None


def test_malformed_bodies_on_both_paths(worker: ServerProcess) -> None:
    X = np.random.default_rng(0).normal(size=(3, N_FEATURES)).astype("float32")
    cases = model_bodies({ct: encode_request(X, ct) for ct in TYPES})
    failures = []
    with socket.create_connection(("127.0.0.1", worker.port), timeout=30) as sock:
        stream = sock.makefile("rb")
        for content_type, case in cases:
            sock.sendall(_request(case.body, content_type))  # kept alive: the fast lane
            fast = _read(stream)
            with socket.create_connection(("127.0.0.1", worker.port), timeout=30) as other:
                other.sendall(_request(case.body, content_type, close=True))
                slow = _read(other.makefile("rb"))
            problem = _problem(fast) or _problem(slow)
            if problem is None and (fast[0], fast[2]) != (slow[0], slow[2]):
                problem = f"fast lane {fast[0]} {fast[2][:80]!r} != ASGI {slow[0]} {slow[2][:80]!r}"
            if problem is not None:
                failures.append(f"{content_type} / {case.name}: {problem}")
        sock.sendall(_request(b"1,2,3,4", "text/csv"))
        assert _read(stream)[0] == 200  # the same connection still serves
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures)


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_broken_framing_and_the_worker_lives_on(worker: ServerProcess) -> None:
    import re

    pid = worker.proc.pid
    failures = []
    for case in raw_http(PATH, {"Content-Type": "text/csv"}, b"1,2,3,4"):
        answer = _raw(worker.port, case.body)
        for status in re.findall(rb"^HTTP/1\.[01] (\d{3})", answer, flags=re.M):
            if int(status) >= 500:
                failures.append(f"{case.name}: {answer[:300]!r}")
    # a body that stops early on a kept-alive connection, then the client leaves
    with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as sock:
        sock.sendall(_request(b"1,2,3,4", "text/csv").replace(b"Length: 7", b"Length: 70"))
    assert not failures, "\n".join(failures)
    assert worker.proc.poll() is None and worker.proc.pid == pid
    with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as sock:
        sock.sendall(_request(b"1,2,3,4", "text/csv", close=True))
        status, _, body = _read(sock.makefile("rb"))
    assert status == 200 and body
