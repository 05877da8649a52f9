"""The forest arrays, the level-wise builder, the vectorised scorer and the reservoir."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.random_cut_forest.build import build_forest
from openmaker.algorithms.random_cut_forest.forest import Forest, random_cuts
from openmaker.algorithms.random_cut_forest.sampling import Reservoir
from openmaker.algorithms.random_cut_forest.scoring import score_points

from .conftest import check_forest, reference_score


def _forest(T: int = 20, S: int = 32, d: int = 3, seed: int = 0) -> tuple[Forest, np.ndarray]:
    rng = np.random.default_rng(seed)
    samples = rng.normal(size=(T, S, d)).astype(np.float32)
    samples[0, :6] = samples[0, 6]  # a leaf of mass 7
    samples[1, :, 0] = 2.5  # a constant dimension
    return build_forest(samples, np.random.default_rng(seed)), samples


def test_built_trees_are_well_formed():
    forest, samples = _forest()
    check_forest(forest)
    assert forest.capacity == 2 * 32 - 1
    assert forest.tree_mass().tolist() == [32] * 20
    # every sample point is a leaf of its own tree; the duplicates share one leaf of mass 7
    left, mass, lo = forest.flat("left"), forest.flat("mass"), forest.flat("lo")
    for t in range(forest.num_trees):
        nodes = np.arange(t * forest.capacity, (t + 1) * forest.capacity)
        leaves = nodes[(left[nodes] < 0) & (mass[nodes] > 0)]
        stored = {tuple(p) for p in lo[leaves]}
        assert stored == {tuple(p) for p in samples[t]}
    leaves0 = np.flatnonzero((forest.left[0] < 0) & (forest.mass[0] > 0))
    assert sorted(forest.mass[0][leaves0].tolist())[-1] == 7
    assert forest.n_free[0] == 12  # 26 distinct points use 51 of the 63 slots
    # no cut on the constant dimension of tree 1
    internal = forest.left[1] >= 0
    assert not (forest.dim[1][internal] == 0).any()


def test_cut_dimension_follows_the_range():
    lo = np.zeros((20000, 3), dtype=np.float32)
    hi = np.tile(np.array([1.0, 3.0, 0.0], dtype=np.float32), (20000, 1))
    dim, cut = random_cuts(lo, hi, np.random.default_rng(0).random(20000))
    share = np.bincount(dim, minlength=3) / 20000
    np.testing.assert_allclose(share, [0.25, 0.75, 0.0], atol=0.015)
    rows = np.arange(20000)
    assert (cut >= lo[rows, dim]).all() and (cut < hi[rows, dim]).all()
    # uniform within the chosen range
    assert abs(np.mean(cut[dim == 1]) - 1.5) < 0.05


def test_cut_stays_strictly_below_the_top_of_a_tiny_range():
    lo = np.array([[1.0]], dtype=np.float32)
    hi = np.nextafter(lo, np.float32(2))
    _dim, cut = random_cuts(lo, hi, np.array([0.9999999]))
    assert cut[0] == lo[0, 0] and cut[0] < hi[0, 0]


def test_vectorised_scores_match_the_reference_walk():
    forest, samples = _forest()
    rng = np.random.default_rng(3)
    queries = np.concatenate(
        [
            rng.normal(size=(15, 3)),
            rng.normal(size=(5, 3)) + 6.0,  # outside every box
            samples[0, :3],  # a point of mass 7 in tree 0
            samples[4, :2],  # sample points of other trees
        ]
    ).astype(np.float32)
    got = score_points(forest, queries)
    want = [reference_score(forest, q) for q in queries]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # far points score higher than any ordinary one
    assert got[15:20].min() > got[:15].max()


def test_scores_do_not_depend_on_the_block_size(monkeypatch):
    import openmaker.algorithms.random_cut_forest.scoring as scoring

    forest, _ = _forest()
    X = np.random.default_rng(5).normal(size=(300, 3)).astype(np.float32)
    whole = score_points(forest, X)
    monkeypatch.setattr(scoring, "BLOCK_LANES", 7)
    np.testing.assert_array_equal(score_points(forest, X), whole)


def test_single_point_trees_and_empty_forest():
    forest = build_forest(np.ones((4, 1, 2), dtype=np.float32), np.random.default_rng(0))
    # a tree of one point: seen -> damp(1, 1) / log2(2) x log2(2) = 0.5; unseen -> 1
    np.testing.assert_allclose(score_points(forest, np.array([[1, 1], [0, 1]])), [0.5, 1.0])
    empty = Forest.empty(3, 5, 2)
    assert score_points(empty, np.zeros((2, 2))).tolist() == [0.0, 0.0]


def test_forest_arrays_round_trip():
    forest, _ = _forest()
    again = Forest.from_arrays(forest.to_arrays())
    check_forest(again)
    X = np.random.default_rng(1).normal(size=(50, 3))
    np.testing.assert_array_equal(score_points(again, X), score_points(forest, X))


def test_reservoir_is_uniform_and_batch_independent():
    stream = np.arange(100, dtype=np.float32).reshape(-1, 1)
    counts = np.zeros(100)
    for seed in range(400):
        r = Reservoir(10, 1, np.random.default_rng(seed))
        for lo in range(0, 100, 7):
            r.add(stream[lo : lo + 7])
        sample = r.sample()[:, 0].astype(int)
        assert len(set(sample.tolist())) == 10  # without replacement
        counts[sample] += 1
    # each row is kept with probability 10/100: 40 times in 400 draws on average
    assert counts.min() > 15 and counts.max() < 70
    assert abs(counts[:50].sum() - counts[50:].sum()) < 0.1 * counts.sum()
    a, b = Reservoir(10, 1, np.random.default_rng(7)), Reservoir(10, 1, np.random.default_rng(7))
    a.add(stream)
    for lo in range(0, 100, 3):
        b.add(stream[lo : lo + 3])
    np.testing.assert_array_equal(a.sample(), b.sample())
    small = Reservoir(10, 1, np.random.default_rng(0))
    small.add(stream[:4])
    assert small.size == 4 and small.sample()[:, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("d", [1, 5])
def test_root_cut_distribution_matches_the_definition(d):
    # points 0, 1, 3 on the first axis: the root isolates 3 with probability 2/3
    samples = np.zeros((3000, 3, d), dtype=np.float32)
    samples[:, :, 0] = [0.0, 1.0, 3.0]
    forest = build_forest(samples, np.random.default_rng(0))
    root = forest.root
    right = forest.flat("right")[root]
    isolates_3 = forest.flat("mass")[right] == 1
    assert isolates_3.mean() == pytest.approx(2 / 3, abs=0.03)
