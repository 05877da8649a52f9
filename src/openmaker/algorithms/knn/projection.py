"""Dimension reduction (``sign`` / ``fjlt``) and the map from input rows to index vectors.

Both projections are random linear maps from ``input_dim`` to ``target_dim`` that preserve L2
distances and inner products approximately (Johnson-Lindenstrauss). They are regenerated from
``(type, seed, input_dim, target_dim)`` - what SageMaker's ``model_algo-1.json`` records -
with :class:`numpy.random.RandomState`, whose stream numpy keeps frozen across versions, so a
model loads to the same map everywhere.

* ``sign``: ``y = x R / sqrt(t)`` with ``R`` a dense ``d x t`` matrix of random ±1. O(n d t);
  sparse rows are multiplied as they are.
* ``fjlt``: the subsampled randomized Hadamard transform (the fast Johnson-Lindenstrauss
  transform of Ailon and Chazelle with coordinate sampling): random signs on the ``d``
  coordinates, zero padding to ``D = 2**ceil(log2 d)``, a fast Walsh-Hadamard transform
  (O(n D log D), no ``d x t`` matrix), then ``t`` of the ``D`` coordinates drawn without
  replacement, scaled by ``1 / sqrt(t)`` (``H`` is unnormalised, so ``H / sqrt(D)`` is
  orthonormal and ``sqrt(D / t)`` rescales the sample).

:class:`Embedding` chains what turns a request row into an index vector: the projection,
L2 normalisation (``COSINE``) and zero padding to a multiple of ``faiss_index_pq_m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Rows transformed at a time by the Walsh-Hadamard route (bounds its temporary memory).
_FWHT_BLOCK_ROWS = 4096


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "tocsr") and not isinstance(X, np.ndarray)


def fwht(A: np.ndarray) -> np.ndarray:
    """The unnormalised fast Walsh-Hadamard transform of each row of ``A`` (in place).

    Args:
        A: (n, D) float array, ``D`` a power of two; overwritten.

    Returns:
        ``A`` holding ``A @ H_D`` (Sylvester ordering: ``H[i, j] = (-1) ** popcount(i & j)``).
    """
    n, D = A.shape
    if D & (D - 1):
        raise ValueError(f"fwht needs a power-of-two width, got {D}")
    h = 1
    while h < D:
        V = A.reshape(n, D // (2 * h), 2, h)
        a = V[:, :, 0, :]
        b = V[:, :, 1, :]
        tmp = a.copy()
        a += b
        np.subtract(tmp, b, out=b)
        h *= 2
    return A


@dataclass
class Projection:
    """A random projection from ``input_dim`` to ``target_dim`` columns.

    Attributes:
        kind: ``sign`` or ``fjlt``.
        seed: the seed it is regenerated from.
        input_dim: ``feature_dim``.
        target_dim: ``dimension_reduction_target`` (possibly raised for ``faiss_index_pq_m``).
    """

    kind: str
    seed: int
    input_dim: int
    target_dim: int
    _matrix: np.ndarray | None = field(default=None, init=False, repr=False)
    _signs: np.ndarray | None = field(default=None, init=False, repr=False)
    _columns: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("sign", "fjlt"):
            raise ValueError(f"unknown dimension reduction {self.kind!r}")
        if self.input_dim < 1 or self.target_dim < 1:
            raise ValueError(f"bad projection shape {self.input_dim} -> {self.target_dim}")
        rs = np.random.RandomState(self.seed)
        d, t = self.input_dim, self.target_dim
        if self.kind == "sign":
            signs = rs.randint(0, 2, size=(d, t)).astype(np.float32) * 2.0 - 1.0
            self._matrix = np.ascontiguousarray(signs / np.float32(np.sqrt(t)), np.float32)
        else:
            D = self.padded_dim
            self._signs = (rs.randint(0, 2, size=d).astype(np.float32) * 2.0 - 1.0).astype(
                np.float32
            )
            # t <= D always holds for a reduction (t < d <= D); a target raised past D by
            # faiss_index_pq_m draws with replacement rather than fail
            self._columns = np.sort(rs.choice(D, size=t, replace=t > D)).astype(np.int64)

    @property
    def padded_dim(self) -> int:
        """``fjlt``: the Hadamard size, the next power of two at or above ``input_dim``."""
        return 1 << max(0, (self.input_dim - 1).bit_length())

    def to_meta(self) -> dict[str, Any]:
        """The ``dimension_reduction`` entry of ``model_algo-1.json`` (SageMaker's keys)."""
        return {
            "type": self.kind,
            "seed": self.seed,
            "target_dim": self.target_dim,
            "input_dim": self.input_dim,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Projection:
        """The projection :meth:`to_meta` describes."""
        return cls(
            str(meta["type"]), int(meta["seed"]), int(meta["input_dim"]), int(meta["target_dim"])
        )

    def apply(self, X: Any) -> np.ndarray:
        """Project rows (dense ndarray or CSR, ``input_dim`` wide) to float32 (n, target_dim)."""
        if self.kind == "sign":
            assert self._matrix is not None
            if _is_sparse(X):
                return np.ascontiguousarray(X @ self._matrix, dtype=np.float32)
            return np.asarray(X, dtype=np.float32) @ self._matrix
        return self._fjlt(X)

    def _fjlt(self, X: Any) -> np.ndarray:
        assert self._signs is not None and self._columns is not None
        n, d, D = int(X.shape[0]), self.input_dim, self.padded_dim
        out = np.empty((n, self.target_dim), dtype=np.float32)
        scale = np.float32(1.0 / np.sqrt(self.target_dim))
        for lo in range(0, n, _FWHT_BLOCK_ROWS):
            hi = min(n, lo + _FWHT_BLOCK_ROWS)
            block = np.zeros((hi - lo, D), dtype=np.float32)
            rows = X[lo:hi]
            block[:, :d] = rows.toarray() if _is_sparse(rows) else rows
            block[:, :d] *= self._signs
            out[lo:hi] = fwht(block)[:, self._columns] * scale
        return out


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm in place (all-zero rows stay zero)."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float32))
    norms[norms == 0] = 1.0
    X /= norms[:, None]
    return X


@dataclass
class Embedding:
    """Input rows -> index vectors: projection, normalisation, zero padding.

    Attributes:
        feature_dim: width of the input rows.
        index_dim: width of the index vectors (after projection and padding).
        projection: the dimension reduction, or ``None``.
        normalize: scale to unit norm (``index_metric=COSINE``).
    """

    feature_dim: int
    index_dim: int
    projection: Projection | None = None
    normalize: bool = False

    @property
    def reduced_dim(self) -> int:
        """Width after the projection, before padding."""
        return self.projection.target_dim if self.projection else self.feature_dim

    @property
    def is_identity(self) -> bool:
        """True when index vectors are the input rows themselves."""
        return self.projection is None and not self.normalize and self.index_dim == self.feature_dim

    def reduce(self, X: Any) -> np.ndarray:
        """The projection alone (dense float32); dense input is passed through when none."""
        if self.projection is not None:
            return self.projection.apply(X)
        if _is_sparse(X):
            return np.asarray(X.toarray(), dtype=np.float32)
        return np.ascontiguousarray(X, dtype=np.float32)

    def finish(self, R: np.ndarray) -> np.ndarray:
        """Normalisation and padding of already reduced rows (may modify ``R``)."""
        if self.normalize:
            if not R.flags.writeable or not R.flags.c_contiguous:
                R = np.array(R, dtype=np.float32, order="C")
            R = normalize_rows(R)
        if self.index_dim > R.shape[1]:
            padded = np.zeros((R.shape[0], self.index_dim), dtype=np.float32)
            padded[:, : R.shape[1]] = R
            R = padded
        return np.ascontiguousarray(R, dtype=np.float32)

    def __call__(self, X: Any) -> np.ndarray:
        """Index vectors of input rows (dense or CSR, ``feature_dim`` wide)."""
        if self.is_identity and isinstance(X, np.ndarray):
            return np.ascontiguousarray(X, dtype=np.float32)
        R = self.reduce(X)
        if self.normalize and R is X:
            R = R.copy()
        return self.finish(R)
