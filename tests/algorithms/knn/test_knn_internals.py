"""Building blocks: the reservoir, the projections, the vote and the response encoders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.knn import vote
from openmaker.algorithms.knn.encode import encode_csv, encode_json, encode_jsonlines
from openmaker.algorithms.knn.projection import Embedding, Projection, fwht
from openmaker.algorithms.knn.sampling import Reservoir


def _identity(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X, np.float32)


def _sequential_reservoir(rows: np.ndarray, batches: list[int], capacity: int, seed: int):
    """Algorithm R one record at a time, drawing the same random numbers in the same order."""
    rng = np.random.default_rng(seed)
    kept: list[int] = []
    seen = 0
    for size in batches:
        batch = list(range(seen, seen + size))
        fill = batch[: max(0, capacity - len(kept))]
        kept.extend(fill)
        rest = batch[len(fill) :]
        draws = rng.random(len(rest))
        for i, u in zip(rest, draws, strict=True):
            j = int(np.floor(u * (i + 1)))
            if j < capacity:
                kept[j] = i
        seen += size
    return rows[kept]


@pytest.mark.parametrize("capacity", [1, 7, 50, 500])
def test_reservoir_is_algorithm_r(capacity):
    rows = np.arange(300, dtype=np.float32).reshape(-1, 1)
    batches = [13, 100, 1, 86, 100]
    res = Reservoir(capacity, 1, seed=5, transform=_identity)
    start = 0
    for size in batches:
        res.add(rows[start : start + size], rows[start : start + size, 0])
        start += size
    X, y = res.sample()
    expected = _sequential_reservoir(rows, batches, capacity, seed=5)
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, expected[:, 0])
    assert res.seen == 300 and len(X) == min(capacity, 300)


def test_reservoir_is_uniform_and_bounded():
    counts = np.zeros(200)
    for seed in range(300):
        res = Reservoir(20, 1, seed=seed, transform=_identity)
        for start in range(0, 200, 32):
            chunk = np.arange(start, min(200, start + 32), dtype=np.float32)
            res.add(chunk[:, None], chunk)
        assert res._X.shape[0] <= 20  # the buffer never exceeds the capacity
        counts[res.sample()[1].astype(int)] += 1
    # each record kept with probability 20/200: 30 times in expectation over 300 runs
    assert counts.sum() == 300 * 20
    first, last = counts[:100].mean(), counts[100:].mean()
    assert abs(first - 30) < 3 and abs(last - 30) < 3


def test_reservoir_transforms_only_kept_rows():
    seen_rows: list[int] = []

    def transform(X):
        seen_rows.append(X.shape[0])
        return _identity(X)

    res = Reservoir(10, 3, seed=0, transform=transform)
    X = sp.random(5000, 3, density=0.5, format="csr", dtype=np.float32, random_state=0)
    for start in range(0, 5000, 500):
        res.add(X[start : start + 500], np.zeros(500, np.float32))
    assert sum(seen_rows) < 60  # 10 to fill, then about 10 * ln(500) replacements
    assert res.sample()[0].shape == (10, 3)


def test_fwht_matches_the_hadamard_matrix():
    from scipy.linalg import hadamard

    A = np.random.default_rng(0).normal(size=(7, 32)).astype(np.float32)
    np.testing.assert_allclose(fwht(A.copy()), A @ hadamard(32), rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError):
        fwht(np.zeros((1, 6), np.float32))


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_projections_preserve_distances_and_regenerate(kind):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 100)).astype(np.float32)
    p = Projection(kind, 3, 100, 40)
    Y = p.apply(X)
    assert Y.shape == (300, 40) and Y.dtype == np.float32
    d_in = np.linalg.norm(X[:150] - X[150:], axis=1)
    d_out = np.linalg.norm(Y[:150] - Y[150:], axis=1)
    assert abs(np.mean(d_out / d_in) - 1.0) < 0.1
    # the same map from the metadata, and for sparse rows
    again = Projection.from_meta(p.to_meta())
    np.testing.assert_array_equal(again.apply(X), Y)
    np.testing.assert_allclose(p.apply(sp.csr_matrix(X)), Y, rtol=1e-4, atol=1e-4)
    assert p.to_meta() == {"type": kind, "seed": 3, "target_dim": 40, "input_dim": 100}


def test_projection_stream_is_pinned():
    # RandomState's stream is frozen by numpy: a saved model's projection never changes
    assert Projection("sign", 3, 4, 2).apply(np.eye(4, dtype=np.float32)).tolist() == [
        [-0.7071067690849304, -0.7071067690849304],
        [0.7071067690849304, 0.7071067690849304],
        [-0.7071067690849304, -0.7071067690849304],
        [-0.7071067690849304, 0.7071067690849304],
    ]


def test_embedding_normalises_and_pads():
    emb = Embedding(feature_dim=3, index_dim=4, normalize=True)
    X = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    out = emb(X)
    np.testing.assert_allclose(out, [[0.6, 0.8, 0, 0], [0, 0, 0, 0]])
    assert X[0, 0] == 3.0  # the caller's rows are not modified
    assert Embedding(feature_dim=3, index_dim=3)(X) is not None
    np.testing.assert_array_equal(Embedding(3, 3)(sp.csr_matrix(X)), X)


def test_vote_routes_agree_and_break_ties_to_the_smallest():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 6, size=(500, 7))
    dense = vote.majority(codes, 6)
    counts = vote.vote_counts(codes, 6)
    np.testing.assert_array_equal(dense, counts.argmax(1))
    old = vote._DENSE_VOTE_CELLS
    try:
        vote._DENSE_VOTE_CELLS = 0
        np.testing.assert_array_equal(vote.majority(codes, 6), dense)
    finally:
        vote._DENSE_VOTE_CELLS = old
    assert vote.majority(np.array([[4, 1, 1, 4, 2]]), 5).tolist() == [1]
    assert vote.majority(np.array([[3], [0]]), 5).tolist() == [3, 0]
    codes_obj = vote.LabelCodes(np.array([9.0, 2.0, 9.0, 5.0], np.float32))
    assert codes_obj.classes.tolist() == [2.0, 5.0, 9.0]
    assert codes_obj.codes.tolist() == [2, 0, 2, 1]
    assert vote.classify(np.array([[0, 2, 2]]), codes_obj).tolist() == [9.0]
    assert vote.regress(np.array([[1.0, 2.0, 4.0]], np.float32)).tolist() == [pytest.approx(7 / 3)]


def test_encoders_write_valid_documents():
    pred = np.array([1.0, -0.5, 3.1179], np.float32)
    dist = np.array([[0.0, 1e-8], [2.5, np.inf], [1e20, 7.0]], np.float32)
    fields = [("predicted_label", pred), ("distances", dist)]
    doc = json.loads(encode_json(fields))
    assert [r["predicted_label"] for r in doc["predictions"]] == [1.0, -0.5, 3.1179]
    assert doc["predictions"][1]["distances"][1] == float("inf")
    assert doc["predictions"][0]["distances"] == [0.0, 1e-8]
    lines = encode_jsonlines(fields).decode().splitlines()
    assert [json.loads(line) for line in lines][2] == doc["predictions"][2]
    assert encode_csv(fields).decode().splitlines()[0] == "1.0,0.0,1e-08"
    empty = [("predicted_label", np.empty(0, np.float32))]
    assert json.loads(encode_json(empty)) == {"predictions": []}
