"""Streaming statistics: shards merge exactly into one pass; sparse equals dense."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.pca.solve import (
    flip_signs,
    sketch_basis,
    solve_randomized,
    solve_regular,
)
from openmaker.algorithms.pca.stats import CovarianceStats, RefineStats, SketchStats


def _batches(X, size):
    return [X[i : i + size] for i in range(0, X.shape[0], size)]


@pytest.fixture()
def integers():
    """Integer-valued float32 rows: every partial sum is exact in float64."""
    rng = np.random.default_rng(1)
    return rng.integers(-20, 20, size=(230, 7)).astype(np.float32)


def _one_pass_cov(X, size):
    stats = CovarianceStats.empty(X.shape[1])
    for b in _batches(X, size):
        stats.update(b)
    return stats


def test_covariance_shards_merge_bit_for_bit(integers):
    one = _one_pass_cov(integers, 50)
    shards = [
        _one_pass_cov(part, 50) for part in (integers[:100], integers[100:150], integers[150:])
    ]
    merged = shards[0].merge(shards[1]).merge(shards[2])
    assert merged.n == one.n == 230
    assert np.array_equal(merged.total, one.total)
    assert np.array_equal(merged.gram, one.gram)
    # and the reduce order does not matter either
    other = shards[2].merge(shards[0]).merge(shards[1])
    assert np.array_equal(other.gram, one.gram)


def test_covariance_merge_of_real_data_is_exact_to_rounding(make_data):
    X = make_data(n=500, d=6)
    one = _one_pass_cov(X, 64)
    merged = _one_pass_cov(X[:137], 64).merge(_one_pass_cov(X[137:], 64))
    np.testing.assert_allclose(merged.gram, one.gram, rtol=1e-13)
    np.testing.assert_allclose(merged.scatter(True), one.scatter(True), rtol=1e-10, atol=1e-9)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(one.gram, X64.T @ X64, rtol=1e-12)
    Xc = X64 - X64.mean(axis=0)
    np.testing.assert_allclose(one.scatter(True), Xc.T @ Xc, rtol=1e-9, atol=1e-8)


def test_merged_shards_give_the_same_components(make_data):
    X = make_data(n=400, d=6)
    one = solve_regular(_one_pass_cov(X, 100), 3, True)
    merged = solve_regular(_one_pass_cov(X[:200], 100).merge(_one_pass_cov(X[200:], 100)), 3, True)
    np.testing.assert_allclose(merged.components, one.components, atol=1e-10)
    np.testing.assert_allclose(merged.singular_values, one.singular_values, rtol=1e-12)


def test_sparse_update_equals_dense(integers):
    Xs = integers.copy()
    Xs[np.abs(Xs) < 12] = 0
    dense = _one_pass_cov(Xs, 40)
    sparse = CovarianceStats.empty(Xs.shape[1])
    for b in _batches(sp.csr_matrix(Xs), 40):
        sparse.update(b)
    assert np.array_equal(sparse.gram, dense.gram)
    assert np.array_equal(sparse.total, dense.total)


def _sketch(X, size, first_key, ell=4):
    s = SketchStats.empty(X.shape[1], ell, seed=3)
    for i, b in enumerate(_batches(X, size)):
        s.update(b, (0, first_key + i))
    return s


def test_sketch_shards_merge_bit_for_bit(integers):
    one = _sketch(integers, 50, 0)
    merged = _sketch(integers[:100], 50, 0).merge(_sketch(integers[100:], 50, 2))
    assert merged.n == one.n
    for name in ("B", "h", "total", "squares"):
        assert np.array_equal(getattr(merged, name), getattr(one, name)), name
    # the per-batch sketches add up to the whole one
    parts = [_sketch(b, 50, i) for i, b in enumerate(_batches(integers, 50))]
    assert np.array_equal(sum(p.B for p in parts), one.B)


def test_sketch_is_the_signed_sum_of_rows(integers):
    s = _sketch(integers[:50], 50, 0, ell=3)
    from openmaker.algorithms.pca.stats import sign_matrix

    H = sign_matrix(3, (0, 0), 3, 50)
    assert set(np.unique(H)) == {-1.0, 1.0}
    np.testing.assert_array_equal(s.B, H @ integers[:50].astype(np.float64))
    np.testing.assert_array_equal(s.h, H.sum(axis=1))
    # centring: C = B - (1/n) h sᵀ is the sketch of the centred rows
    Xc = integers[:50] - integers[:50].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(s.centred(True), H @ Xc, atol=1e-9)


def test_sketch_with_other_seed_does_not_merge(integers):
    a = SketchStats.empty(7, 4, seed=1)
    with pytest.raises(ValueError, match="seed"):
        a.merge(SketchStats.empty(7, 4, seed=2))


def test_sparse_sketch_equals_dense(integers):
    Xs = integers.copy()
    Xs[np.abs(Xs) < 12] = 0
    dense = _sketch(Xs, 40, 0)
    sparse = _sketch(sp.csr_matrix(Xs), 40, 0)
    np.testing.assert_allclose(sparse.B, dense.B, rtol=0, atol=0)
    np.testing.assert_array_equal(sparse.squares, dense.squares)


def test_refine_shards_merge_and_sparse(make_data):
    X = make_data(n=200, d=6)
    sketch = _sketch(X, 50, 0)
    Q, shift = sketch_basis(sketch, True)
    one = RefineStats(Q, shift)
    for b in _batches(X, 50):
        one.update(b)
    a, b_ = RefineStats(Q, shift), RefineStats(Q, shift)
    for b in _batches(X[:100], 50):
        a.update(b)
    for b in _batches(sp.csr_matrix(X[100:]), 50):
        b_.update(b)
    merged = a.merge(b_)
    assert merged.n == 200
    # dense float32 batches are multiplied in float32, sparse ones in float64
    scale = np.abs(one.Z).max()
    np.testing.assert_allclose(merged.Z, one.Z, rtol=0, atol=1e-6 * scale)
    Xc = X.astype(np.float64) - shift
    np.testing.assert_allclose(one.Z, Xc.T @ (Xc @ Q), rtol=0, atol=1e-6 * scale)
    exact = RefineStats(Q, shift)
    for b in _batches(X.astype(np.float64), 50):
        exact.update(b)
    np.testing.assert_allclose(exact.Z, Xc.T @ (Xc @ Q), rtol=1e-9, atol=1e-8)
    result = solve_randomized(sketch, one, 2, True)
    assert result.components.shape == (6, 2)
    np.testing.assert_allclose(result.components.T @ result.components, np.eye(2), atol=1e-10)


def test_flip_signs_makes_largest_entry_positive():
    V = np.array([[0.1, -0.9], [-0.8, 0.2], [0.3, 0.1]])
    F = flip_signs(V)
    assert F[1, 0] == 0.8 and F[0, 1] == 0.9
    assert np.array_equal(flip_signs(-V), F)
