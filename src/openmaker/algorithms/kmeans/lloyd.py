"""The final reduction of the ``K`` streamed centres to ``k``: weighted local Lloyd iterations.

Each streamed centre is a point weighted by its count. Each of ``local_lloyd_num_trials``
trials seeds ``k`` centres among them (``local_lloyd_init_method``: ``kmeans++`` or
``random``, weighted) and runs Lloyd's algorithm on the weighted points for at most
``local_lloyd_max_iter`` iterations, stopping once the centres move less than
``local_lloyd_tol`` x the points' mean weighted per-feature variance (squared distance summed
over centres, scikit-learn's rule). A cluster left empty takes over the point that adds most
to the loss. The trial with the lowest weighted loss ``Σ w_j ‖p_j - c(p_j)‖²`` is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.kmeans.distance import pairwise_sq
from openmaker.algorithms.kmeans.seeding import seed


@dataclass(frozen=True)
class LloydResult:
    """The best trial.

    Attributes:
        centers: (k, d) float64.
        assignment: (K,) the final centre of each weighted point.
        loss: the weighted loss of the kept trial.
        iterations: Lloyd iterations the kept trial ran.
        trial: index of the kept trial.
    """

    centers: np.ndarray
    assignment: np.ndarray
    loss: float
    iterations: int
    trial: int


def _assign(P: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = pairwise_sq(P, C)
    labels = np.argmin(d, axis=1)
    return labels, d[np.arange(len(P)), labels]


def lloyd(
    P: np.ndarray,
    w: np.ndarray,
    init: np.ndarray,
    max_iter: int,
    tol_abs: float,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted Lloyd from ``init``: ``(centers, labels, loss, iterations)``."""
    import scipy.sparse as sp

    C = init.copy()
    k = len(C)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        labels, d2 = _assign(P, C)
        onehot = sp.csr_matrix((w, (labels, np.arange(len(P)))), shape=(k, len(P)))
        sums = np.asarray(onehot @ P)
        mass = np.bincount(labels, weights=w, minlength=k)
        new = C.copy()
        full = mass > 0
        new[full] = sums[full] / mass[full, None]
        empty = np.flatnonzero(~full)
        if len(empty):
            # empty clusters take the points that cost most (weighted), one each
            order = np.argsort(-(w * d2), kind="stable")
            new[empty] = P[order[: len(empty)]]
        shift = float(((new - C) ** 2).sum())
        C = new
        # an emptied cluster refilled by a duplicate point changes nothing: stop there too
        if shift <= tol_abs and (not len(empty) or shift == 0.0):
            break
    labels, d2 = _assign(P, C)
    return C, labels, float(w @ d2), iterations


def reduce_centers(
    P: np.ndarray,
    w: np.ndarray,
    k: int,
    *,
    init_method: str,
    max_iter: int,
    tol: float,
    num_trials: int,
    rng: np.random.Generator,
) -> LloydResult:
    """Reduce weighted points ``P`` (weights ``w``) to ``k`` centres; the best of the trials.

    Points of weight 0 (centres no record reached) keep a negligible weight, so they only
    matter when fewer than ``k`` points carry weight.
    """
    P = np.asarray(P, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    positive = w[w > 0]
    floor = (positive.mean() if len(positive) else 1.0) * 1e-9
    w = np.maximum(w, floor)
    mean = (w @ P) / w.sum()
    variance = float((w @ ((P - mean) ** 2)).mean() / w.sum())
    tol_abs = tol * variance
    best: LloydResult | None = None
    for t in range(num_trials):
        init = seed(init_method, P, k, rng, w)
        C, labels, loss, iters = lloyd(P, w, init, max_iter, tol_abs)
        if best is None or loss < best.loss:
            best = LloydResult(C, labels, loss, iters, t)
    assert best is not None
    return best
