"""Streaming sufficient statistics of PCA, and how shards of them merge.

Every statistic is a plain sum over rows (float64), so the statistics of several shards add up
to the statistics of one pass over all of them: :meth:`merge` is ``+``. That is what lets the
same code run on several workers later (each summarises its shard, a reducer sums).

* :class:`CovarianceStats` (regular mode): ``n``, ``Σx`` and ``ΣxᵀX`` (d x d).
* :class:`SketchStats` (randomized mode, pass 1): ``n``, ``B = Σ H_t X_t`` (ℓ x d) with random
  ±1 matrices ``H_t`` (ℓ x b), ``h = Σ H_t 1`` (ℓ), ``s = Σx`` (d) and the per-feature ``Σx²``.
  ``H_t`` is drawn from ``(seed, key)`` where ``key`` names the batch (host, batch index), so a
  sharded run draws the same matrices as one pass and the merge is exact.
* :class:`RefineStats` (randomized mode, later passes): ``Z = Σ X_cᵀ (X_c Q)`` (d x ℓ) for a
  fixed orthonormal basis ``Q`` and the centred rows ``X_c``.

Batches are dense ``float32`` arrays or ``scipy.sparse`` CSR matrices; sparse batches stay sparse
(sparse products only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def is_sparse(X: Any) -> bool:
    """Whether a batch is a scipy sparse matrix."""
    return not isinstance(X, np.ndarray)


def as_float64(X: Any) -> Any:
    """The batch in float64 (dense array or CSR), for exact-as-possible accumulation."""
    if is_sparse(X):
        return X.tocsr().astype(np.float64)
    return np.asarray(X, dtype=np.float64)


def column_sums(X: Any) -> np.ndarray:
    """Σ over rows, shape (d,), float64."""
    return np.asarray(X.sum(axis=0), dtype=np.float64).reshape(-1)


def column_squares(X: Any) -> np.ndarray:
    """Σ x² over rows per column, shape (d,), float64."""
    if is_sparse(X):
        return np.bincount(X.indices, weights=X.data * X.data, minlength=X.shape[1])
    return np.einsum("ij,ij->j", X, X)


def row_squares(X: Any) -> np.ndarray:
    """‖x‖² per row, shape (n,), float64."""
    if is_sparse(X):
        return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).reshape(-1)
    return np.einsum("ij,ij->i", X, X)


@dataclass
class CovarianceStats:
    """``n``, ``Σx`` and ``ΣxᵀX`` of the rows seen so far (regular mode).

    Attributes:
        n: number of rows.
        total: Σx, shape (d,).
        gram: ΣxᵀX, shape (d, d) (symmetric).
    """

    n: int
    total: np.ndarray
    gram: np.ndarray

    @classmethod
    def empty(cls, d: int) -> CovarianceStats:
        """Statistics of no rows, for ``d`` features."""
        return cls(0, np.zeros(d), np.zeros((d, d)))

    def update(self, X: Any) -> None:
        """Add the rows of one batch (dense or CSR)."""
        X64 = as_float64(X)
        self.n += int(X64.shape[0])
        self.total += column_sums(X64)
        if is_sparse(X64):
            prod = (X64.T @ X64).tocoo()
            prod.sum_duplicates()
            self.gram[prod.row, prod.col] += prod.data
        else:
            self.gram += X64.T @ X64

    def merge(self, other: CovarianceStats) -> CovarianceStats:
        """The statistics of both row sets (a new object)."""
        return CovarianceStats(self.n + other.n, self.total + other.total, self.gram + other.gram)

    def column_squares(self) -> np.ndarray:
        """Σx² per feature (the diagonal of the gram matrix)."""
        return np.diag(self.gram).copy()

    def scatter(self, subtract_mean: bool) -> np.ndarray:
        """``Σ(x-μ)ᵀ(x-μ) = ΣxᵀX - (1/n)(Σx)ᵀ(Σx)``, or ``ΣxᵀX`` without centring."""
        S = self.gram.copy()
        if subtract_mean and self.n:
            S -= np.outer(self.total, self.total) / self.n
        return (S + S.T) / 2.0


def sign_matrix(
    seed: int, key: tuple[int, ...], rows: int, cols: int, dtype: Any = np.float64
) -> np.ndarray:
    """A random ±1 matrix drawn from ``(seed, *key)``: the same key, the same matrix."""
    rng = np.random.default_rng([seed, *key])
    bits = rng.integers(0, 2, size=(rows, cols), dtype=np.int8)
    H = bits.astype(dtype)
    H *= 2
    H -= 1
    return H


@dataclass
class SketchStats:
    """The randomized-mode sketch (pass 1) of the rows seen so far.

    Attributes:
        seed: seeds the sign matrices.
        n: number of rows.
        B: Σ H_t X_t, shape (ℓ, d).
        h: Σ H_t 1 (the row sums of the sign matrices), shape (ℓ,).
        total: Σx, shape (d,).
        squares: Σx² per feature, shape (d,) (for the total variance and constant features).
    """

    seed: int
    n: int
    B: np.ndarray
    h: np.ndarray
    total: np.ndarray
    squares: np.ndarray

    @classmethod
    def empty(cls, d: int, ell: int, seed: int = 0) -> SketchStats:
        """A sketch of no rows: ``ell`` sketch rows over ``d`` features."""
        return cls(seed, 0, np.zeros((ell, d)), np.zeros(ell), np.zeros(d), np.zeros(d))

    @property
    def ell(self) -> int:
        """ℓ, the number of sketch rows."""
        return int(self.B.shape[0])

    def update(self, X: Any, key: tuple[int, ...]) -> None:
        """Add one batch; ``key`` (e.g. ``(host index, batch index)``) picks its sign matrix.

        Dense float32 batches are multiplied in float32 (the sketch only has to span the
        top directions; the batch results are summed in float64); everything else in float64.
        """
        b = int(X.shape[0])
        if not is_sparse(X) and X.dtype == np.float32:
            H32 = sign_matrix(self.seed, key, self.ell, b, np.float32)
            self.B += H32 @ X
            self.h += H32.sum(axis=1, dtype=np.float64)
            X64 = X.astype(np.float64)
        else:
            X64 = as_float64(X)
            H = sign_matrix(self.seed, key, self.ell, b)
            self.B += (X64.T @ H.T).T if is_sparse(X64) else H @ X64
            self.h += H.sum(axis=1)
        self.total += column_sums(X64)
        self.squares += column_squares(X64)
        self.n += b

    def merge(self, other: SketchStats) -> SketchStats:
        """The sketch of both row sets (a new object); both must use the same seed and ℓ."""
        if other.seed != self.seed or other.B.shape != self.B.shape:
            raise ValueError("sketches with different seeds or shapes do not merge")
        return SketchStats(
            self.seed,
            self.n + other.n,
            self.B + other.B,
            self.h + other.h,
            self.total + other.total,
            self.squares + other.squares,
        )

    def centred(self, subtract_mean: bool) -> np.ndarray:
        """``C = B - (1/n) hᵀs``: the sketch of the centred rows (``B`` without centring)."""
        if not subtract_mean or not self.n:
            return self.B.copy()
        return self.B - np.outer(self.h, self.total) / self.n


@dataclass
class RefineStats:
    """A refinement pass of randomized mode: ``Z = Σ X_cᵀ(X_c Q)`` for a fixed basis ``Q``.

    Attributes:
        basis: Q, shape (d, ℓ), orthonormal columns.
        shift: the mean subtracted from every row (zeros without centring), shape (d,).
        n: number of rows.
        Z: shape (d, ℓ).
    """

    basis: np.ndarray
    shift: np.ndarray
    n: int = 0
    Z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        if self.Z.shape != self.basis.shape:
            self.Z = np.zeros_like(self.basis)

    def update(self, X: Any) -> None:
        """Add the rows of one batch (dense or CSR).

        Dense float32 batches are centred and multiplied in float32 (as scikit-learn does
        for float32 data), the batch results summed in float64; sparse batches in float64.
        """
        if not is_sparse(X) and X.dtype == np.float32:
            Xc = X - self.shift.astype(np.float32)
            Y = Xc @ self.basis.astype(np.float32)
            self.Z += Xc.T @ Y
        else:
            X64 = as_float64(X)
            # (X - 1μᵀ)ᵀ(X - 1μᵀ)Q = XᵀY - μ(1ᵀY) with Y = XQ - 1(μᵀQ): X stays sparse.
            Y = X64 @ self.basis - self.shift @ self.basis
            self.Z += np.asarray(X64.T @ Y) - np.outer(self.shift, Y.sum(axis=0))
        self.n += int(X.shape[0])

    def merge(self, other: RefineStats) -> RefineStats:
        """The statistics of both row sets (a new object); both must share the basis."""
        return RefineStats(self.basis, self.shift, self.n + other.n, self.Z + other.Z)
