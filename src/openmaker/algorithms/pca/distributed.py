"""PCA over several hosts (``InstanceCount`` > 1): each host streams its shard, the sums meet.

Every PCA statistic is a sum over rows (:mod:`openmaker.algorithms.pca.stats`), so the hosts
add theirs with one ``allreduce_sum`` per pass and every host then holds the statistics of the
whole channel:

* **regular**: one pass, one allreduce of ``n``, ``Σx`` and ``ΣxᵀX`` (d² floats); the model is
  the one a single host computes from the same rows, up to floating-point summation order.
* **randomized**: the sketch pass, then :data:`~openmaker.algorithms.pca.train.REFINE_PASSES`
  passes, one allreduce each (``ℓ x d`` and ``d x ℓ`` floats); ``algo-1`` computes each new
  basis and broadcasts it. A ``FullyReplicated`` channel keys each batch's sign matrix by its
  index in the whole stream, so the sketch is the one-host sketch and so is the model (up to
  summation order); with ``ShardedByS3Key`` the batches are keyed by ``(host, batch)``, a
  different but equally random sketch: the components agree with one host's to the accuracy
  of the randomized method, not bit for bit.

``algo-1`` prints the metric lines and writes ``model_algo-1``; the ``test`` channel's error
sums are added across hosts the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from openmaker.algorithms.pca.inputs import feature_batches, read_rows
from openmaker.algorithms.pca.solve import PCAResult, sketch_basis, solve_randomized, solve_regular
from openmaker.algorithms.pca.spec import sketch_size
from openmaker.algorithms.pca.stats import CovarianceStats, RefineStats, SketchStats
from openmaker.algorithms.pca.train import (
    REFINE_PASSES,
    SKETCH_SEED,
    _Log,
    _warn,
    evaluation_sums,
    save,
)
from openmaker.distributed.collective import Collective, connect
from openmaker.distributed.sharding import SHARDED, describe, local_part
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def keyed_batches(
    channel: ChannelInput, batch_rows: int, d: int, comm: Collective
) -> Iterator[tuple[tuple[int, int], Any]]:
    """This host's batches with the key of their sign matrix (see the module docstring)."""
    batches = feature_batches(channel, batch_rows, d)
    if comm.size > 1 and channel.distribution == SHARDED:
        for i, X in enumerate(batches):
            yield (comm.rank, i), X
        return
    for i, X in enumerate(batches):
        if i % comm.size == comm.rank:
            yield (0, i), X


def fit_regular(
    channel: ChannelInput, d: int, batch_rows: int, k: int, subtract: bool, comm: Collective
) -> PCAResult:
    """Exact statistics of this host's rows, summed over the hosts, then solved."""
    stats = CovarianceStats.empty(d)
    for X in local_part(feature_batches(channel, batch_rows, d), channel, comm):
        stats.update(X)
    n, total, gram = comm.allreduce_sum([np.float64(stats.n), stats.total, stats.gram])
    return solve_regular(CovarianceStats(int(n), total, gram), k, subtract)


def fit_randomized(
    channel: ChannelInput,
    d: int,
    batch_rows: int,
    k: int,
    ell: int,
    subtract: bool,
    comm: Collective,
) -> PCAResult:
    """The summed sketch, then the summed subspace-iteration passes."""
    sketch = SketchStats.empty(d, ell, SKETCH_SEED)
    for key, X in keyed_batches(channel, batch_rows, d, comm):
        sketch.update(X, key)
    n, B, h, total, squares = comm.allreduce_sum(
        [np.float64(sketch.n), sketch.B, sketch.h, sketch.total, sketch.squares]
    )
    sketch = SketchStats(SKETCH_SEED, int(n), B, h, total, squares)
    Q, shift = comm.broadcast(sketch_basis(sketch, subtract) if comm.is_leader else None)
    refine = RefineStats(Q, shift)
    for p in range(REFINE_PASSES):
        if p:
            basis = np.linalg.qr(refine.Z)[0] if comm.is_leader else None
            refine = RefineStats(comm.broadcast(basis), shift)
        for X in local_part(feature_batches(channel, batch_rows, d), channel, comm):
            refine.update(X)
        rows, Z = comm.allreduce_sum([np.float64(refine.n), refine.Z])
        refine = RefineStats(refine.basis, shift, int(rows), Z)
    return solve_randomized(sketch, refine, k, subtract)


def train_distributed(
    hyperparameters: Mapping[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """PCA's ``train`` on one host of several (``len(context.hosts) > 1``)."""
    log = _Log(context)
    hp = hyperparameters
    d, k = int(hp["feature_dim"]), int(hp["num_components"])
    mode = hp.get("algorithm_mode", "regular")
    subtract = bool(hp.get("subtract_mean", True))
    batch_rows = read_rows(int(hp["mini_batch_size"]), d)
    train_ch = channels["train"]
    with connect(context) as comm:
        if comm.is_leader:
            log.info(f"Final configuration: {json.dumps(dict(hp), sort_keys=True, default=str)}")
        log.info(f"host {comm.rank + 1} of {comm.size}: {describe(train_ch, comm)}")
        start = time.perf_counter()
        if mode == "randomized":
            ell = sketch_size(k, int(hp.get("extra_components", -1)), d)
            result = fit_randomized(train_ch, d, batch_rows, k, ell, subtract, comm)
            passes = 1 + REFINE_PASSES
        else:
            result = fit_regular(train_ch, d, batch_rows, k, subtract, comm)
            passes = 1
        elapsed = max(time.perf_counter() - start, 1e-9)
        if comm.is_leader:
            log.progress(100.0)
            log.throughput(passes * result.n / elapsed)
            log.info(
                f"trained on {result.n} records over {comm.size} hosts in {elapsed:.3f} s "
                f"({passes} pass(es))"
            )
            _warn(log, result, k)
            ratios = result.explained_variance_ratio
            log.info(
                "explained variance ratio per component: " + ", ".join(f"{r:.6g}" for r in ratios)
            )
            log.quality("train", "explained_variance_ratio", float(ratios.sum()), "score")
            save(result, hp, context.model_dir)
            log.info("Saved model_algo-1")
        if "test" in channels:
            test = channels["test"]
            part = local_part(feature_batches(test, batch_rows, d), test, comm)
            err, norm, n = comm.allreduce_sum(list(evaluation_sums(result, part)))
            if comm.is_leader:
                rows = int(n)
                error = float(err) / rows if rows else 0.0
                ratio = 1.0 - float(err) / float(norm) if norm > 0 else 0.0
                log.info(f"test channel: {rows} records")
                log.quality("test", "reconstruction_error", error, "loss")
                log.quality("test", "explained_variance_ratio", ratio, "score")
                log.final_score("test", "reconstruction_error", error)
