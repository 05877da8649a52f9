"""Insert and delete one point in many trees at once (the robust random cut tree updates).

Insertion (Guha et al. 2016, as in the open-source library): at node ``v`` with box ``B``,
draw a random cut of ``B ∪ {x}``; if it separates ``x`` from ``B``, a new internal node with that
cut takes ``v``'s place with children ``v`` and a new leaf for ``x``; otherwise ``B`` grows to
hold ``x``, the mass grows by one and the walk goes on into the child the cut of ``v`` chooses.
A point equal to an existing leaf's point increases that leaf's mass. The result is distributed
as a tree built on the sample with ``x`` (the property that makes streaming updates exact).

Deletion: a leaf with mass above one loses one; otherwise the leaf and its parent are removed,
the sibling takes the parent's place, and the boxes and masses above are recomputed from the
children.

Both operate on a set of trees at the same time: each loop iteration moves every tree one level
(numpy over the trees), so a point costs ``O(depth)`` numpy calls whatever the number of trees.
"""

from __future__ import annotations

import numpy as np

from openmaker.algorithms.random_cut_forest.forest import NO_NODE, Forest, random_cuts
from openmaker.algorithms.random_cut_forest.scoring import box_gaps, leaf_scores


def _set_leaf(forest: Forest, leaves: np.ndarray, x: np.ndarray, parents: np.ndarray) -> None:
    forest.flat("left")[leaves] = NO_NODE
    forest.flat("right")[leaves] = NO_NODE
    forest.flat("parent")[leaves] = parents
    forest.flat("mass")[leaves] = 1
    forest.flat("lo")[leaves] = x
    forest.flat("hi")[leaves] = x
    forest.flat("span")[leaves] = 0.0


def _extension(lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension, the interval by which the box ``[lo, hi]`` grows to hold ``x`` (empty
    where ``x`` is inside): ``[x, lo)`` below the box, ``[hi, x)`` above it."""
    below, above = x < lo, x > hi
    a = np.where(below, x, np.where(above, hi, 0)).astype(np.float32)
    b = np.where(below, lo, np.where(above, x, 0)).astype(np.float32)
    return a, b


def score_and_insert(
    forest: Forest, x: np.ndarray, join: np.ndarray, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """Score ``x`` against the forest as it is, then insert it into the trees in ``join``.

    Scoring and insertion share one walk. The sequential insertion goes down the path ``x``
    takes through the existing cuts until the first node where the random cut of the box
    extended by ``x`` separates ``x``; at a node whose box does not hold ``x`` that happens with
    probability ``p = gap / (span + gap)`` (the scoring term), above the first box that holds
    ``x`` it cannot. So the path is found first (scalar gathers only), then the climb from the
    leaf computes ``p`` until the point is inside a box, updating the score and drawing the
    separations; the topmost success is where the new node goes. Its cut is drawn uniformly
    over the box's extension towards ``x`` (the cut distribution given that it separates).
    The caller must have made room (two free slots in each joining tree).

    Args:
        forest: the forest, updated in place.
        x: (d,) float32 point.
        join: (num_trees,) bool: the trees that learn ``x``.
        rng: source of the random draws.

    Returns:
        ``(score, leaves)``: the score of ``x`` before the update (0.0 for an empty forest) and,
        per tree, the leaf now holding ``x`` (-1 where it did not join).
    """
    x = np.asarray(x, dtype=np.float32)
    left, right = forest.flat("left"), forest.flat("right")
    dim, cut, mass = forest.flat("dim"), forest.flat("cut"), forest.flat("mass")
    lo, hi, span = forest.flat("lo"), forest.flat("hi"), forest.flat("span")
    result = np.full(forest.num_trees, NO_NODE, dtype=np.int64)
    trees = np.flatnonzero(forest.root >= 0)
    score = 0.0

    if len(trees):
        # 1. the path through the existing cuts: levels of internal nodes, then the leaf
        levels: list[tuple[np.ndarray, np.ndarray]] = []
        leaf = np.empty(len(trees), dtype=np.int64)
        leaf_depth = np.empty(len(trees), dtype=np.float64)
        pos, node = np.arange(len(trees)), forest.root[trees]
        depth = 0
        while True:
            children = left.take(node)
            at_leaf = children < 0
            if at_leaf.any():
                leaf[pos[at_leaf]] = node[at_leaf]
                leaf_depth[pos[at_leaf]] = depth
                keep = ~at_leaf
                pos, node, children = pos[keep], node[keep], children[keep]
                if not len(pos):
                    break
            levels.append((pos, node))
            node = np.where(x[dim.take(node)] <= cut.take(node), children, right.take(node))
            depth += 1

        # 2. the leaf term, then the climb (score, and where each joining tree separates x)
        tree_mass = mass.take(forest.root[trees]).astype(np.float64)
        seen = (lo[leaf] == x).all(axis=1)
        s = leaf_scores(leaf_depth, mass.take(leaf).astype(np.float64), tree_mass, seen)
        joins = join[trees]
        target = np.where(joins & ~seen, leaf, NO_NODE)
        target_level = np.full(len(trees), len(levels))
        first_out = np.full(len(trees), len(levels))  # topmost level whose box lacks x
        inside = seen.copy()
        for k in range(len(levels) - 1, -1, -1):
            pos, node = levels[k]
            out = ~inside[pos]
            if not out.all():
                pos, node = pos[out], node[out]
                if not len(pos):
                    continue
            gap = box_gaps(lo[node], hi[node], x)
            sep = gap / (span.take(node) + gap)
            s[pos] = sep / (k + 1.0) + (1.0 - sep) * s[pos]
            hit = joins[pos] & (rng.random(len(pos)) < sep)
            target[pos[hit]] = node[hit]
            target_level[pos[hit]] = k
            held = gap <= 0
            first_out[pos[~held]] = k
            inside[pos[held]] = True
        per_tree = s * np.log2(tree_mass + 1.0)
        # summed in tree order as the batch scorer does, so both give the same bits
        score = float(np.bincount(np.zeros(len(trees), dtype=np.int64), weights=per_tree)[0])
        score /= len(trees)

        # 3. ancestors above the target (every level for a copy of a leaf) now hold x: one
        # more point each, and a box grown to x where x was outside it
        grown: list[np.ndarray] = []
        counted: list[np.ndarray] = []
        for k, (pos, node) in enumerate(levels):
            above = joins[pos] & (target_level[pos] > k)
            counted.append(node[above])
            grow = above & (first_out[pos] <= k)
            if grow.any():
                grown.append(node[grow])
        if counted:
            mass[np.concatenate(counted)] += 1
        if grown:
            a = np.concatenate(grown)
            lo[a] = np.minimum(lo[a], x)
            hi[a] = np.maximum(hi[a], x)
            span[a] = (hi[a].astype(np.float64) - lo[a]).sum(axis=1)
        copies = joins & seen
        mass[leaf[copies]] += 1
        result[trees[copies]] = leaf[copies]

        # 4. a new internal node with a separating cut takes the target's place
        split = np.flatnonzero(joins & ~seen)
        if len(split):
            result[trees[split]] = _split(forest, trees[split], target[split], x, rng)

    new_trees = np.flatnonzero(join & (forest.root < 0))
    if len(new_trees):
        leaves = forest.pop_slots(new_trees)
        _set_leaf(forest, leaves, x, np.full(len(leaves), NO_NODE))
        forest.root[new_trees] = leaves
        result[new_trees] = leaves
    return score, result


def _split(
    forest: Forest, trees: np.ndarray, v: np.ndarray, x: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """In each tree, put a new parent above node ``v`` whose cut separates ``x`` from ``v``'s
    box, with a new leaf for ``x`` as the other child; returns the new leaves."""
    left, right, parent = forest.flat("left"), forest.flat("right"), forest.flat("parent")
    dim, cut, mass = forest.flat("dim"), forest.flat("cut"), forest.flat("mass")
    lo, hi, span = forest.flat("lo"), forest.flat("hi"), forest.flat("span")
    a, b = _extension(lo[v], hi[v], x)
    cut_dim, cut_val = random_cuts(a, b, rng.random(len(v)))
    fresh = forest.pop_slots(trees)
    new_leaf = forest.pop_slots(trees)
    x_left = x[cut_dim] <= cut_val
    up = parent[v]
    dim[fresh] = cut_dim
    cut[fresh] = cut_val
    lo[fresh] = np.minimum(lo[v], x)
    hi[fresh] = np.maximum(hi[v], x)
    span[fresh] = (hi[fresh].astype(np.float64) - lo[fresh]).sum(axis=1)
    mass[fresh] = mass[v] + 1
    parent[fresh] = up
    left[fresh] = np.where(x_left, new_leaf, v)
    right[fresh] = np.where(x_left, v, new_leaf)
    has_up = up >= 0
    u = up[has_up]
    was_left = left[u] == v[has_up]
    left[u[was_left]] = fresh[has_up][was_left]
    right[u[~was_left]] = fresh[has_up][~was_left]
    forest.root[trees[~has_up]] = fresh[~has_up]
    parent[v] = fresh
    _set_leaf(forest, new_leaf, x, fresh)
    return new_leaf


def delete(forest: Forest, trees: np.ndarray, leaves: np.ndarray) -> None:
    """Remove one point from each of ``trees``: the one held by ``leaves`` (global ids).

    Args:
        forest: the forest, updated in place.
        trees: distinct tree indices.
        leaves: the leaf holding the point in each tree (aligned with ``trees``).
    """
    trees = np.asarray(trees, dtype=np.int64)
    leaves = np.asarray(leaves, dtype=np.int64)
    if not len(trees):
        return
    left, right, parent = forest.flat("left"), forest.flat("right"), forest.flat("parent")
    mass, lo, hi, span = (
        forest.flat("mass"),
        forest.flat("lo"),
        forest.flat("hi"),
        forest.flat("span"),
    )

    mass[leaves] -= 1
    start = parent[leaves].copy()  # lowest node whose mass (and box) must be updated
    gone = mass[leaves] == 0
    if gone.any():
        g_trees, g_leaves = trees[gone], leaves[gone]
        p = parent[g_leaves]
        alone = p < 0  # the tree's only point
        forest.root[g_trees[alone]] = NO_NODE
        forest.push_slots(g_trees[alone], g_leaves[alone])

        paired = ~alone
        pt, pl, pp = g_trees[paired], g_leaves[paired], p[paired]
        sibling = np.where(left[pp] == pl, right[pp], left[pp])
        grand = parent[pp]
        parent[sibling] = grand
        has_grand = grand >= 0
        gg, gp, gs = grand[has_grand], pp[has_grand], sibling[has_grand]
        was_left = left[gg] == gp
        left[gg[was_left]] = gs[was_left]
        right[gg[~was_left]] = gs[~was_left]
        forest.root[pt[~has_grand]] = sibling[~has_grand]
        forest.push_slots(pt, pl)
        forest.push_slots(pt, pp)
        where = np.flatnonzero(gone)
        start[where[paired]] = grand
        start[where[alone]] = NO_NODE

    # masses fall by one up to the root; boxes change only while a child's box changed
    walk = start >= 0
    node = start[walk]
    dirty = gone[walk]
    while len(node):
        mass[node] -= 1
        if dirty.any():
            d_node = node[dirty]
            a, b = left[d_node], right[d_node]
            new_lo = np.minimum(lo[a], lo[b])
            new_hi = np.maximum(hi[a], hi[b])
            changed = (new_lo != lo[d_node]).any(axis=1) | (new_hi != hi[d_node]).any(axis=1)
            lo[d_node] = new_lo
            hi[d_node] = new_hi
            span[d_node] = (new_hi.astype(np.float64) - new_lo).sum(axis=1)
            dirty[np.flatnonzero(dirty)[~changed]] = False
        node = parent[node]
        up = node >= 0
        node, dirty = node[up], dirty[up]
