"""Vectorised nearest-centre search: ``‖x - c‖² = ‖x‖² - 2 x·c + ‖c‖²`` by matrix products.

Dense rows are first shifted by a reference point (the centres' mean) so the expansion does not
lose precision on data far from the origin; sparse CSR rows are not shifted (that would make
them dense) and are computed in float64. The work is split into row chunks so the ``rows x K``
distance block stays within a few MiB whatever the batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Largest ``rows x centres`` block of distances computed at once (elements).
BLOCK_ELEMENTS = 1 << 22


def is_sparse(X: Any) -> bool:
    """Whether ``X`` is a scipy sparse matrix."""
    return not isinstance(X, np.ndarray) and hasattr(X, "tocsr")


def row_sq_norms(X: Any) -> np.ndarray:
    """``‖x‖²`` of every row, float64 (dense or CSR)."""
    if is_sparse(X):
        X = X.tocsr()
        values = X.data.astype(np.float64) ** 2
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        return np.bincount(rows, weights=values, minlength=X.shape[0])
    X64 = np.asarray(X, dtype=np.float64)
    return np.einsum("ij,ij->i", X64, X64)


def nearest(
    X: Any,
    centers: np.ndarray,
    *,
    dtype: Any = np.float64,
    shift: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The closest centre of each row and the squared distance to it.

    Args:
        X: rows, dense (n, d) or CSR.
        centers: (K, d) centres.
        dtype: dense arithmetic type (float32 for training speed, float64 for scoring).
        shift: dense only: subtract this point from rows and centres first (default: the
            centres' mean).

    Returns:
        ``(labels, squared distances)``: int64 (n,) and float64 (n,), distances clipped at 0.
    """
    n = int(X.shape[0])
    K = int(centers.shape[0])
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    if n == 0:
        return labels, dist
    step = max(1, BLOCK_ELEMENTS // max(K, 1))
    if is_sparse(X):
        C = np.asarray(centers, dtype=np.float64)
        c_sq = np.einsum("ij,ij->i", C, C)
        x_sq = row_sq_norms(X)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            d = c_sq[None, :] - 2.0 * np.asarray(X[lo:hi] @ C.T)
            idx = np.argmin(d, axis=1)
            labels[lo:hi] = idx
            dist[lo:hi] = d[np.arange(hi - lo), idx] + x_sq[lo:hi]
    else:
        ref = np.asarray(centers, dtype=np.float64).mean(axis=0) if shift is None else shift
        C = (np.asarray(centers, dtype=np.float64) - ref).astype(dtype, copy=False)
        c_sq = np.einsum("ij,ij->i", C, C)
        minus_2ct = np.ascontiguousarray(-2.0 * C.T)  # one pass less over each block
        ref_t = ref.astype(dtype, copy=False)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            Xs = np.asarray(X[lo:hi], dtype=dtype) - ref_t
            d = Xs @ minus_2ct
            d += c_sq[None, :]
            idx = np.argmin(d, axis=1)
            labels[lo:hi] = idx
            x_sq = np.einsum("ij,ij->i", Xs, Xs)
            dist[lo:hi] = d[np.arange(hi - lo), idx].astype(np.float64) + x_sq
    np.maximum(dist, 0.0, out=dist)
    return labels, dist


def pairwise_sq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of two small dense float64 matrices, (len A, len B)."""
    ref = B.mean(axis=0) if len(B) else 0.0
    As, Bs = A - ref, B - ref
    d = (
        np.einsum("ij,ij->i", As, As)[:, None]
        - 2.0 * (As @ Bs.T)
        + np.einsum("ij,ij->i", Bs, Bs)[None, :]
    )
    return np.maximum(d, 0.0)
