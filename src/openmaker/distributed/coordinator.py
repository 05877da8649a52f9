"""The rendezvous and reduction point of a multi-host job (a star: every host talks to it).

One :class:`Coordinator` serves one job. It is started before the hosts (by the job's
supervisor for the ``local`` executor, by host ``algo-1``'s Ray actor for the ``ray`` executor)
and runs in a background thread. Each host connects once, authenticates with the job's token
and its rank, then every collective call is a *round*: the coordinator reads one request from
every rank (in rank order), checks they all asked for the same operation, and answers each:

* ``allreduce``: a list of numpy arrays from each rank; every rank gets the element-wise sums,
  added in rank order (so the result does not depend on timing);
* ``allgather``: any picklable object from each rank; every rank gets the list by rank;
* ``close``: the rank is done (every rank must close in the same round).

A rank whose connection drops, or which asks for a different operation than the others, ends
the job's collective: the others get an ``abort`` answer naming the host and the operation,
and raise :class:`~openmaker.errors.PlatformError`. Nobody waits forever on a dead host.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import socket
import threading
from typing import Any

import numpy as np

from openmaker.distributed.wire import HELLO, MAGIC, no_delay, recv_exact, recv_frame, send_frame

#: Seconds the coordinator waits for every host to connect before it gives up.
CONNECT_TIMEOUT = 600.0


def new_token() -> str:
    """A fresh secret for one job's coordinator (hex, 32 characters)."""
    return secrets.token_hex(16)


def host_name(rank: int) -> str:
    """SageMaker's host name of a rank: ``algo-<rank + 1>``."""
    return f"algo-{rank + 1}"


def reduce_sum(parts: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Element-wise sums of each rank's arrays, added in rank order."""
    first = parts[0]
    if any(len(p) != len(first) for p in parts):
        raise ValueError("ranks sent different numbers of arrays")
    out = [np.array(a, copy=True) for a in first]
    for p in parts[1:]:
        for i, a in enumerate(p):
            if np.shape(a) != out[i].shape:
                raise ValueError(f"array {i}: shapes {out[i].shape} and {np.shape(a)} differ")
            out[i] = out[i] + a
    return out


class Coordinator:
    """Serves one job's collective operations over TCP.

    Args:
        size: number of hosts.
        token: the job's secret (hex); hosts must present it.
        bind: address to listen on (``127.0.0.1`` for one machine, ``0.0.0.0`` for a cluster).
        advertise: the host name or IP the hosts connect to (default: ``bind``).
    """

    def __init__(
        self, size: int, token: str, bind: str = "127.0.0.1", advertise: str | None = None
    ) -> None:
        self.size = size
        self._token = bytes.fromhex(token).ljust(32, b"\0")
        self._server = socket.create_server((bind, 0))
        self._server.settimeout(1.0)
        port = self._server.getsockname()[1]
        self.address = f"{advertise or bind}:{port}"
        self.error: str | None = None
        self.rounds = 0
        self._conns: dict[int, socket.socket] = {}
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name="openmaker-coordinator", daemon=True
        )

    def start(self) -> Coordinator:
        """Start serving in a background thread; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close every connection."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        for conn in list(self._conns.values()):
            with contextlib.suppress(OSError):
                conn.close()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the serving thread to end."""
        self._thread.join(timeout)

    # --- serving -----------------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            self._accept_all()
            while not self._closed.is_set() and self._conns:
                self._round()
        except _Abort as exc:
            self.error = str(exc)
            self._broadcast_abort(str(exc))
        except OSError as exc:
            if not self._closed.is_set():
                self.error = f"coordinator failed: {exc}"
                self._broadcast_abort(self.error)
        finally:
            self.close()

    def _accept_all(self) -> None:
        import time

        deadline = time.monotonic() + CONNECT_TIMEOUT
        while len(self._conns) < self.size:
            if self._closed.is_set():
                raise OSError("closed")
            if time.monotonic() > deadline:
                missing = [host_name(r) for r in range(self.size) if r not in self._conns]
                raise _Abort(f"host(s) {', '.join(missing)} never joined the job")
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            rank = self._authenticate(conn)
            if rank is None:
                with contextlib.suppress(OSError):
                    conn.close()
                continue
            _keepalive(conn)
            no_delay(conn)
            self._conns[rank] = conn

    def _authenticate(self, conn: socket.socket) -> int | None:
        try:
            conn.settimeout(10.0)
            magic, token, rank = HELLO.unpack(recv_exact(conn, HELLO.size))
            conn.settimeout(None)
        except (OSError, ValueError):
            return None
        if magic != MAGIC or not hmac.compare_digest(token, self._token):
            return None
        if not 0 <= rank < self.size or rank in self._conns:
            return None
        return int(rank)

    def _round(self) -> None:
        requests: list[tuple[str, Any]] = []
        for rank in range(self.size):
            try:
                op, payload = recv_frame(self._conns[rank])
            except (OSError, EOFError, ValueError) as exc:
                done = requests[0][0] if requests else "a collective operation"
                raise _Abort(
                    f"host {host_name(rank)} left the job during {done} "
                    f"(its connection was lost: {exc})"
                ) from None
            requests.append((op, payload))
        ops = {op for op, _ in requests}
        if len(ops) > 1:
            detail = ", ".join(f"{host_name(r)}: {op}" for r, (op, _) in enumerate(requests))
            raise _Abort(f"hosts called different collective operations ({detail})")
        op = requests[0][0]
        self.rounds += 1
        if op == "close":
            for conn in self._conns.values():
                with contextlib.suppress(OSError):
                    send_frame(conn, ("ok", None))
            self._closed.set()
            return
        if op == "allreduce":
            try:
                result: Any = reduce_sum([p for _, p in requests])
            except (ValueError, TypeError) as exc:
                raise _Abort(f"allreduce: the hosts sent mismatched arrays ({exc})") from None
        elif op == "allgather":
            result = [p for _, p in requests]
        else:
            raise _Abort(f"unknown collective operation {op!r}")
        for rank, conn in self._conns.items():
            try:
                send_frame(conn, ("ok", result))
            except OSError as exc:
                raise _Abort(
                    f"host {host_name(rank)} left the job during {op} (send failed: {exc})"
                ) from None

    def _broadcast_abort(self, reason: str) -> None:
        for conn in list(self._conns.values()):
            with contextlib.suppress(OSError):
                conn.settimeout(2.0)
                send_frame(conn, ("abort", reason))


class _Abort(Exception):
    """Ends the job's collective with a reason every host is told."""


def _keepalive(sock: socket.socket) -> None:
    """Notice a vanished peer machine within about a minute, not hours."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
