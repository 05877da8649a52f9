"""Helpers for the Random Cut Forest tests: generated data, channels on disk, training runs,
a per-point reference scorer and a structural check of the forest arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.random_cut_forest.forest import Forest
from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace

RECORDIO = "application/x-recordio-protobuf"


def inliers_and_outliers(
    n: int = 600, n_out: int = 12, d: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows from a Gaussian blob plus ``n_out`` far-away rows mixed in; labels 1 = outlier."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    out = rng.normal(size=(n_out, d)) * 0.5 + rng.choice([-8.0, 8.0], size=(n_out, d))
    data = np.concatenate([X, out]).astype(np.float32)
    labels = np.concatenate([np.zeros(n), np.ones(n_out)]).astype(np.float32)
    order = rng.permutation(len(data))
    return data[order], labels[order]


def reference_score(forest: Forest, x: np.ndarray) -> float:
    """The open-source library's score, one point, one tree at a time, bottom-up (the
    ``AbstractScalarScoreVisitor`` walk) — the slow definition the vectorised code must match."""
    x = np.asarray(x, dtype=np.float32)
    left, right, dim, cut = (forest.flat(n) for n in ("left", "right", "dim", "cut"))
    mass, lo, hi = forest.flat("mass"), forest.flat("lo"), forest.flat("hi")
    total, trees = 0.0, 0
    for t in range(forest.num_trees):
        node = int(forest.root[t])
        if node < 0:
            continue
        tree_mass = int(mass[node])
        path = [node]
        while left[node] >= 0:
            node = int(left[node] if x[dim[node]] <= cut[node] else right[node])
            path.append(node)
        depth = len(path) - 1
        leaf = path[-1]
        if np.array_equal(lo[leaf], x):
            m = int(mass[leaf])
            score = (1 - m / (2 * tree_mass)) / (depth + np.log2(m + 1))
        else:
            score = 1 / (depth + 1)
            for k in range(depth - 1, -1, -1):
                node = path[k]
                new_range = (np.maximum(hi[node], x) - np.minimum(lo[node], x)).astype(float).sum()
                old_range = (hi[node].astype(float) - lo[node]).sum()
                p = (new_range - old_range) / new_range
                if p <= 0:
                    break
                score = p / (k + 1) + (1 - p) * score
        total += score * np.log2(tree_mass + 1)
        trees += 1
    return total / trees if trees else 0.0


def check_forest(forest: Forest) -> None:
    """Assert the structural invariants of every tree (boxes, masses, cuts, parents, slots)."""
    left, right, parent = forest.flat("left"), forest.flat("right"), forest.flat("parent")
    dim, cut, mass = forest.flat("dim"), forest.flat("cut"), forest.flat("mass")
    lo, hi, span = forest.flat("lo"), forest.flat("hi"), forest.flat("span")
    for t in range(forest.num_trees):
        root = int(forest.root[t])
        used: set[int] = set()
        if root >= 0:
            assert parent[root] == -1 and root // forest.capacity == t
            stack = [root]
            while stack:
                g = stack.pop()
                used.add(g)
                assert mass[g] > 0
                if left[g] < 0:
                    assert right[g] < 0 and np.array_equal(lo[g], hi[g])
                    continue
                a, b = int(left[g]), int(right[g])
                assert parent[a] == g and parent[b] == g
                assert mass[g] == mass[a] + mass[b]
                assert np.array_equal(lo[g], np.minimum(lo[a], lo[b]))
                assert np.array_equal(hi[g], np.maximum(hi[a], hi[b]))
                assert hi[a][dim[g]] <= cut[g] < lo[b][dim[g]]
                assert span[g] == pytest.approx((hi[g].astype(float) - lo[g]).sum())
                stack += [a, b]
        free = {t * forest.capacity + int(s) for s in forest.free[t, : forest.n_free[t]]}
        assert not free & used
        assert len(free) + len(used) == forest.capacity


class Workspace(AlgorithmWorkspace):
    """The shared test workspace (:mod:`openmaker.testing.workspace`) with this algorithm's
    ``fit`` defaults."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "randomcutforest")

    def fit(
        self,
        X: Any,
        content_type: str = "text/csv",
        *,
        mode: str = "File",
        test: tuple[np.ndarray, np.ndarray] | None = None,
        **hyperparameters: Any,
    ) -> Run:
        """Train on ``X`` with ``feature_dim`` from the data, 50 trees of 32 points."""
        hp = {"feature_dim": X.shape[1], "num_trees": 50, "num_samples_per_tree": 32}
        hp.update(hyperparameters)
        channels = {"train": self.channel("train", X, content_type, mode=mode)}
        if test is not None:
            params = {"label_size": "1"} if content_type == "text/csv" else {}
            channels["test"] = self.channel(
                "test", test[0], content_type, y=test[1], params=params, mode=mode
            )
        return self.train(hp, channels)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace in a temporary folder."""
    return Workspace(tmp_path)


@pytest.fixture()
def data() -> tuple[np.ndarray, np.ndarray]:
    """1820 x 4 rows: a Gaussian blob and 20 far outliers (labels 1)."""
    return inliers_and_outliers(1800, 20)
