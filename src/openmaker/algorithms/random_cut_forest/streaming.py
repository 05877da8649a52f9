"""A streaming random cut forest: score each record, then learn it (Kinesis Data Analytics'
``RANDOM_CUT_FOREST``).

:class:`StreamingForest` keeps a sliding window of the last ``window_size`` points. Each tree
holds a random share of the window: an arriving point joins each tree independently with
probability ``num_samples_per_tree / window_size`` (so each tree holds about
``num_samples_per_tree`` points; with ``window_size == num_samples_per_tree``, the default,
every tree holds the whole window, as in rrcf's streaming example) and leaves the trees that
hold it when it falls out of the window. Updates are the exact robust-random-cut-tree insert
and delete (:mod:`.dynamic`), vectorised over the trees.

With ``shingle_size`` k > 1 each point is the concatenation of the last k records (oldest
first), so a 1-D series becomes k-dimensional points and anomalies in its shape show up.

``update(record)`` returns the record's score against the forest *before* it learns the record
(0.0 while the forest is empty or while the first shingle is incomplete), on the same scale as
the batch model (:mod:`.scoring`). ``save`` / ``load`` keep the whole state (trees, window,
shingle and random state), so a restored forest goes on exactly where it stopped.

Usage::

    forest = StreamingForest(1, num_trees=100, num_samples_per_tree=256, shingle_size=4)
    for value in series:
        score = forest.update([value])   # score against the last 256 shingles, then learn
    forest.save("model")                 # tar the folder as model.tar.gz to serve it

``StreamingForest.from_model(model)`` starts from a trained batch model: the trained trees
become the streaming trees and their ``num_trees x samples_per_tree`` points the initial window
(in random order), so ``window_size`` is that number and each new point joins each tree with
probability ``1 / num_trees``; a ``model.tar.gz`` holding a streaming forest is served by
:class:`~openmaker.algorithms.random_cut_forest.model.StreamingRandomCutForestModel`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common.artifact import load_model_arrays, save_model_arrays
from openmaker.algorithms.random_cut_forest.dynamic import delete, score_and_insert
from openmaker.algorithms.random_cut_forest.forest import NO_NODE, Forest, remap_ids
from openmaker.algorithms.random_cut_forest.scoring import score_points
from openmaker.errors import DataFormatError, ValidationError

#: ``meta["mode"]`` of a streaming artifact.
STREAMING_MODE = "streaming"


def _positive(name: str, value: Any) -> int:
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class StreamingForest:
    """A random cut forest over a sliding window, updated one record at a time.

    Args:
        feature_dim: values per record.
        num_trees: trees in the forest.
        num_samples_per_tree: expected points per tree.
        window_size: points kept (the most recent); default ``num_samples_per_tree``; at least
            ``num_samples_per_tree``.
        shingle_size: records per point (1: no shingling).
        seed: seed of the random cuts and tree memberships.

    Raises:
        ValidationError: a parameter is not a positive integer, or ``window_size`` is smaller
            than ``num_samples_per_tree``.
    """

    def __init__(
        self,
        feature_dim: int,
        *,
        num_trees: int = 100,
        num_samples_per_tree: int = 256,
        window_size: int | None = None,
        shingle_size: int = 1,
        seed: int = 0,
    ) -> None:
        self.feature_dim = _positive("feature_dim", feature_dim)
        self.num_trees = _positive("num_trees", num_trees)
        self.num_samples_per_tree = _positive("num_samples_per_tree", num_samples_per_tree)
        self.window_size = _positive(
            "window_size", self.num_samples_per_tree if window_size is None else window_size
        )
        if self.window_size < self.num_samples_per_tree:
            raise ValidationError(
                f"window_size ({self.window_size}) must be at least num_samples_per_tree "
                f"({self.num_samples_per_tree})"
            )
        self.shingle_size = _positive("shingle_size", shingle_size)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        capacity = 2 * min(self.window_size, 2 * self.num_samples_per_tree) + 1
        self.forest = Forest.empty(self.num_trees, capacity, self.dimensions)
        #: per tree and window slot: the leaf holding that point, or -1
        self.leaf_of = np.full((self.num_trees, self.window_size), NO_NODE, dtype=np.int64)
        self.points_seen = 0
        self.records_seen = 0
        self._shingle = np.zeros((self.shingle_size, self.feature_dim), dtype=np.float32)

    # --- properties ------------------------------------------------------------------------
    @property
    def dimensions(self) -> int:
        """Dimension of the forest's points: ``feature_dim x shingle_size``."""
        return self.feature_dim * self.shingle_size

    @property
    def sample_probability(self) -> float:
        """Probability that a point joins a given tree."""
        return self.num_samples_per_tree / self.window_size

    # --- records -> points -----------------------------------------------------------------
    def _check_record(self, record: Any) -> np.ndarray:
        row = np.asarray(record, dtype=np.float32).reshape(-1)
        if row.shape[0] != self.feature_dim:
            raise DataFormatError(
                f"a record has {row.shape[0]} values; the forest expects feature_dim="
                f"{self.feature_dim}"
            )
        if not np.isfinite(row).all():
            raise DataFormatError("a record holds NaN or an infinite value")
        return row

    def _shingle_push(self, row: np.ndarray) -> np.ndarray | None:
        k = self.shingle_size
        self._shingle[self.records_seen % k] = row
        self.records_seen += 1
        if self.records_seen < k:
            return None
        start = self.records_seen % k  # oldest record of the shingle
        return np.concatenate([self._shingle[start:], self._shingle[:start]]).reshape(-1)

    # --- the stream --------------------------------------------------------------------------
    def update(self, record: Any) -> float:
        """Score one record against the current forest, then learn it.

        Args:
            record: ``feature_dim`` values.

        Returns:
            The anomaly score (0.0 until the forest holds a point).

        Raises:
            DataFormatError: wrong number of values, NaN or infinity.
        """
        point = self._shingle_push(self._check_record(record))
        if point is None:
            return 0.0
        return self._advance(point)

    def update_many(self, records: Any) -> np.ndarray:
        """:meth:`update` each row of ``records`` in order; returns their scores."""
        rows = np.asarray(records, dtype=np.float32)
        if rows.ndim == 1:
            rows = rows.reshape(-1, 1) if self.feature_dim == 1 else rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"records have shape {rows.shape}; the forest expects feature_dim="
                f"{self.feature_dim} values a record"
            )
        if not np.isfinite(rows).all():
            bad = int(np.argwhere(~np.isfinite(rows))[0][0])
            raise DataFormatError(f"record {bad} holds NaN or an infinite value")
        return np.array([self.update(row) for row in rows], dtype=np.float64)

    def learn_point(self, point: np.ndarray) -> float:
        """Add a (shingled) point to the window, expiring the oldest; returns its score
        against the forest before the update."""
        point = np.asarray(point, dtype=np.float32).reshape(-1)
        if point.shape[0] != self.dimensions or not np.isfinite(point).all():
            raise DataFormatError(
                f"a point must hold {self.dimensions} finite values, got {point.shape[0]}"
            )
        return self._advance(point)

    def _advance(self, point: np.ndarray) -> float:
        slot = self.points_seen % self.window_size
        if self.sample_probability >= 1.0:
            join = np.ones(self.num_trees, dtype=bool)
        else:
            join = self.rng.random(self.num_trees) < self.sample_probability
        old = self.forest.ensure_free(np.flatnonzero(join), 2)
        if old is not None:
            self.leaf_of = remap_ids(self.leaf_of, old, self.forest.capacity)
        expired_leaves = self.leaf_of[:, slot].copy()
        score, leaves = score_and_insert(self.forest, point, join, self.rng)
        # the point leaving the window goes after the new one came in (the score above was
        # taken against the whole window); a leaf id never changes, so the saved ids hold
        expired = np.flatnonzero(expired_leaves >= 0)
        delete(self.forest, expired, expired_leaves[expired])
        self.leaf_of[:, slot] = leaves
        self.points_seen += 1
        return score

    def score(self, points: Any) -> np.ndarray:
        """Scores of (shingled) points against the current forest, without learning them.

        Args:
            points: (n, ``dimensions``) points (a record when ``shingle_size`` is 1).
        """
        X = np.asarray(points, dtype=np.float32)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.dimensions:
            raise DataFormatError(
                f"points have shape {X.shape}; the forest's points have {self.dimensions} values"
            )
        if not np.isfinite(X).all():
            raise DataFormatError("a point holds NaN or an infinite value")
        return score_points(self.forest, X)

    # --- from a trained model ------------------------------------------------------------------
    @classmethod
    def from_model(cls, model: Any, *, seed: int = 0) -> StreamingForest:
        """A streaming forest that starts from a trained batch model's trees.

        Args:
            model: a :class:`~openmaker.algorithms.random_cut_forest.model.RandomCutForestModel`.
            seed: seed of the window order and of later updates.
        """
        forest: Forest = model.forest
        T = forest.num_trees
        masses = forest.tree_mass()
        per_tree = int(masses.max()) if len(masses) else 0
        out = cls(
            forest.dimensions,
            num_trees=T,
            num_samples_per_tree=max(per_tree, 1),
            window_size=max(int(masses.sum()), 1),
            seed=seed,
        )
        out.forest = Forest.from_arrays(forest.to_arrays())
        # every stored point gets a window slot; a leaf of mass m holds m of them
        leaves = np.flatnonzero((out.forest.flat("left") < 0) & (out.forest.flat("mass") > 0))
        copies = out.forest.flat("mass")[leaves]
        leaf_per_point = np.repeat(leaves, copies)
        slots = out.rng.permutation(len(leaf_per_point))
        out.leaf_of[leaf_per_point // out.forest.capacity, slots] = leaf_per_point
        out.points_seen = len(leaf_per_point)
        return out

    # --- persistence -------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)`` describing the whole state (see :meth:`save`)."""
        held = np.argwhere(self.leaf_of >= 0)
        arrays = self.forest.to_arrays("forest_")
        arrays["window_tree"] = held[:, 0].astype(np.int64)
        arrays["window_slot"] = held[:, 1].astype(np.int64)
        arrays["window_leaf"] = self.leaf_of[held[:, 0], held[:, 1]]
        arrays["shingle"] = self._shingle
        meta = {
            "algorithm": "randomcutforest",
            "mode": STREAMING_MODE,
            "feature_dim": self.feature_dim,
            "num_trees": self.num_trees,
            "num_samples_per_tree": self.num_samples_per_tree,
            "window_size": self.window_size,
            "shingle_size": self.shingle_size,
            "seed": self.seed,
            "points_seen": self.points_seen,
            "records_seen": self.records_seen,
            "rng_state": json.dumps(self.rng.bit_generator.state),
        }
        return arrays, meta

    def save(self, model_dir: str | Path) -> Path:
        """Write ``model_dir/model_algo-1`` (pack the folder as model.tar.gz to serve it)."""
        arrays, meta = self.state()
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        return save_model_arrays(model_dir, arrays, meta)

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> StreamingForest:
        """Rebuild a forest from :meth:`state`'s output."""
        if meta.get("mode") != STREAMING_MODE:
            raise ValidationError("model_algo-1 does not hold a streaming random cut forest")
        out = cls(
            int(meta["feature_dim"]),
            num_trees=int(meta["num_trees"]),
            num_samples_per_tree=int(meta["num_samples_per_tree"]),
            window_size=int(meta["window_size"]),
            shingle_size=int(meta["shingle_size"]),
            seed=int(meta["seed"]),
        )
        out.forest = Forest.from_arrays(arrays, "forest_")
        out.leaf_of[arrays["window_tree"], arrays["window_slot"]] = arrays["window_leaf"]
        out._shingle = np.array(arrays["shingle"], dtype=np.float32)
        out.points_seen = int(meta["points_seen"])
        out.records_seen = int(meta["records_seen"])
        out.rng.bit_generator.state = json.loads(meta["rng_state"])
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> StreamingForest:
        """Read what :meth:`save` wrote."""
        arrays, meta = load_model_arrays(model_dir)
        return cls.from_state(arrays, meta)
