"""The streaming state of web-scale K-Means, built to merge across workers.

:class:`StreamState` holds the ``K = k x extra_center_factor`` centres and their (decayed)
weights. A mini-batch update (Sculley 2010, reference 3.6) assigns each record to its nearest
centre and moves centre ``j`` to the weighted mean of its past and new points::

    n_j <- decay * n_j          (decay = 0.5 ** (batch / half_life_time_size), 1 without decay)
    c_j <- (n_j c_j + Σ new points) / (n_j + m_j);   n_j <- n_j + m_j

so each centre is the running (decayed) mean of the points assigned to it, and the state of two
workers that started from the same centres merges by a count-weighted average
(:meth:`StreamState.merge`).

:class:`EpochStats` holds, per centre, the count, sum and sum of squares (relative to a fixed
reference point) of the records assigned to it during one epoch: plain sums, so shards add up
exactly (:meth:`EpochStats.merge`). Training keeps them for the ``k`` final centres in its
refinement pass: they give the centres' new positions (the means) and the training msd
(:meth:`EpochStats.sse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.kmeans.distance import is_sparse, row_sq_norms


def cluster_sums(X: Any, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of rows (float64, (K, d)) and counts ((K,)), by one sparse product."""
    import scipy.sparse as sp

    n = int(X.shape[0])
    onehot = sp.csr_matrix(
        (np.ones(n, dtype=np.float64), (labels, np.arange(n))), shape=(n_clusters, n)
    )
    sums = onehot @ X
    if is_sparse(sums):
        sums = sums.toarray()
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    return np.asarray(sums, dtype=np.float64), counts


@dataclass
class StreamState:
    """Centres and their weights during the streamed mini-batch updates.

    Attributes:
        centers: (K, d) float64.
        counts: (K,) float64 weights (decayed point counts) of the centres.
        seen: records processed so far.
    """

    centers: np.ndarray
    counts: np.ndarray
    seen: int = 0

    @classmethod
    def start(cls, centers: np.ndarray) -> StreamState:
        """Initial centres, each with weight 0 (the first point assigned replaces it)."""
        c = np.array(centers, dtype=np.float64)
        return cls(c, np.zeros(len(c)), 0)

    def update(self, X: Any, labels: np.ndarray, decay: float = 1.0) -> None:
        """One mini-batch update with the batch's nearest-centre ``labels``."""
        sums, m = cluster_sums(X, labels, len(self.counts))
        self.apply(sums, m, int(X.shape[0]), decay)

    def apply(self, sums: np.ndarray, m: np.ndarray, rows: int, decay: float = 1.0) -> None:
        """The update from a batch's per-centre sums and counts (:func:`cluster_sums`)."""
        old = self.counts * decay
        new = old + m
        hit = m > 0
        self.centers[hit] = (old[hit, None] * self.centers[hit] + sums[hit]) / new[hit, None]
        self.counts = new
        self.seen += rows

    def merge(self, other: StreamState) -> StreamState:
        """The count-weighted average of two workers' states over the same initial centres."""
        total = self.counts + other.counts
        safe = np.where(total > 0, total, 1.0)
        centers = (self.counts[:, None] * self.centers + other.counts[:, None] * other.centers) / (
            safe[:, None]
        )
        centers = np.where(total[:, None] > 0, centers, self.centers)
        return StreamState(centers, total, self.seen + other.seen)


@dataclass
class EpochStats:
    """Per-centre count, sum and sum of squares of one epoch's records, around ``ref``.

    Attributes:
        ref: (d,) reference point the sums are taken around (0 for sparse data).
        n: (K,) records per centre.
        s: (K, d) sums of ``x - ref``.
        ss: (K,) sums of ``‖x - ref‖²``.
    """

    ref: np.ndarray
    n: np.ndarray
    s: np.ndarray
    ss: np.ndarray

    @classmethod
    def empty(cls, n_centers: int, ref: np.ndarray) -> EpochStats:
        """Zero statistics for ``n_centers`` centres around ``ref``."""
        d = int(ref.shape[0])
        return cls(ref, np.zeros(n_centers), np.zeros((n_centers, d)), np.zeros(n_centers))

    def add(
        self,
        X: Any,
        labels: np.ndarray,
        sums: np.ndarray | None = None,
        counts: np.ndarray | None = None,
    ) -> None:
        """Add a batch with its centre ``labels`` (and its :func:`cluster_sums`, if known)."""
        K = len(self.n)
        if sums is None or counts is None:
            sums, counts = cluster_sums(X, labels, K)
        sq = row_sq_norms(X)
        if np.any(self.ref):
            # ‖x - r‖² = ‖x‖² - 2 x·r + ‖r‖² and Σ(x - r) = Σx - m r
            cross = np.asarray(X @ self.ref, dtype=np.float64).reshape(-1)
            sq = sq - 2.0 * cross + float(self.ref @ self.ref)
            sums = sums - counts[:, None] * self.ref
        self.n += counts
        self.s += sums
        self.ss += np.bincount(labels, weights=sq, minlength=K)

    def merge(self, other: EpochStats) -> EpochStats:
        """Statistics of the union of two shards (same centres, same ``ref``)."""
        return EpochStats(self.ref, self.n + other.n, self.s + other.s, self.ss + other.ss)

    def sse(self, centers: np.ndarray, assignment: np.ndarray) -> float:
        """Σ‖x - c‖² when each centre's records go to final centre ``assignment[j]``."""
        C = np.asarray(centers, dtype=np.float64)[assignment] - self.ref
        per = (
            self.ss - 2.0 * np.einsum("ij,ij->i", C, self.s) + self.n * np.einsum("ij,ij->i", C, C)
        )
        return float(np.maximum(per, 0.0).sum())
