"""The coordinator's wire format: length-prefixed frames over TCP, authenticated first.

A connection opens with a fixed-size hello (magic, the job's secret token, the rank) that is
checked with :func:`hmac.compare_digest` before anything is unpickled, so only the job's own
workers can talk to its coordinator. After the hello every message is one frame: an 8-byte
big-endian length, then a pickle (protocol 5: numpy arrays travel as raw buffers).
"""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

#: Environment variables the supervisor sets for a multi-host job's processes (here, not in
#: the collective, so that the supervisor reads them without importing numpy).
ADDRESS_ENV = "OPENMAKER_COLLECTIVE_ADDRESS"
TOKEN_ENV = "OPENMAKER_COLLECTIVE_TOKEN"
#: The IP address this host's processes can be reached at by the other hosts.
HOST_IP_ENV = "OPENMAKER_HOST_IP"

MAGIC = b"OMCOLL1\0"
TOKEN_BYTES = 32
HELLO = struct.Struct(f"!{len(MAGIC)}s{TOKEN_BYTES}sI")
LENGTH = struct.Struct("!Q")


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes; ConnectionError when the peer closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ConnectionError("connection closed by the peer")
        got += k
    return bytes(buf)


def send_frame(sock: socket.socket, obj: Any) -> None:
    """Send one pickled object."""
    data = pickle.dumps(obj, protocol=5)
    if len(data) < 1 << 20:
        sock.sendall(LENGTH.pack(len(data)) + data)
    else:  # no copy of a large payload
        sock.sendall(LENGTH.pack(len(data)))
        sock.sendall(data)


def no_delay(sock: socket.socket) -> None:
    """Small frames go out at once (a round trip per collective call, not per 40 ms)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def recv_frame(sock: socket.socket) -> Any:
    """Receive one pickled object (only after the hello was checked)."""
    (n,) = LENGTH.unpack(recv_exact(sock, LENGTH.size))
    return pickle.loads(recv_exact(sock, n))


def hello(token: bytes, rank: int) -> bytes:
    """The first bytes a worker sends."""
    return HELLO.pack(MAGIC, token, rank)
