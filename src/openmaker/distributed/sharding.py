"""Which part of a channel each host of a multi-host job works on.

``S3DataDistributionType`` (per channel, as in SageMaker):

* ``ShardedByS3Key``: the channel's files are sorted by key and dealt out round-robin, host
  ``algo-(r+1)`` gets files ``r, r + n, r + 2n, ...`` (:func:`shard_files`); each host reads
  only its own files. There must be at least as many files as hosts.
* ``FullyReplicated`` (the default): every host sees every file. A data-parallel algorithm
  then splits the *records*: host ``r`` works on batches ``r, r + n, ...`` of the stream
  (:func:`local_part`), so the hosts together still see every record exactly once, and the
  merged statistics equal a one-host pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from openmaker.errors import ChannelError

if TYPE_CHECKING:
    from openmaker.distributed.collective import Collective
    from openmaker.spec.algorithm import ChannelInput

T = TypeVar("T")

SHARDED = "ShardedByS3Key"
REPLICATED = "FullyReplicated"


def shard_files(
    files: Sequence[str], rank: int, size: int, distribution: str, channel: str = ""
) -> list[str]:
    """The files host ``rank`` of ``size`` gets for a channel.

    Raises:
        ChannelError: ``ShardedByS3Key`` with fewer files than hosts (a host would get none).
    """
    if size <= 1 or distribution != SHARDED:
        return list(files)
    ordered = sorted(files)
    if len(ordered) < size:
        raise ChannelError(
            f"Channel {channel!r} is {SHARDED} over {size} hosts but holds {len(ordered)} "
            f"file(s); give it at least {size} files or use {REPLICATED}",
            channel=channel or None,
        )
    return ordered[rank::size]


def stride(items: Iterable[T], rank: int, size: int) -> Iterator[T]:
    """Items ``rank, rank + size, ...`` of a stream."""
    for i, item in enumerate(items):
        if i % size == rank:
            yield item


def local_part(items: Iterable[T], channel: ChannelInput, comm: Collective) -> Iterator[T]:
    """This host's batches of a channel's stream: all of them for a sharded channel (the host
    already holds only its files), every ``size``-th batch of a replicated one."""
    if comm.size <= 1 or getattr(channel, "distribution", REPLICATED) == SHARDED:
        yield from items
    else:
        yield from stride(items, comm.rank, comm.size)


def describe(channel: Any, comm: Collective) -> str:
    """One log line's worth: what this host reads of a channel."""
    how = getattr(channel, "distribution", REPLICATED)
    if comm.size <= 1:
        return f"channel {channel.name!r}: all records"
    if how == SHARDED:
        return f"channel {channel.name!r}: this host's files ({SHARDED})"
    return f"channel {channel.name!r}: every {comm.size}th batch from {comm.rank} ({REPLICATED})"
