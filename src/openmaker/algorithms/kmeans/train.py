"""Training for SageMaker's web-scale K-Means (reference section 3.6).

``train(hyperparameters, channels, context)``:

1. **Seeding**: the first ``max(mini_batch_size, K)`` records of the stream, where
   ``K = k x extra_center_factor`` (``auto`` = 10), are buffered and ``K`` centres are drawn
   among them by ``init_method`` (``random``: distinct records; ``kmeans++``: greedy D²
   seeding). With fewer records than that, ``K`` is the number of records; with fewer records
   than ``k`` the job fails (HyperparameterError naming ``k``).
2. **Streaming** (``epochs`` passes, the buffered records first, then the rest of the stream,
   in batches of exactly ``mini_batch_size`` records): each record goes to its nearest centre
   (one matrix product per batch, float32 on rows shifted by a reference point; CSR batches
   stay sparse), then each centre moves to the running mean of its points
   (:class:`~openmaker.algorithms.kmeans.state.StreamState`); with ``half_life_time_size`` h
   > 0 the centres' past weights are multiplied by ``0.5 ** (batch / h)`` before each batch.
   Each epoch logs ``#quality_metric: host=algo-1, epoch=N, train msd <loss>=`` - the mean
   squared distance of the epoch's records to the centre they were assigned to, *before* the
   update (the online loss of the ``K`` centres).
3. **Reduction**: the ``K`` centres, weighted by their counts, are reduced to ``k`` by
   :func:`~openmaker.algorithms.kmeans.lloyd.reduce_centers` (``local_lloyd_*``; ``auto``
   trials = 10), keeping the trial of lowest weighted loss.
4. **Refinement pass** (an openmaker addition): one more pass over the training data assigns
   every record to the nearest of the ``k`` centres and, unless ``half_life_time_size`` asks
   for recency weighting, moves each centre to the mean of its records - one Lloyd step on the
   data itself. The reduction works on groups of records (each streamed centre's), and this
   step undoes most of what that costs: on data without cluster structure it brings the loss
   from about 2 % to under 1 % above scikit-learn's converged Lloyd, for the price of a pass
   with ``k`` (not ``K``) centres. The pass's per-cluster sums
   (:class:`~openmaker.algorithms.kmeans.state.EpochStats`, mergeable across shards) give
   ``#quality_metric: host=algo-1, train msd <loss>=``, the exact mean squared distance of the
   training records to the final centre of the cluster the pass assigned them to (at least
   the nearest-centre msd; equal to it when the centres were not moved), and the ``weights``
   saved with the model (records per cluster).
5. **Test**: with a ``test`` channel, one pass scores every record against the final centres
   and logs ``test msd`` / ``test ssd`` (those in ``eval_metrics``) as
   ``#quality_metric: host=algo-1, test msd <loss>=...`` plus ``#test_score`` lines.

The random draws come from a generator with the fixed seed :data:`SEED` (SageMaker's K-Means
has no seed hyperparameter), so the same data and hyperparameters give the same model bytes.
``model_algo-1`` holds ``centers`` ((k, feature_dim) float32, SageMaker's artifact) and
``weights`` ((k,) float32, training records per cluster in the refinement pass), with the settings
and ``num_records`` / ``train_msd`` in the metadata.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.kmeans.distance import is_sparse, nearest
from openmaker.algorithms.kmeans.inputs import feature_batches
from openmaker.algorithms.kmeans.lloyd import reduce_centers
from openmaker.algorithms.kmeans.seeding import seed
from openmaker.algorithms.kmeans.spec import resolve_extra_center_factor, resolve_num_trials
from openmaker.algorithms.kmeans.state import EpochStats, StreamState, cluster_sums
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of every random draw (seeding and the Lloyd trials).
SEED = 0


@dataclass(frozen=True)
class Settings:
    """Typed K-Means settings with the ``auto`` values resolved."""

    k: int
    feature_dim: int
    extra_center_factor: int
    mini_batch_size: int
    epochs: int
    half_life_time_size: int
    init_method: str
    local_lloyd_init_method: str
    local_lloyd_max_iter: int
    local_lloyd_num_trials: int
    local_lloyd_tol: float
    eval_metrics: tuple[str, ...]

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        """Settings from validated hyperparameters (``SPEC.validate_hyperparameters``)."""
        return cls(
            k=int(hp["k"]),
            feature_dim=int(hp["feature_dim"]),
            extra_center_factor=resolve_extra_center_factor(hp.get("extra_center_factor")),
            mini_batch_size=int(hp.get("mini_batch_size", 5000)),
            epochs=int(hp.get("epochs", 1)),
            half_life_time_size=int(hp.get("half_life_time_size", 0)),
            init_method=str(hp.get("init_method", "random")),
            local_lloyd_init_method=str(hp.get("local_lloyd_init_method", "kmeans++")),
            local_lloyd_max_iter=int(hp.get("local_lloyd_max_iter", 300)),
            local_lloyd_num_trials=resolve_num_trials(hp.get("local_lloyd_num_trials")),
            local_lloyd_tol=float(hp.get("local_lloyd_tol", 1e-4)),
            eval_metrics=tuple(dict.fromkeys(hp.get("eval_metrics", ["msd"]))),
        )

    @property
    def stream_centers(self) -> int:
        """``K``: centres kept in the stream."""
        return self.k * self.extra_center_factor


@dataclass
class StreamResult:
    """What the streamed passes produced."""

    state: StreamState
    ref: np.ndarray
    records: int
    epoch_msd: list[float]
    seconds: float


def _stack(batches: list[Any]) -> Any:
    if any(is_sparse(b) for b in batches):
        import scipy.sparse as sp

        return sp.vstack(batches, format="csr")
    return np.concatenate(batches, axis=0)


def _seed_stream(
    batches: Iterator[Any], s: Settings, rng: np.random.Generator, channel: str
) -> tuple[StreamState, np.ndarray, list[Any]]:
    """Buffer the first records and draw the initial centres; returns the buffer too."""
    want = max(s.mini_batch_size, s.stream_centers)
    buffer: list[Any] = []
    rows = 0
    for X in batches:
        buffer.append(X)
        rows += int(X.shape[0])
        if rows >= want:
            break
    if rows == 0:
        raise DataFormatError(f"Channel {channel!r} contains no records")
    if rows < s.k:
        raise HyperparameterError(
            f"Hyperparameter 'k': value {s.k} is larger than the number of records ({rows}) "
            f"in channel {channel!r}; k must be at most the number of records",
            parameter="k",
            value=s.k,
            allowed=f"integer in [1, {rows}]",
        )
    points = _stack(buffer)
    n_centers = min(s.stream_centers, rows)
    centers = seed(s.init_method, points, n_centers, rng)
    if is_sparse(points):
        ref = np.zeros(s.feature_dim)
    else:
        ref = np.asarray(points, dtype=np.float64).mean(axis=0)
    return StreamState.start(centers), ref, buffer


def fit_stream(
    channel: ChannelInput, s: Settings, rng: np.random.Generator, log: MetricLog
) -> StreamResult:
    """The streamed passes (steps 1-2 of the module docstring)."""
    state: StreamState | None = None
    ref = np.zeros(s.feature_dim)
    epoch_msd: list[float] = []
    records = 0
    start = time.perf_counter()
    decay_per_row = 0.5 ** (1.0 / s.half_life_time_size) if s.half_life_time_size else 1.0
    for epoch in range(s.epochs):
        batches: Iterator[Any] = feature_batches(channel, s.mini_batch_size, s.feature_dim)
        if state is None:
            state, ref, buffer = _seed_stream(batches, s, rng, channel.name)
            log.info(
                f"initialized {len(state.counts)} centers ({s.init_method}) from the first "
                f"{sum(int(b.shape[0]) for b in buffer)} records"
            )
            batches = itertools.chain(buffer, batches)
        ref32 = ref.astype(np.float32)
        total = 0.0
        records = 0
        for X in batches:
            rows = int(X.shape[0])
            labels, d2 = nearest(X, state.centers, dtype=np.float32, shift=ref32)
            sums, counts = cluster_sums(X, labels, len(state.counts))
            decay = decay_per_row**rows if s.half_life_time_size else 1.0
            state.apply(sums, counts, rows, decay)
            total += float(d2.sum())
            records += rows
        epoch_msd.append(total / max(records, 1))
        log.quality("train", "msd", epoch_msd[-1], "loss", epoch=epoch)
        log.progress(100.0 * (epoch + 1) / s.epochs)
    assert state is not None
    return StreamResult(state, ref, records, epoch_msd, time.perf_counter() - start)


def refine(
    channel: ChannelInput, centers: np.ndarray, ref: np.ndarray, s: Settings, move: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """The refinement pass (step 4): ``(centres, records per centre, train msd)``."""
    stats = epoch_stats(feature_batches(channel, s.mini_batch_size, s.feature_dim), centers, ref)
    return refined(stats, centers, ref, move)


def epoch_stats(batches: Any, centers: np.ndarray, ref: np.ndarray) -> EpochStats:
    """Per-centre sums of the records of ``batches`` assigned to their nearest centre."""
    stats = EpochStats.empty(len(centers), ref)
    ref32 = ref.astype(np.float32)
    for X in batches:
        labels, _ = nearest(X, centers, dtype=np.float32, shift=ref32)
        sums, counts = cluster_sums(X, labels, len(centers))
        stats.add(X, labels, sums, counts)
    return stats


def refined(
    stats: EpochStats, centers: np.ndarray, ref: np.ndarray, move: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """The end of the refinement pass: ``(centres, records per centre, train msd)``."""
    new = np.array(centers, dtype=np.float64)
    if move:
        hit = stats.n > 0
        new[hit] = ref + stats.s[hit] / stats.n[hit, None]
    # the float32 centres the model will hold, so train msd is the model's own
    new = new.astype(np.float32).astype(np.float64)
    total = max(float(stats.n.sum()), 1.0)
    return new, stats.n, stats.sse(new, np.arange(len(new))) / total


def evaluate(centers: np.ndarray, channel: ChannelInput, s: Settings) -> tuple[float, int]:
    """``(ssd, records)`` of a channel against the final centres."""
    return score(centers, feature_batches(channel, max(s.mini_batch_size, 1024), s.feature_dim))


def score(centers: np.ndarray, batches: Any) -> tuple[float, int]:
    """``(ssd, records)`` of batches against the final centres (sums: shards add up)."""
    ssd = 0.0
    n = 0
    for X in batches:
        _, d2 = nearest(X, centers)
        ssd += float(d2.sum())
        n += int(X.shape[0])
    return ssd, n


def save(
    centers: np.ndarray,
    weights: np.ndarray,
    stream: StreamResult,
    s: Settings,
    train_msd: float,
    model_dir: Any,
) -> None:
    """Write ``model_algo-1``."""
    arrays = {
        "centers": centers.astype(np.float32),
        "weights": weights.astype(np.float32),
    }
    meta = {
        "algorithm": "kmeans",
        "k": s.k,
        "feature_dim": s.feature_dim,
        "stream_centers": len(stream.state.counts),
        "extra_center_factor": s.extra_center_factor,
        "local_lloyd_num_trials": s.local_lloyd_num_trials,
        "epochs": s.epochs,
        "mini_batch_size": s.mini_batch_size,
        "init_method": s.init_method,
        "num_records": int(stream.records),
        "train_msd": float(train_msd),
        "distance": "euclidean",
    }
    save_model_arrays(model_dir, arrays, meta)


def shrink(
    stream: StreamResult, s: Settings, rng: np.random.Generator, log: MetricLog
) -> np.ndarray:
    """The ``k`` centers local Lloyd's makes of the streamed centers (best of the trials)."""
    log.info(f"shrinking {len(stream.state.counts)} centers into {s.k}")
    result = reduce_centers(
        stream.state.centers,
        stream.state.counts,
        s.k,
        init_method=s.local_lloyd_init_method,
        max_iter=s.local_lloyd_max_iter,
        tol=s.local_lloyd_tol,
        num_trials=s.local_lloyd_num_trials,
        rng=rng,
    )
    log.info(
        f"local kmeans: best of {s.local_lloyd_num_trials} attempt(s) is #{result.trial} "
        f"(weighted loss {result.loss:.6g}, {result.iterations} iteration(s))"
    )
    return result.centers


def report_and_save(
    centers: np.ndarray,
    weights: np.ndarray,
    stream: StreamResult,
    s: Settings,
    train_msd: float,
    start: float,
    log: MetricLog,
    model_dir: Any,
) -> None:
    """Warn about duplicate centers, log the train msd and throughput, write model_algo-1."""
    distinct = _distinct(centers)
    if distinct < s.k:
        log.warning(
            f"only {distinct} distinct cluster centers for k={s.k}: the data has fewer than "
            f"k distinct records; some clusters are duplicates"
        )
    log.quality("train", "msd", train_msd, "loss")
    seconds = max(time.perf_counter() - start, 1e-9)
    log.throughput((s.epochs + 1) * stream.records / seconds)
    save(centers, weights, stream, s, train_msd, model_dir)
    log.info("Saved model_algo-1")


def _distinct(centers: np.ndarray) -> int:
    return len(np.unique(np.round(centers, 12), axis=0))


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train K-Means and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and optionally ``test``.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel.
        HyperparameterError: ``k`` larger than the number of training records.
        ValidationError: dense data wider or narrower than ``feature_dim``.
        DataFormatError: NaN / infinity, sparse indices beyond ``feature_dim``, malformed or
            empty data.
    """
    if "train" not in channels:
        raise ChannelError("K-Means needs a 'train' channel", channel="train")
    if len(context.hosts) > 1:
        from openmaker.algorithms.kmeans.distributed import train_distributed

        return train_distributed(hyperparameters, channels, context)
    log = MetricLog(context)
    s = Settings.from_hyperparameters(hyperparameters)
    log.info(
        f"Final configuration: {json.dumps(dict(hyperparameters), sort_keys=True, default=str)}"
    )
    rng = np.random.default_rng(SEED)

    start = time.perf_counter()
    stream = fit_stream(channels["train"], s, rng, log)
    reduced = shrink(stream, s, rng, log)
    centers, weights, train_msd = refine(
        channels["train"], reduced, stream.ref, s, move=not s.half_life_time_size
    )
    report_and_save(centers, weights, stream, s, train_msd, start, log, context.model_dir)

    if "test" in channels:
        ssd, n = evaluate(centers, channels["test"], s)
        if n == 0:
            raise DataFormatError("Channel 'test' contains no records")
        values = {"msd": ssd / n, "ssd": ssd}
        log.info(f"test channel: {n} records")
        for name in s.eval_metrics:
            log.quality("test", name, values[name], "loss")
        for name in s.eval_metrics:
            log.final_score("test", name, values[name])
