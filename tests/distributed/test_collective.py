"""The collective API and its coordinator: sums, gathers, broadcasts, and failing loudly."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from openmaker.distributed.collective import (
    HostLeftError,
    SingleHost,
    TcpCollective,
    connect,
)
from openmaker.distributed.coordinator import Coordinator, new_token, reduce_sum
from openmaker.distributed.sharding import local_part, shard_files, stride
from openmaker.errors import ChannelError, PlatformError
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def run_hosts(size: int, body: Callable[[TcpCollective], Any]) -> tuple[list[Any], Coordinator]:
    """Run ``body`` on ``size`` threads, each a host; returns each host's result or error."""
    token = new_token()
    coordinator = Coordinator(size, token).start()
    results: list[Any] = [None] * size

    def host(rank: int) -> None:
        try:
            comm = TcpCollective(coordinator.address, token, rank, size)
            results[rank] = body(comm)
        except Exception as exc:
            results[rank] = exc

    threads = [threading.Thread(target=host, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a host hung"
    coordinator.close()
    return results, coordinator


def test_allreduce_allgather_broadcast_barrier() -> None:
    def body(comm: TcpCollective) -> Any:
        with comm:
            sums = comm.allreduce_sum([np.full((2, 2), comm.rank + 1.0), np.float64(comm.rank)])
            gathered = comm.allgather({"rank": comm.rank})
            shared = comm.broadcast(f"from {comm.rank}" if comm.is_leader else None)
            comm.barrier()
            return sums, gathered, shared

    results, coordinator = run_hosts(3, body)
    for sums, gathered, shared in results:
        np.testing.assert_array_equal(sums[0], np.full((2, 2), 6.0))
        assert float(sums[1]) == 3.0
        assert gathered == [{"rank": 0}, {"rank": 1}, {"rank": 2}]
        assert shared == "from 0"
    assert coordinator.error is None


def test_sums_are_added_in_rank_order() -> None:
    # float32 addition is not associative: the order is fixed, so the result is reproducible
    parts = [[np.float32(1e8)], [np.float32(1.0)], [np.float32(-1e8)]]
    assert reduce_sum(parts)[0] == (np.float32(1e8) + np.float32(1.0)) + np.float32(-1e8)


def test_a_host_that_leaves_aborts_the_others_with_its_name() -> None:
    def body(comm: TcpCollective) -> Any:
        if comm.rank == 1:
            comm.abandon()  # its process died
            return "gone"
        return comm.allreduce_sum([np.ones(3)])

    results, coordinator = run_hosts(3, body)
    for rank in (0, 2):
        assert isinstance(results[rank], HostLeftError)
        assert "algo-2" in str(results[rank])
    assert coordinator.error is not None and "algo-2" in coordinator.error


def test_mismatched_calls_abort() -> None:
    def body(comm: TcpCollective) -> Any:
        if comm.rank == 0:
            return comm.allreduce_sum([np.ones(2)])
        return comm.allgather("x")

    results, _ = run_hosts(2, body)
    assert all(isinstance(r, HostLeftError) for r in results)
    assert "different collective operations" in str(results[0])


def test_mismatched_shapes_abort() -> None:
    def body(comm: TcpCollective) -> Any:
        return comm.allreduce_sum([np.ones(2 + comm.rank)])

    results, _ = run_hosts(2, body)
    assert all(isinstance(r, HostLeftError) for r in results)
    assert "mismatched arrays" in str(results[0])


def test_a_wrong_token_is_refused_before_anything_is_unpickled() -> None:
    token = new_token()
    coordinator = Coordinator(1, token).start()
    try:
        host, port = coordinator.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"OMCOLL1\0" + b"\0" * 32 + (0).to_bytes(4, "big"))
            sock.settimeout(5)
            assert sock.recv(1) == b""  # closed on us
        ok = TcpCollective(coordinator.address, token, 0, 1)
        assert ok.allgather(7) == [7]
        ok.close()
    finally:
        coordinator.close()


def test_connect_single_host_and_missing_coordinator(tmp_path, monkeypatch) -> None:
    ctx = TrainingContext("j", tmp_path, tmp_path, tmp_path)
    comm = connect(ctx)
    assert isinstance(comm, SingleHost) and comm.size == 1 and comm.is_leader
    assert comm.allreduce_sum([np.arange(3)])[0].tolist() == [0, 1, 2]
    assert comm.broadcast("x") == "x"
    monkeypatch.delenv("OPENMAKER_COLLECTIVE_ADDRESS", raising=False)
    two = TrainingContext("j", tmp_path, tmp_path, tmp_path, hosts=("algo-1", "algo-2"))
    with pytest.raises(PlatformError, match="no coordinator"):
        connect(two)


def test_shard_files_round_robin_over_sorted_keys() -> None:
    files = ["s3://b/p/c", "s3://b/p/a", "s3://b/p/d", "s3://b/p/b", "s3://b/p/e"]
    shards = [shard_files(files, r, 2, "ShardedByS3Key") for r in range(2)]
    assert shards == [["s3://b/p/a", "s3://b/p/c", "s3://b/p/e"], ["s3://b/p/b", "s3://b/p/d"]]
    assert shard_files(files, 1, 2, "FullyReplicated") == files
    with pytest.raises(ChannelError, match="at least 3 files"):
        shard_files(files[:2], 0, 3, "ShardedByS3Key", "train")


def test_local_part_strides_only_replicated_channels() -> None:
    class Comm(SingleHost):
        rank, size = 1, 3

    replicated = ChannelInput("train", "text/csv")
    sharded = ChannelInput("train", "text/csv", distribution="ShardedByS3Key")
    assert list(local_part(range(8), replicated, Comm())) == [1, 4, 7]
    assert list(local_part(range(8), sharded, Comm())) == list(range(8))
    assert list(stride(range(5), 0, 2)) == [0, 2, 4]
