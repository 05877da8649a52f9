"""Data-parallel training across a job's hosts: a small collective API and data sharding.

The hosts of a multi-host training job (``ResourceConfig.InstanceCount`` > 1) run the same
algorithm code, each on its share of the data; they combine their partial results through
:func:`connect`'s :class:`Collective` (``allreduce_sum``, ``allgather``, ``broadcast``). The same
code runs one host (every call is then the identity), N local processes (``local`` executor) or
N Ray actors on a cluster (``ray`` executor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.distributed.collective import Collective, SingleHost, TcpCollective, connect
    from openmaker.distributed.coordinator import Coordinator
    from openmaker.distributed.sharding import local_part, shard_files

__all__ = [
    "Collective",
    "Coordinator",
    "SingleHost",
    "TcpCollective",
    "connect",
    "local_part",
    "shard_files",
]

_WHERE = {
    "Collective": "collective",
    "SingleHost": "collective",
    "TcpCollective": "collective",
    "connect": "collective",
    "Coordinator": "coordinator",
    "local_part": "sharding",
    "shard_files": "sharding",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"openmaker.distributed.{_WHERE[name]}"), name)
    raise AttributeError(name)
