"""The collective API the distributed algorithms use: they say *what* to merge, not how.

Every host of a job runs the same algorithm code; at the points where the hosts' partial
results meet, it calls one of these (every host must make the same calls in the same order)::

    with connect(context) as comm:
        n, total, gram = comm.allreduce_sum([n, total, gram])   # same sums on every host
        basis = comm.broadcast(basis if comm.is_leader else None)
        if comm.is_leader:
            save(...)                                            # algo-1 writes the model

:class:`SingleHost` serves one-host jobs (every call is the identity), so an algorithm's
distributed code path is also its single-host path. :class:`TcpCollective` talks to the job's
:class:`~openmaker.distributed.coordinator.Coordinator`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import numpy as np

# The environment variables live in wire (no numpy); re-exported here for the algorithms.
from openmaker.distributed.wire import ADDRESS_ENV as ADDRESS_ENV
from openmaker.distributed.wire import HOST_IP_ENV as HOST_IP_ENV
from openmaker.distributed.wire import TOKEN_ENV as TOKEN_ENV
from openmaker.errors import PlatformError
from openmaker.spec.algorithm import TrainingContext

#: Seconds a host keeps trying to reach the coordinator.
CONNECT_SECONDS = 120.0


class HostLeftError(PlatformError):
    """Another host left the job (failed or was lost), so this one cannot go on."""


class Collective:
    """One host's handle on the job's collective operations.

    Attributes:
        rank: this host's index (``algo-1`` is 0).
        size: number of hosts.
    """

    rank: int = 0
    size: int = 1

    @property
    def is_leader(self) -> bool:
        """Whether this host is ``algo-1`` (it writes the model and the final metric lines)."""
        return self.rank == 0

    def allreduce_sum(self, arrays: Sequence[Any]) -> list[np.ndarray]:
        """Element-wise sums over the hosts of each array (scalars become 0-d arrays)."""
        raise NotImplementedError

    def allgather(self, obj: Any) -> list[Any]:
        """Every host's ``obj``, by rank."""
        raise NotImplementedError

    def broadcast(self, obj: Any, root: int = 0) -> Any:
        """``root``'s ``obj`` on every host (the others pass anything, usually None)."""
        return self.allgather(obj if self.rank == root else None)[root]

    def barrier(self) -> None:
        """Return once every host got here."""
        self.allgather(None)

    def close(self) -> None:
        """Leave the collective (every host, at the end)."""

    def __enter__(self) -> Collective:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:  # a failing host just leaves; the coordinator tells the others
            self.abandon()

    def abandon(self) -> None:
        """Drop out without the closing handshake (the others are told this host left)."""


class SingleHost(Collective):
    """The collective of a one-host job: every operation returns its input."""

    def allreduce_sum(self, arrays: Sequence[Any]) -> list[np.ndarray]:
        return [np.array(a, copy=True) for a in arrays]

    def allgather(self, obj: Any) -> list[Any]:
        return [obj]


class TcpCollective(Collective):
    """A host's connection to the job's coordinator.

    Args:
        address: ``host:port`` of the coordinator.
        token: the job's secret (hex).
        rank: this host's index.
        size: number of hosts.
    """

    def __init__(self, address: str, token: str, rank: int, size: int) -> None:
        from openmaker.distributed.coordinator import _keepalive
        from openmaker.distributed.wire import hello, no_delay

        self.rank, self.size, self.address = rank, size, address
        host, _, port = address.rpartition(":")
        deadline = time.monotonic() + CONNECT_SECONDS
        while True:
            try:
                self._sock = socket.create_connection((host, int(port)), timeout=10.0)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise PlatformError(
                        f"host algo-{rank + 1} could not reach the job's coordinator at "
                        f"{address}: {exc}"
                    ) from exc
                time.sleep(0.2)
        self._sock.settimeout(None)
        _keepalive(self._sock)
        no_delay(self._sock)
        self._sock.sendall(hello(bytes.fromhex(token).ljust(32, b"\0"), rank))
        self._open = True

    def _call(self, op: str, payload: Any) -> Any:
        from openmaker.distributed.wire import recv_frame, send_frame

        if not self._open:
            raise PlatformError(f"collective {op} after the host left the job")
        try:
            send_frame(self._sock, (op, payload))
            status, result = recv_frame(self._sock)
        except (OSError, EOFError) as exc:
            self._open = False
            raise HostLeftError(
                f"host algo-{self.rank + 1} lost the job's coordinator during {op}: {exc}"
            ) from exc
        if status == "abort":
            self._open = False
            raise HostLeftError(f"distributed training was aborted: {result}")
        return result

    def allreduce_sum(self, arrays: Sequence[Any]) -> list[np.ndarray]:
        result: list[np.ndarray] = self._call("allreduce", [np.asarray(a) for a in arrays])
        return result

    def allgather(self, obj: Any) -> list[Any]:
        result: list[Any] = self._call("allgather", obj)
        return result

    def close(self) -> None:
        if self._open:
            self._call("close", None)
            self.abandon()

    def abandon(self) -> None:
        self._open = False
        with contextlib.suppress(OSError):
            self._sock.close()


def host_rank(context: TrainingContext) -> tuple[int, int]:
    """``(rank, size)`` of this host in the job (``algo-1`` is rank 0)."""
    hosts = list(context.hosts) or ["algo-1"]
    rank = hosts.index(context.current_host) if context.current_host in hosts else 0
    return rank, len(hosts)


def connect(context: TrainingContext) -> Collective:
    """The collective of the running job: :class:`SingleHost` for one host, else TCP.

    A multi-host job's processes find the coordinator in ``OPENMAKER_COLLECTIVE_ADDRESS`` and
    its secret in ``OPENMAKER_COLLECTIVE_TOKEN`` (the supervisor sets both).

    Raises:
        PlatformError: several hosts but no coordinator, or the coordinator cannot be reached.
    """
    rank, size = host_rank(context)
    if size == 1:
        return SingleHost()
    address = os.environ.get(ADDRESS_ENV)
    token = os.environ.get(TOKEN_ENV)
    if not address or not token:
        raise PlatformError(
            f"the job has {size} hosts but no coordinator ({ADDRESS_ENV} / {TOKEN_ENV} unset)"
        )
    return TcpCollective(address, token, rank, size)
