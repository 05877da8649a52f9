"""K-Means over several hosts (``InstanceCount`` > 1): each host streams its shard.

1. **Seeding**: ``algo-1`` draws the ``K`` initial centres from the first records of its part,
   as one host would, and broadcasts them (with the reference point) to every host.
2. **Streaming**: each host runs the mini-batch updates of
   :class:`~openmaker.algorithms.kmeans.state.StreamState` over its own part of the epoch.
   At the end of every epoch the hosts' states are merged: what each host added to a centre
   during the epoch (its weighted sum and weight, beyond the state all hosts started the epoch
   from) is summed over the hosts, so every record counts once. With
   ``half_life_time_size`` the state of the epoch's start decays by the records of all hosts;
   a host's own additions decay only by its own later records.
3. **Reduction** of the ``K`` centres to ``k`` runs on ``algo-1`` (the same code and seed as
   one host) and is broadcast.
4. **Refinement pass**: per-centre sums (:class:`~openmaker.algorithms.kmeans.state.EpochStats`)
   of every host's part, summed exactly; the final centres, ``weights`` and ``train msd`` are
   those of the whole channel. The ``test`` channel's ssd is summed the same way.

Documented difference from one host: in step 2 each host moves the centres with its own records
only, and the hosts' moves meet once per epoch (like several independent streams averaged), so
the ``K`` streamed centres, hence the final ``k`` centres, differ slightly from a one-host run;
steps 3-4 then make them comparable in quality (the refinement pass is an exact Lloyd step on
all the data). Communication per epoch: ``K x (d + 1)`` floats per host.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog
from openmaker.algorithms.kmeans.distance import nearest
from openmaker.algorithms.kmeans.inputs import feature_batches
from openmaker.algorithms.kmeans.state import EpochStats, StreamState, cluster_sums
from openmaker.algorithms.kmeans.train import (
    SEED,
    Settings,
    StreamResult,
    _seed_stream,
    epoch_stats,
    refined,
    report_and_save,
    score,
    shrink,
)
from openmaker.distributed.collective import Collective, connect
from openmaker.distributed.sharding import describe, local_part
from openmaker.errors import DataFormatError
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def merge_epoch(
    comm: Collective,
    base: StreamState,
    local: StreamState,
    local_rows: int,
    decay_per_row: float,
) -> tuple[StreamState, int]:
    """The state after an epoch of every host, from each host's ``local`` state.

    Returns:
        The merged state and the number of records all hosts streamed in the epoch.
    """
    f_local = decay_per_row**local_rows
    added = local.counts[:, None] * local.centers - f_local * base.counts[:, None] * base.centers
    weight = local.counts - f_local * base.counts
    added, weight, rows = comm.allreduce_sum([added, weight, np.float64(local_rows)])
    kept = decay_per_row ** float(rows) * base.counts
    counts = kept + weight
    safe = np.where(counts > 0, counts, 1.0)
    centers = np.where(
        counts[:, None] > 0, (kept[:, None] * base.centers + added) / safe[:, None], base.centers
    )
    return StreamState(centers, counts, base.seen + int(rows)), int(rows)


def fit_stream(
    channel: ChannelInput, s: Settings, rng: np.random.Generator, log: MetricLog, comm: Collective
) -> StreamResult:
    """The streamed passes over every host's part, merged after each epoch."""
    state: StreamState | None = None
    ref = np.zeros(s.feature_dim)
    epoch_msd: list[float] = []
    records = 0
    start = time.perf_counter()
    decay_per_row = 0.5 ** (1.0 / s.half_life_time_size) if s.half_life_time_size else 1.0
    for epoch in range(s.epochs):
        batches: Iterator[Any] = local_part(
            feature_batches(channel, s.mini_batch_size, s.feature_dim), channel, comm
        )
        if state is None:
            seeded = None
            if comm.is_leader:
                first, ref, buffer = _seed_stream(batches, s, rng, channel.name)
                log.info(
                    f"initialized {len(first.counts)} centers ({s.init_method}) from the first "
                    f"{sum(int(b.shape[0]) for b in buffer)} records of algo-1"
                )
                batches = itertools.chain(buffer, batches)
                seeded = (first.centers, ref)
            centers, ref = comm.broadcast(seeded)
            state = StreamState.start(centers)
        base = StreamState(state.centers.copy(), state.counts.copy(), state.seen)
        ref32 = ref.astype(np.float32)
        total = 0.0
        rows = 0
        for X in batches:
            n = int(X.shape[0])
            labels, d2 = nearest(X, state.centers, dtype=np.float32, shift=ref32)
            sums, counts = cluster_sums(X, labels, len(state.counts))
            state.apply(sums, counts, n, decay_per_row**n if s.half_life_time_size else 1.0)
            total += float(d2.sum())
            rows += n
        state, records = merge_epoch(comm, base, state, rows, decay_per_row)
        (all_total,) = comm.allreduce_sum([np.float64(total)])
        epoch_msd.append(float(all_total) / max(records, 1))
        if comm.is_leader:
            log.quality("train", "msd", epoch_msd[-1], "loss", epoch=epoch)
            log.progress(100.0 * (epoch + 1) / s.epochs)
    assert state is not None
    return StreamResult(state, ref, records, epoch_msd, time.perf_counter() - start)


def train_distributed(
    hyperparameters: Mapping[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """K-Means' ``train`` on one host of several (``len(context.hosts) > 1``)."""
    log = MetricLog(context)
    s = Settings.from_hyperparameters(hyperparameters)
    train_ch = channels["train"]
    with connect(context) as comm:
        if comm.is_leader:
            log.info(
                "Final configuration: "
                + json.dumps(dict(hyperparameters), sort_keys=True, default=str)
            )
        log.info(f"host {comm.rank + 1} of {comm.size}: {describe(train_ch, comm)}")
        rng = np.random.default_rng(SEED)
        start = time.perf_counter()
        stream = fit_stream(train_ch, s, rng, log, comm)
        reduced = None
        if comm.is_leader:
            reduced = shrink(stream, s, rng, log)
        centers = comm.broadcast(reduced)
        part = local_part(
            feature_batches(train_ch, s.mini_batch_size, s.feature_dim), train_ch, comm
        )
        stats = epoch_stats(part, centers, stream.ref)
        n, sums, squares = comm.allreduce_sum([stats.n, stats.s, stats.ss])
        merged = EpochStats(stream.ref, n, sums, squares)
        centers, weights, train_msd = refined(
            merged, centers, stream.ref, move=not s.half_life_time_size
        )
        if comm.is_leader:
            report_and_save(centers, weights, stream, s, train_msd, start, log, context.model_dir)
        if "test" in channels:
            test = channels["test"]
            batches = feature_batches(test, max(s.mini_batch_size, 1024), s.feature_dim)
            ssd, rows = comm.allreduce_sum(list(score(centers, local_part(batches, test, comm))))
            if int(rows) == 0:
                raise DataFormatError("Channel 'test' contains no records")
            if comm.is_leader:
                values = {"msd": float(ssd) / int(rows), "ssd": float(ssd)}
                log.info(f"test channel: {int(rows)} records")
                for name in s.eval_metrics:
                    log.quality("test", name, values[name], "loss")
                for name in s.eval_metrics:
                    log.final_score("test", name, values[name])
