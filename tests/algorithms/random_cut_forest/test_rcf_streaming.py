"""The streaming forest: exact insert / delete, the sliding window, shingling, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.random_cut_forest.build import build_forest
from openmaker.algorithms.random_cut_forest.dynamic import delete, score_and_insert
from openmaker.algorithms.random_cut_forest.forest import Forest
from openmaker.algorithms.random_cut_forest.scoring import score_points
from openmaker.algorithms.random_cut_forest.streaming import StreamingForest
from openmaker.errors import DataFormatError, ValidationError

from .conftest import check_forest, reference_score


def _series(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.sin(np.arange(n) / 8.0) + 0.05 * rng.normal(size=n)).astype(np.float32)


def test_updates_keep_every_tree_well_formed():
    rng = np.random.default_rng(0)
    stream = StreamingForest(2, num_trees=6, num_samples_per_tree=12, window_size=30, seed=1)
    X = rng.normal(size=(250, 2)).astype(np.float32)
    X[40:55] = 1.0  # repeated points: leaves of mass > 1
    X[90:100] = np.round(X[90:100])
    for i, x in enumerate(X):
        stream.update(x)
        if i % 17 == 0:
            check_forest(stream.forest)
    check_forest(stream.forest)
    held = (stream.leaf_of >= 0).sum(axis=1)
    np.testing.assert_array_equal(held, stream.forest.tree_mass())
    # every tree holds only points of the last 30
    window = {tuple(p) for p in X[-30:]}
    lo, left, mass = (
        stream.forest.flat("lo"),
        stream.forest.flat("left"),
        stream.forest.flat("mass"),
    )
    leaves = np.flatnonzero((left < 0) & (mass > 0))
    assert {tuple(p) for p in lo[leaves]} <= window


def test_the_score_is_taken_before_learning_and_matches_the_batch_scorer():
    stream = StreamingForest(1, num_trees=8, num_samples_per_tree=20, seed=3)
    values = _series(60)
    for v in values[:40]:
        stream.update([v])
    x = values[40:41]
    before_batch = score_points(stream.forest, x[None, :])[0]
    before_ref = reference_score(stream.forest, x)
    got = stream.update(x)
    assert got == before_batch  # the same arithmetic, the same bits
    assert got == pytest.approx(before_ref, rel=1e-6)
    assert stream.forest.tree_mass().tolist() == [20] * 8  # the window is full: 20 points


def test_first_record_scores_zero_and_the_window_fills_to_its_size():
    stream = StreamingForest(1, num_trees=5, num_samples_per_tree=4, seed=0)
    assert stream.update([1.0]) == 0.0
    assert stream.forest.tree_mass().tolist() == [1] * 5
    for v in range(2, 12):
        stream.update([float(v)])
    assert stream.forest.tree_mass().tolist() == [4] * 5
    assert stream.points_seen == 11


def test_insertion_gives_the_tree_of_the_union():
    # trees on {0, 1} then 3 inserted must be distributed as trees built on {0, 1, 3}:
    # the root isolates 3 with probability 2/3 (the cut falls in [1, 3) of [0, 3))
    stream = StreamingForest(1, num_trees=3000, num_samples_per_tree=3, seed=0)
    for v in (0.0, 1.0, 3.0):
        stream.update([v])
    forest = stream.forest
    mass, lo = forest.flat("mass"), forest.flat("lo")
    left, right = forest.flat("left")[forest.root], forest.flat("right")[forest.root]
    alone = np.where(mass[left] == 1, left, right)
    isolated = lo[alone][:, 0]
    assert np.mean(isolated == 3.0) == pytest.approx(2 / 3, abs=0.03)
    assert np.mean(isolated == 0.0) == pytest.approx(1 / 3, abs=0.03)


def test_deletion_gives_the_tree_of_the_rest():
    # trees on {0, 1, 3, 10}, then 10 removed: the root isolates 3 with probability 2/3
    samples = np.zeros((3000, 4, 1), dtype=np.float32)
    samples[:, :, 0] = [0.0, 1.0, 3.0, 10.0]
    forest = build_forest(samples, np.random.default_rng(0))
    mass, lo, left = forest.flat("mass"), forest.flat("lo"), forest.flat("left")
    leaf_10 = np.array(
        [
            np.flatnonzero((left[t * 7 : t * 7 + 7] < 0) & (lo[t * 7 : t * 7 + 7, 0] == 10.0))[0]
            + t * 7
            for t in range(3000)
        ]
    )
    delete(forest, np.arange(3000), leaf_10)
    check_forest(Forest.from_arrays(forest.to_arrays()))
    rl, rr = forest.flat("left")[forest.root], forest.flat("right")[forest.root]
    alone = np.where(mass[rl] == 1, rl, rr)
    assert np.mean(lo[alone][:, 0] == 3.0) == pytest.approx(2 / 3, abs=0.03)
    assert forest.tree_mass().tolist() == [3] * 3000


def test_duplicates_then_deletes_down_to_an_empty_tree():
    forest = Forest.empty(2, 3, 1)
    rng = np.random.default_rng(0)
    join = np.array([True, False])
    leaves = [score_and_insert(forest, np.array([2.0]), join, rng)[1] for _ in range(3)]
    assert leaves[0][0] == leaves[1][0] == leaves[2][0] and leaves[0][1] == -1
    assert forest.tree_mass().tolist() == [3, 0]
    score, _ = score_and_insert(forest, np.array([2.0]), np.array([False, False]), rng)
    # a point equal to the only leaf (mass 3 of 3): damp 1/2, depth 0 -> 0.5 / log2(4) x log2(4)
    assert score == pytest.approx(0.5)
    for _ in range(3):
        delete(forest, np.array([0]), np.array([leaves[0][0]]))
    assert forest.root.tolist() == [-1, -1] and forest.n_free.tolist() == [3, 3]


def test_sampling_from_a_longer_window():
    stream = StreamingForest(1, num_trees=40, num_samples_per_tree=10, window_size=100, seed=2)
    stream.update_many(_series(500).reshape(-1, 1))
    sizes = stream.forest.tree_mass()
    assert 7 < sizes.mean() < 13  # each point joins each tree with probability 10/100
    assert sizes.max() <= 100
    check_forest(stream.forest)


def test_capacity_grows_when_a_tree_needs_more_slots():
    stream = StreamingForest(1, num_trees=3, num_samples_per_tree=2, window_size=64, seed=0)
    stream.forest = Forest.empty(3, 3, 1)  # start tiny to force growth
    stream.leaf_of[:] = -1
    for v in np.arange(64, dtype=np.float32):
        stream.learn_point(np.array([v]))
    check_forest(stream.forest)
    np.testing.assert_array_equal((stream.leaf_of >= 0).sum(axis=1), stream.forest.tree_mass())


def test_shingles_turn_a_series_into_points():
    stream = StreamingForest(1, num_trees=3, num_samples_per_tree=8, shingle_size=3, seed=0)
    assert stream.dimensions == 3
    assert stream.update([1.0]) == 0.0 and stream.update([2.0]) == 0.0
    stream.update([3.0])
    stream.update([4.0])
    lo, left, mass = (
        stream.forest.flat("lo"),
        stream.forest.flat("left"),
        stream.forest.flat("mass"),
    )
    leaves = np.flatnonzero((left < 0) & (mass > 0))
    assert {tuple(p) for p in lo[leaves]} == {(1.0, 2.0, 3.0), (2.0, 3.0, 4.0)}


def test_a_shape_anomaly_in_a_periodic_series_stands_out():
    values = _series(600, seed=1)
    values[500:508] = values[500]  # a flat stretch where the sine should move
    stream = StreamingForest(1, num_trees=30, num_samples_per_tree=128, shingle_size=4, seed=0)
    scores = stream.update_many(values.reshape(-1, 1))
    # the shingles where the flat stretch ends stand above every ordinary one
    assert scores[508:511].max() > 1.2 * scores[200:500].max()


def test_save_and_load_go_on_exactly():
    values = _series(300).reshape(-1, 1)
    stream = StreamingForest(
        1, num_trees=10, num_samples_per_tree=16, window_size=40, shingle_size=2, seed=4
    )
    stream.update_many(values[:200])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stream.save(tmp)
        again = StreamingForest.load(tmp)
    np.testing.assert_array_equal(again.update_many(values[200:]), stream.update_many(values[200:]))


def test_from_a_trained_model():
    from openmaker.algorithms.random_cut_forest.model import RandomCutForestModel

    rng = np.random.default_rng(0)
    samples = rng.normal(size=(8, 16, 2)).astype(np.float32)
    model = RandomCutForestModel(build_forest(samples, rng))
    stream = StreamingForest.from_model(model)
    assert stream.window_size == 128 and stream.sample_probability == pytest.approx(1 / 8)
    X = rng.normal(size=(5, 2))
    np.testing.assert_array_equal(stream.score(X), model.scores(X))
    np.testing.assert_array_equal((stream.leaf_of >= 0).sum(axis=1), [16] * 8)
    stream.update_many(rng.normal(size=(300, 2)))
    check_forest(stream.forest)
    # after a whole window (128 points) every trained point has left
    f = stream.forest
    leaves = np.flatnonzero((f.flat("left") < 0) & (f.flat("mass") > 0))
    assert not {tuple(p) for p in f.flat("lo")[leaves]} & {tuple(p) for p in samples.reshape(-1, 2)}
    assert f.tree_mass().sum() == pytest.approx(128, abs=40)


def test_bad_input_and_parameters():
    stream = StreamingForest(2, num_trees=3, num_samples_per_tree=4)
    with pytest.raises(DataFormatError, match="feature_dim=2"):
        stream.update([1.0, 2.0, 3.0])
    with pytest.raises(DataFormatError, match="NaN"):
        stream.update([1.0, np.nan])
    with pytest.raises(DataFormatError, match="record 1"):
        stream.update_many([[1.0, 2.0], [np.inf, 0.0]])
    with pytest.raises(DataFormatError, match="2 values"):
        stream.score(np.zeros((2, 3)))
    with pytest.raises(ValidationError, match="window_size"):
        StreamingForest(1, num_samples_per_tree=10, window_size=5)
    with pytest.raises(ValidationError, match="num_trees"):
        StreamingForest(1, num_trees=0)
    with pytest.raises(ValidationError, match="shingle_size"):
        StreamingForest(1, shingle_size=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="feature_dim"):
        StreamingForest("two")  # type: ignore[arg-type]
