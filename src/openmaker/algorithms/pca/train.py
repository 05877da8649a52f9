"""Training for SageMaker's PCA (reference section 4.5).

``train(hyperparameters, channels, context)``:

* **regular**: one streaming pass accumulates ``n``, ``Σx`` and ``ΣxᵀX`` (float64, d x d;
  sparse batches through sparse products), then the top ``num_components`` eigenpairs of
  ``ΣxᵀX - (1/n)(Σx)ᵀ(Σx)`` (or of ``ΣxᵀX`` with ``subtract_mean=false``).
* **randomized**: pass 1 accumulates SageMaker's sketch ``B = Σ H_t X_t`` with random ±1
  matrices ``H_t`` (ℓ x b, ℓ = ``num_components + extra_components``, where -1 means
  ``max(10, num_components)``; ℓ is capped at ``feature_dim``), ``h``, ``s`` and ``n``; the
  right singular vectors of ``C = B - (1/n) hᵀs`` span a basis ``Q``. Then (an openmaker
  addition; SageMaker stops after the sketch) ``REFINE_PASSES`` = 2 more passes each
  accumulate ``Z = X_cᵀX_c Q`` (a sum, mergeable like the rest); between them
  ``Q <- orth(Z)`` (subspace iteration), and after the last the components are the top
  eigenpairs of the Nyström approximation ``Z (QᵀZ)⁺ Zᵀ`` of the scatter matrix. A one-pass
  sketch alone loses a few tenths of a percent of explained variance on data whose spectrum
  decays slowly; the two passes bring it within scikit-learn's randomized solver (which
  iterates 4-7 times over data in memory). The reported singular values are the Nyström
  estimates (slight underestimates). Memory stays O(dℓ); the sign matrices come from a fixed
  seed (0) keyed by host and batch, so a run is reproducible and a sharded run merges
  exactly.
* All statistics are sums (:mod:`openmaker.algorithms.pca.stats`), so statistics of shards
  merge exactly: with several hosts (``InstanceCount`` > 1) each host streams its shard and
  the sums are added across hosts (:mod:`openmaker.algorithms.pca.distributed`).
* Rows stream in blocks of at least ``mini_batch_size`` rows (about 8 MiB each): File and Pipe
  mode both go through ``openmaker.data.iter_batches`` and memory does not grow with the data.
* Features that are constant (zero variance) are reported with a WARNING line and training
  goes on; so does a warning when fewer than ``num_components`` directions carry variance
  (the remaining components then have singular value 0). NaN / infinity fail the job with a
  DataFormatError naming the channel and rows; a dense width other than ``feature_dim`` fails
  with a ValidationError.
* Log: ``#quality_metric: host=algo-1, train explained_variance_ratio <score>=...`` (the share
  of variance the components keep), one info line with the per-component ratios, and with a
  ``test`` channel ``test reconstruction_error <loss>=`` (mean over records of
  ``‖x_c - x_c V Vᵀ‖²``, x_c = x - mean) and ``test explained_variance_ratio <score>=``
  (``1 - Σ error / Σ‖x_c‖²``); none of them is tunable (SageMaker has no PCA objective).
* ``model_algo-1`` (``save_model_arrays``): ``mean`` (1 x d, float32; zeros when
  ``subtract_mean=false``), ``v`` (d x num_components, float32, one component per column) and
  ``s`` (num_components singular values, float32), largest variance first; the metadata holds
  the settings, ``num_records``, ``total_variance`` and ``explained_variance_ratio``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.pca.inputs import feature_batches, read_rows
from openmaker.algorithms.pca.solve import (
    PCAResult,
    sketch_basis,
    solve_randomized,
    solve_regular,
)
from openmaker.algorithms.pca.spec import sketch_size
from openmaker.algorithms.pca.stats import (
    CovarianceStats,
    RefineStats,
    SketchStats,
    row_squares,
)
from openmaker.errors import ChannelError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of the randomized mode's sign matrices (PCA has no seed hyperparameter).
SKETCH_SEED = 0

#: Passes over the data after the sketch in randomized mode (subspace iterations).
REFINE_PASSES = 2


def _host_index(context: TrainingContext) -> int:
    try:
        return context.hosts.index(context.current_host)
    except ValueError:
        return 0


def fit_regular(
    channel: ChannelInput, feature_dim: int, batch_rows: int, num_components: int, subtract: bool
) -> PCAResult:
    """One pass of exact statistics, then the eigendecomposition."""
    stats = CovarianceStats.empty(feature_dim)
    for X in feature_batches(channel, batch_rows, feature_dim):
        stats.update(X)
    return solve_regular(stats, num_components, subtract)


def fit_randomized(
    channel: ChannelInput,
    feature_dim: int,
    batch_rows: int,
    num_components: int,
    ell: int,
    subtract: bool,
    host: int = 0,
) -> PCAResult:
    """The sketch pass, then :data:`REFINE_PASSES` subspace-iteration passes."""
    sketch = SketchStats.empty(feature_dim, ell, SKETCH_SEED)
    for i, X in enumerate(feature_batches(channel, batch_rows, feature_dim)):
        sketch.update(X, (host, i))
    Q, shift = sketch_basis(sketch, subtract)
    refine = RefineStats(Q, shift)
    for p in range(REFINE_PASSES):
        if p:
            refine = RefineStats(np.linalg.qr(refine.Z)[0], shift)
        for X in feature_batches(channel, batch_rows, feature_dim):
            refine.update(X)
    return solve_randomized(sketch, refine, num_components, subtract)


def evaluate(result: PCAResult, channel: ChannelInput, batch_rows: int) -> tuple[float, float, int]:
    """``(mean reconstruction error, explained variance ratio, rows)`` on a channel."""
    d = result.mean.shape[0]
    err, norm, n = evaluation_sums(result, feature_batches(channel, batch_rows, d))
    ratio = 1.0 - err / norm if norm > 0 else 0.0
    return (err / n if n else 0.0), ratio, n


def evaluation_sums(result: PCAResult, batches: Any) -> tuple[float, float, int]:
    """``(Σ reconstruction error, Σ‖x_c‖², rows)`` over batches: sums, so shards add up."""
    V, mean = result.components, result.mean
    mean_v = mean @ V
    err = norm = 0.0
    n = 0
    for X in batches:
        X64 = X.astype(np.float64)
        # ‖x - m‖² = ‖x‖² - 2 x·m + ‖m‖² keeps sparse rows sparse.
        sq = row_squares(X64) - 2.0 * np.asarray(X64 @ mean).reshape(-1) + float(mean @ mean)
        P = np.asarray(X64 @ V) - mean_v
        kept = np.einsum("ij,ij->i", P, P)
        err += float(np.clip(sq - kept, 0.0, None).sum())
        norm += float(sq.sum())
        n += int(X.shape[0])
    return err, norm, n


def save(result: PCAResult, hyperparameters: Mapping[str, Any], model_dir: Any) -> None:
    """Write ``model_algo-1``."""
    arrays = {
        "mean": result.mean.astype(np.float32).reshape(1, -1),
        "v": result.components.astype(np.float32),
        "s": result.singular_values.astype(np.float32),
    }
    meta = {
        "algorithm": "pca",
        "feature_dim": int(result.mean.shape[0]),
        "num_components": int(result.components.shape[1]),
        "algorithm_mode": hyperparameters.get("algorithm_mode", "regular"),
        "subtract_mean": bool(hyperparameters.get("subtract_mean", True)),
        "num_records": int(result.n),
        "total_variance": float(result.total_variance),
        "explained_variance_ratio": [float(x) for x in result.explained_variance_ratio],
        "order": "descending",
    }
    save_model_arrays(model_dir, arrays, meta)


class _Log(MetricLog):
    """MetricLog plus WARNING lines (SageMaker's ``[date WARNING pid]`` prefix)."""

    def warning(self, message: str) -> None:
        self.context.print(self._prefix("WARNING") + message)


def _warn(log: _Log, result: PCAResult, num_components: int) -> None:
    if result.constant_features:
        shown = list(result.constant_features[:20])
        more = len(result.constant_features) - len(shown)
        tail = f" (and {more} more)" if more > 0 else ""
        log.warning(
            f"{len(result.constant_features)} feature(s) have zero variance (constant): "
            f"{shown}{tail}; they do not contribute to any component"
        )
    nonzero = int(np.count_nonzero(result.singular_values > 0))
    if nonzero < num_components:
        log.warning(
            f"only {nonzero} direction(s) carry variance; the remaining "
            f"{num_components - nonzero} component(s) have singular value 0"
        )


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train PCA and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and optionally ``test``.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel.
        ValidationError: data wider or narrower than ``feature_dim``.
        DataFormatError: NaN / infinity, malformed or empty data.
    """
    if "train" not in channels:
        raise ChannelError("PCA needs a 'train' channel", channel="train")
    if len(context.hosts) > 1:
        from openmaker.algorithms.pca.distributed import train_distributed

        return train_distributed(hyperparameters, channels, context)
    log = _Log(context)
    hp = hyperparameters
    d, k = int(hp["feature_dim"]), int(hp["num_components"])
    mode = hp.get("algorithm_mode", "regular")
    subtract = bool(hp.get("subtract_mean", True))
    batch_rows = read_rows(int(hp["mini_batch_size"]), d)
    log.info(f"Final configuration: {json.dumps(dict(hp), sort_keys=True, default=str)}")

    start = time.perf_counter()
    if mode == "randomized":
        ell = sketch_size(k, int(hp.get("extra_components", -1)), d)
        log.info(f"randomized mode: sketch of {ell} rows over {d} features")
        result = fit_randomized(
            channels["train"], d, batch_rows, k, ell, subtract, _host_index(context)
        )
        passes = 1 + REFINE_PASSES
    else:
        result = fit_regular(channels["train"], d, batch_rows, k, subtract)
        passes = 1
    elapsed = max(time.perf_counter() - start, 1e-9)
    log.progress(100.0)
    log.throughput(passes * result.n / elapsed)
    log.info(f"trained on {result.n} records in {elapsed:.3f} s ({passes} pass(es))")
    _warn(log, result, k)

    ratios = result.explained_variance_ratio
    log.info("explained variance ratio per component: " + ", ".join(f"{r:.6g}" for r in ratios))
    log.quality("train", "explained_variance_ratio", float(ratios.sum()), "score")
    save(result, hp, context.model_dir)
    log.info("Saved model_algo-1")

    if "test" in channels:
        error, ratio, n = evaluate(result, channels["test"], batch_rows)
        log.info(f"test channel: {n} records")
        log.quality("test", "reconstruction_error", error, "loss")
        log.quality("test", "explained_variance_ratio", ratio, "score")
        log.final_score("test", "reconstruction_error", error)
