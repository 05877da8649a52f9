"""Distances, seeding, the streaming state (and its merges) and the Lloyd reduction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans

from openmaker.algorithms.kmeans.distance import nearest, pairwise_sq
from openmaker.algorithms.kmeans.lloyd import reduce_centers
from openmaker.algorithms.kmeans.seeding import seed
from openmaker.algorithms.kmeans.state import EpochStats, StreamState, cluster_sums

from .conftest import BLOB_CENTERS, blobs


def _brute(X, C):
    d = ((np.asarray(X, dtype=np.float64)[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    return d.argmin(1), d.min(1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_dense_matches_brute_force_far_from_the_origin(dtype):
    rng = np.random.default_rng(1)
    X = (1e4 + rng.normal(size=(300, 6))).astype(np.float32)
    C = 1e4 + rng.normal(size=(7, 6))
    labels, d2 = nearest(X, C, dtype=dtype)
    ref_labels, ref_d2 = _brute(X, C)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(d2, ref_d2, rtol=1e-3 if dtype == np.float32 else 1e-8)


def test_nearest_sparse_matches_dense():
    rng = np.random.default_rng(2)
    X = sp.random(200, 30, density=0.1, format="csr", random_state=3, dtype=np.float32)
    C = rng.normal(size=(5, 30)) * 0.3
    labels, d2 = nearest(X, C)
    ref_labels, ref_d2 = _brute(X.toarray(), C)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(d2, ref_d2, rtol=1e-9, atol=1e-12)


def test_nearest_chunks_large_blocks(monkeypatch):
    from openmaker.algorithms.kmeans import distance

    monkeypatch.setattr(distance, "BLOCK_ELEMENTS", 16)
    X = blobs(50)
    labels, d2 = nearest(X, BLOB_CENTERS + 100.0)
    ref_labels, ref_d2 = _brute(X, BLOB_CENTERS + 100.0)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(d2, ref_d2, rtol=1e-9)


def test_pairwise_sq():
    A, B = np.random.default_rng(0).normal(size=(2, 4, 3))
    ref = ((A[:, None] - B[None]) ** 2).sum(-1)
    np.testing.assert_allclose(pairwise_sq(A, B), ref, atol=1e-12)


@pytest.mark.parametrize("method", ["random", "kmeans++"])
@pytest.mark.parametrize("sparse", [False, True])
def test_seeding_picks_distinct_data_rows(method, sparse):
    X = blobs(100)
    pts = sp.csr_matrix(X) if sparse else X
    C = seed(method, pts, 10, np.random.default_rng(0))
    assert C.shape == (10, 5)
    rows = {tuple(r) for r in X.astype(np.float64)}
    assert all(tuple(c) in rows for c in C)
    assert len({tuple(c) for c in C}) == 10


def test_kmeanspp_covers_every_blob():
    X = blobs(400)
    C = seed("kmeans++", X, 4, np.random.default_rng(5))
    labels, _ = nearest(C, BLOB_CENTERS + 100.0)
    assert sorted(labels.tolist()) == [0, 1, 2, 3]


def test_seeding_ignores_zero_weights_and_handles_duplicates():
    X = np.repeat(np.arange(3.0)[:, None], 4, axis=0)  # 3 distinct values, each 4 times
    w = np.ones(12)
    w[:4] = 0  # value 0 carries no weight
    for method in ("random", "kmeans++"):
        C = seed(method, X, 2, np.random.default_rng(0), w)
        assert set(C.ravel().tolist()) == {1.0, 2.0}
    C = seed("kmeans++", X, 5, np.random.default_rng(0))  # more centres than distinct points
    assert C.shape == (5, 1)


def test_cluster_sums_dense_and_sparse():
    X = np.arange(12.0).reshape(4, 3)
    labels = np.array([1, 0, 1, 1])
    sums, counts = cluster_sums(X, labels, 3)
    np.testing.assert_array_equal(sums, [X[1], X[0] + X[2] + X[3], np.zeros(3)])
    np.testing.assert_array_equal(counts, [1, 3, 0])
    sums_sp, _ = cluster_sums(sp.csr_matrix(X), labels, 3)
    np.testing.assert_array_equal(sums_sp, sums)


def test_stream_update_is_a_running_mean():
    state = StreamState.start(np.zeros((2, 2)))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    state.update(a, np.zeros(5, dtype=np.int64))
    state.update(b, np.zeros(3, dtype=np.int64))
    np.testing.assert_allclose(state.centers[0], np.vstack([a, b]).mean(0))
    np.testing.assert_array_equal(state.centers[1], [0.0, 0.0])  # untouched, weight 0
    np.testing.assert_array_equal(state.counts, [8, 0])
    assert state.seen == 8


def test_stream_decay_weights_recent_points_more():
    state = StreamState.start(np.zeros((1, 1)))
    state.update(np.zeros((4, 1)), np.zeros(4, dtype=np.int64))
    state.update(np.ones((4, 1)), np.zeros(4, dtype=np.int64), decay=0.5)
    # old weight 4 * 0.5 = 2 at 0, new weight 4 at 1
    np.testing.assert_allclose(state.centers, [[4 / 6]])
    np.testing.assert_allclose(state.counts, [6.0])


def test_stream_states_merge_by_counts():
    init = np.zeros((2, 2))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 2)), rng.normal(size=(4, 2)) + 3
    la, lb = np.array([0, 0, 1, 1, 1, 0]), np.array([1, 1, 1, 1])
    s1, s2, whole = StreamState.start(init), StreamState.start(init), StreamState.start(init)
    s1.update(a, la)
    s2.update(b, lb)
    whole.update(np.vstack([a, b]), np.concatenate([la, lb]))
    merged = s1.merge(s2)
    np.testing.assert_allclose(merged.centers, whole.centers)
    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert merged.seen == 10


@pytest.mark.parametrize("sparse", [False, True])
def test_epoch_stats_merge_exactly_and_give_the_sse(sparse):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(40, 3)) + 50).astype(np.float32)
    labels = rng.integers(0, 6, size=40)
    ref = np.zeros(3) if sparse else X[:10].astype(np.float64).mean(0)
    data = sp.csr_matrix(X) if sparse else X
    one, two, whole = (EpochStats.empty(6, ref) for _ in range(3))
    one.add(data[:25], labels[:25])
    two.add(data[25:], labels[25:])
    whole.add(data, labels)
    merged = one.merge(two)
    np.testing.assert_allclose(merged.s, whole.s)
    np.testing.assert_allclose(merged.ss, whole.ss)
    final = np.array([[50.0, 50, 50], [51.0, 49, 50]])
    assignment = np.array([0, 1, 0, 1, 0, 1])
    direct = ((X.astype(np.float64) - final[assignment[labels]]) ** 2).sum()
    assert merged.sse(final, assignment) == pytest.approx(direct, rel=1e-9)


def test_weighted_reduction_matches_scikit_learn_with_sample_weights():
    rng = np.random.default_rng(0)
    P = np.vstack([c + rng.normal(size=(10, 5)) for c in BLOB_CENTERS])
    w = rng.integers(1, 20, size=len(P)).astype(float)
    res = reduce_centers(
        P, w, 4, init_method="kmeans++", max_iter=300, tol=1e-6, num_trials=3,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    peer = KMeans(4, n_init=3, random_state=0, tol=1e-6).fit(P, sample_weight=w)
    order = np.lexsort(res.centers.T)
    peer_order = np.lexsort(peer.cluster_centers_.T)
    np.testing.assert_allclose(res.centers[order], peer.cluster_centers_[peer_order], atol=1e-8)
    assert res.loss == pytest.approx(peer.inertia_, rel=1e-8)
    np.testing.assert_array_equal(np.bincount(res.assignment), [10, 10, 10, 10])


def test_reduction_keeps_the_best_trial_and_fills_empty_clusters():
    P = np.array([[0.0], [0.0], [10.0], [20.0]])
    w = np.array([5.0, 5.0, 1.0, 1.0])
    res = reduce_centers(
        P, w, 3, init_method="random", max_iter=50, tol=0.0, num_trials=5,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    assert sorted(res.centers.ravel().tolist()) == [0.0, 10.0, 20.0]
    assert res.loss == pytest.approx(0.0)
