"""Helpers for the openmaker.data tests: small generated datasets and comparisons."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from openmaker.data import Dataset


def dense_dataset(n: int = 50, d: int = 4, *, seed: int = 0, weights: bool = False) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, 3, n).astype(np.float32)
    w = rng.random(n, dtype=np.float32) if weights else None
    return Dataset(X=X, y=y, weights=w)


def sparse_dataset(n: int = 50, d: int = 12, *, seed: int = 0, weights: bool = False) -> Dataset:
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.3, format="csr", dtype=np.float32, random_state=seed)
    X.data[:] = rng.standard_normal(X.nnz).astype(np.float32)
    y = rng.random(n, dtype=np.float32)
    w = rng.random(n, dtype=np.float32) if weights else None
    return Dataset(X=X, y=y, weights=w)


def dense(x: object) -> np.ndarray:
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)  # type: ignore[union-attr]


def assert_same(a: Dataset, b: Dataset, *, weights: bool = True) -> None:
    np.testing.assert_array_equal(dense(a.X), dense(b.X))
    assert (a.y is None) == (b.y is None)
    if a.y is not None:
        np.testing.assert_array_equal(a.y, b.y)
    if weights:
        assert (a.weights is None) == (b.weights is None)
        if a.weights is not None:
            np.testing.assert_array_equal(a.weights, b.weights)
