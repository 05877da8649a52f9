"""Choosing initial centres among weighted points: ``random`` and ``kmeans++``.

Both draw from a :class:`numpy.random.Generator`, so a fixed seed gives the same centres.

* ``random``: ``K`` distinct points, each drawn with probability proportional to its weight.
* ``kmeans++``: Arthur & Vassilvitskii's D² seeding, weighted (a point is drawn with probability
  proportional to ``weight x squared distance to the nearest centre chosen so far``), in the
  greedy form scikit-learn uses: ``2 + ln K`` candidates are drawn each step and the one that
  lowers the total weighted potential most is kept.

Points may be dense (float arrays) or CSR; the returned centres are dense float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from openmaker.algorithms.kmeans.distance import is_sparse, row_sq_norms


def _rows(X: Any, idx: np.ndarray) -> np.ndarray:
    rows = X[idx]
    if is_sparse(rows):
        rows = rows.toarray()
    return np.asarray(rows, dtype=np.float64)


def _centered(X: Any) -> tuple[Any, np.ndarray]:
    """Dense points shifted by their mean (distances do not change, precision improves)."""
    if is_sparse(X):
        return X, row_sq_norms(X)
    X64 = np.asarray(X, dtype=np.float64)
    Xc = X64 - X64.mean(axis=0)
    return Xc, np.einsum("ij,ij->i", Xc, Xc)


def _sq_to(X: Any, x_sq: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(n, m) squared distances from the rows of ``X`` to the dense rows of ``P``."""
    cross = np.asarray(X @ P.T, dtype=np.float64)
    d = x_sq[:, None] - 2.0 * cross + np.einsum("ij,ij->i", P, P)[None, :]
    return np.maximum(d, 0.0)


def _weights(n: int, weights: np.ndarray | None) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.sum() <= 0:
        w = np.ones(n)
    return w


def random_init(
    X: Any, n_centers: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> np.ndarray:
    """``n_centers`` distinct points, drawn with probability proportional to their weight."""
    n = int(X.shape[0])
    w = _weights(n, weights)
    positive = int(np.count_nonzero(w > 0))
    if positive >= n_centers:
        idx = rng.choice(n, size=n_centers, replace=False, p=w / w.sum())
    else:  # fewer weighted points than centres: take them all, then zero-weight ones
        order = np.argsort(-w, kind="stable")
        idx = order[:n_centers]
    return _rows(X, idx)


def _draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probability proportional to ``p`` (inverse CDF)."""
    cdf = np.cumsum(p)
    total = cdf[-1]
    picks = np.searchsorted(cdf, rng.random(size) * total, side="right")
    return np.minimum(picks, len(p) - 1)


def kmeanspp_init(
    X: Any, n_centers: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> np.ndarray:
    """Greedy weighted k-means++ seeding; returns (n_centers, d) float64 centres."""
    n = int(X.shape[0])
    w = _weights(n, weights)
    Xc, x_sq = _centered(X)
    trials = 2 + int(math.log(max(n_centers, 1)))
    chosen = np.empty(n_centers, dtype=np.int64)
    chosen[0] = _draw(rng, w, 1)[0]
    closest = _sq_to(Xc, x_sq, _rows(Xc, chosen[:1]))[:, 0]
    for i in range(1, n_centers):
        potential = w * closest
        if potential.sum() <= 0:
            # every point sits on a chosen centre (duplicates): any point not yet chosen
            free = np.ones(n, dtype=bool)
            free[chosen[:i]] = False
            pool = np.flatnonzero(free) if free.any() else np.arange(n)
            chosen[i] = pool[rng.integers(len(pool))]
            continue
        candidates = _draw(rng, potential, trials)
        d_cand = np.minimum(closest[:, None], _sq_to(Xc, x_sq, _rows(Xc, candidates)))
        best = int(np.argmin(w @ d_cand))
        chosen[i] = candidates[best]
        closest = d_cand[:, best]
    return _rows(X, chosen)


def seed(
    method: str,
    X: Any,
    n_centers: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Initial centres by ``method`` (``random`` or ``kmeans++``)."""
    if method == "kmeans++":
        return kmeanspp_init(X, n_centers, rng, weights)
    if method == "random":
        return random_init(X, n_centers, rng, weights)
    raise ValueError(f"unknown init method {method!r}")
