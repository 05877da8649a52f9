"""Anomaly scores of a batch of points through every tree at once (vectorised).

The score of a point in one tree follows the open-source Random Cut Forest library
(``AbstractScalarScoreVisitor`` / ``CommonUtils``, reference section 6.6): walk to the leaf the
point reaches, then back up towards the root, with

* at the leaf (depth ``D``, mass ``m``): ``damp(m) / (D + log2(m + 1))`` with
  ``damp(m) = 1 - m / (2 * tree_mass)`` when the leaf holds the point itself, else
  ``1 / (D + 1)``;
* at each ancestor at depth ``k``: ``s <- p_k / (k + 1) + (1 - p_k) s``, where ``p_k`` is the
  probability that a random cut of the node's box extended by the point separates the point
  (the box's range increase over the extended range, summed over dimensions); the walk stops
  at the first box that contains the point (``p = 0`` there and at every ancestor above);
* the tree's score is ``s x log2(tree_mass + 1)`` and the forest's the mean over trees.

This is the expected displacement-style score of inserting the point (Guha et al. 2016) and
is on the scale SageMaker reports (about 1 for ordinary points, larger for anomalies).

Vectorisation: every (tree, point) pair is a lane of numpy arrays. The descent moves all lanes
one level per loop iteration using only the cut of each node (scalar gathers) and records the
nodes of each level; lanes leave when they reach their leaf. The climb then walks the recorded
levels bottom-up, computing the box term only for lanes still outside the boxes (for ordinary
points, only the few lowest levels). Python loops once per tree level, never per point or node.
"""

from __future__ import annotations

import numpy as np

from openmaker.algorithms.random_cut_forest.forest import Forest

#: Upper bound on lanes (tree x point pairs) walked at once: bounds the temporary memory
#: (about 30 bytes a lane and level, plus ``8 x dimensions`` bytes a lane in the climb).
BLOCK_LANES = 1 << 15


def score_points(forest: Forest, X: np.ndarray) -> np.ndarray:
    """The forest's anomaly score of each row of ``X`` (larger = more anomalous).

    Args:
        forest: the trees (empty trees are skipped; a forest without points scores 0).
        X: (n, d) points; compared with the stored points as float32.

    Returns:
        float64 (n,) scores.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    out = np.zeros(n, dtype=np.float64)
    trees = np.flatnonzero(forest.root >= 0)
    if n == 0 or len(trees) == 0:
        return out
    lanes_per_point = len(trees) * max(1, forest.dimensions // 16)
    step = max(1, BLOCK_LANES // lanes_per_point)
    tree_mass = forest.tree_mass().astype(np.float64)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        out[lo:hi] = _score_block(forest, X[lo:hi], trees, tree_mass)
    return out / len(trees)


def leaf_scores(
    depth: np.ndarray | float, mass: np.ndarray, tree_mass: np.ndarray, seen: np.ndarray
) -> np.ndarray:
    """The leaf term: ``damp / (depth + log2(mass + 1))`` where the leaf holds the point
    itself (``seen``), else ``1 / (depth + 1)``; ``damp = 1 - mass / (2 tree_mass)``."""
    return np.where(
        seen,
        (1.0 - mass / (2.0 * tree_mass)) / (depth + np.log2(mass + 1.0)),
        1.0 / (depth + 1.0),
    )


def box_gaps(lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """L1 distance from each point to its box, float64 (``lo`` is overwritten).

    Args:
        lo: (k, d) float32 box minima, a scratch copy (gathered rows).
        hi: (k, d) float32 box maxima.
        x: (k, d) or (d,) float32 points.
    """
    lo -= x
    above = x - hi
    np.maximum(lo, above, out=lo)
    np.maximum(lo, np.float32(0), out=lo)
    # a plain row sum (no BLAS), so a point gets the same score in any batch
    return np.einsum("ij->i", lo).astype(np.float64)


def _score_block(
    forest: Forest, X: np.ndarray, trees: np.ndarray, tree_mass: np.ndarray
) -> np.ndarray:
    """Sum over ``trees`` of the normalised per-tree scores of each row of ``X``."""
    n = X.shape[0]
    left, right = forest.flat("left"), forest.flat("right")
    dim, cut, mass = forest.flat("dim"), forest.flat("cut"), forest.flat("mass")
    box_lo, box_hi, span = forest.flat("lo"), forest.flat("hi"), forest.flat("span")

    # one lane per (tree, point): trees outer so consecutive lanes share a tree's nodes
    lane_tree = np.repeat(trees, n)
    lane_point = np.tile(np.arange(n), len(trees))
    flat_x = X.reshape(-1)
    width = X.shape[1]
    score = np.empty(len(lane_tree))
    lanes = np.arange(len(lane_tree))
    node = forest.root.take(lane_tree)
    offset = lane_point * width  # where each lane's point starts in ``flat_x``
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    depth = 0
    while True:
        children = left.take(node)
        at_leaf = children < 0
        if at_leaf.any():
            where = np.flatnonzero(at_leaf)
            ended, leaf = lanes.take(where), node.take(where)
            m = mass.take(leaf).astype(np.float64)
            tm = tree_mass.take(lane_tree.take(ended))
            # the leaf box is its point: "seen" when the query equals it
            diff = box_lo.take(leaf, axis=0) != X.take(lane_point.take(ended), axis=0)
            seen = ~diff.any(axis=1)
            score[ended] = leaf_scores(float(depth), m, tm, seen)
            keep = np.flatnonzero(~at_leaf)
            lanes, node = lanes.take(keep), node.take(keep)
            children, offset = children.take(keep), offset.take(keep)
        if not len(lanes):
            break
        levels.append((lanes, node))
        value = flat_x.take(offset + dim.take(node))
        node = np.where(value <= cut.take(node), children, right.take(node))
        depth += 1

    inside = np.zeros(len(lane_tree), dtype=bool)
    for k in range(len(levels) - 1, -1, -1):
        lanes, node = levels[k]
        out = inside.take(lanes)
        if out.any():
            keep = np.flatnonzero(~out)
            lanes, node = lanes.take(keep), node.take(keep)
        if not len(lanes):
            continue
        gap = box_gaps(
            box_lo.take(node, axis=0),
            box_hi.take(node, axis=0),
            X.take(lane_point.take(lanes), axis=0),
        )
        sep = gap / (span.take(node) + gap)
        score[lanes] = sep / (k + 1.0) + (1.0 - sep) * score.take(lanes)
        inside[lanes[gap <= 0]] = True
    score *= np.log2(tree_mass.take(lane_tree) + 1.0)
    # lanes are tree-major: each point's trees are added in tree order
    return np.bincount(lane_point, weights=score, minlength=n)
