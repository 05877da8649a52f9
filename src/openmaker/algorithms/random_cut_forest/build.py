"""Build random cut trees from their samples, all trees at once, one tree level at a time.

Each tree starts as one segment holding its sample. At every level, each open segment (a node
whose points are not all identical) gets a bounding box (``minimum/maximum.reduceat`` over its
points), a random cut (:func:`~.forest.random_cuts`: the dimension in proportion to the box's
range, the value uniform in it) and a stable partition of its points into two child segments.
A segment whose points are all equal becomes a leaf whose mass is their number. The Python
loop runs once per level (the depth of the deepest tree), never per node or per point.
"""

from __future__ import annotations

import numpy as np

from openmaker.algorithms.random_cut_forest.forest import NO_NODE, Forest, random_cuts


def _ragged_positions(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, sizes)])`` without a loop."""
    total = int(sizes.sum())
    offsets = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return offsets + np.arange(total)


def build_forest(samples: np.ndarray, rng: np.random.Generator) -> Forest:
    """Random cut trees over ``samples``, one tree per first-axis entry.

    Args:
        samples: (num_trees, points_per_tree, d) float32; every tree gets the same number of
            points (at least 1).
        rng: source of the random cuts.

    Returns:
        The forest; tree ``t``'s root is node ``t * capacity`` and ``capacity`` is
        ``2 * points_per_tree - 1`` (fewer slots are used when a sample holds duplicates).
    """
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    T, S, d = samples.shape
    M = 2 * S - 1
    forest = Forest.empty(T, M, d)
    points = samples.reshape(T * S, d)
    order = np.arange(T * S)  # position -> point; each segment is a run of positions

    starts = np.arange(T, dtype=np.int64) * S
    sizes = np.full(T, S, dtype=np.int64)
    nodes = np.arange(T, dtype=np.int64) * M
    parents = np.full(T, NO_NODE, dtype=np.int64)
    next_local = np.ones(T, dtype=np.int64)
    forest.root[:] = nodes

    left, right, parent = forest.flat("left"), forest.flat("right"), forest.flat("parent")
    dim, cut, mass = forest.flat("dim"), forest.flat("cut"), forest.flat("mass")
    lo_all, hi_all, span_all = forest.flat("lo"), forest.flat("hi"), forest.flat("span")

    while len(starts):
        pos = _ragged_positions(starts, sizes)
        block = points[order[pos]]
        local_starts = np.cumsum(sizes) - sizes
        lo = np.minimum.reduceat(block, local_starts, axis=0)
        hi = np.maximum.reduceat(block, local_starts, axis=0)
        span = (hi.astype(np.float64) - lo).sum(axis=1)

        parent[nodes] = parents
        mass[nodes] = sizes
        lo_all[nodes] = lo
        hi_all[nodes] = hi
        span_all[nodes] = span

        split = span > 0
        if not split.any():
            break
        s_nodes, s_starts, s_sizes = nodes[split], starts[split], sizes[split]
        s_lo, s_hi = lo[split], hi[split]
        k = len(s_nodes)
        cut_dim, cut_val = random_cuts(s_lo, s_hi, rng.random(k))
        dim[s_nodes] = cut_dim
        cut[s_nodes] = cut_val

        # stable partition of each split segment: left part first
        seg_of_point = np.repeat(np.arange(len(starts)), sizes)
        in_split = split[seg_of_point]
        split_index = np.cumsum(split) - 1  # segment -> index among split segments
        sp_pos = pos[in_split]
        sp_seg = split_index[seg_of_point[in_split]]
        sp_points = points[order[sp_pos]]
        goes_left = sp_points[np.arange(len(sp_pos)), cut_dim[sp_seg]] <= cut_val[sp_seg]
        perm = np.argsort(sp_seg * 2 + (~goes_left), kind="stable")
        order[sp_pos] = order[sp_pos][perm]
        n_left = np.bincount(sp_seg, weights=goes_left, minlength=k).astype(np.int64)

        # two new slots per split node, numbered per tree
        tree = s_nodes // M
        first = np.searchsorted(tree, tree, side="left")
        rank = np.arange(k) - first
        left_id = tree * M + next_local[tree] + 2 * rank
        right_id = left_id + 1
        np.add.at(next_local, tree, 2)
        left[s_nodes] = left_id
        right[s_nodes] = right_id

        starts = np.stack([s_starts, s_starts + n_left], axis=1).reshape(-1)
        sizes = np.stack([n_left, s_sizes - n_left], axis=1).reshape(-1)
        nodes = np.stack([left_id, right_id], axis=1).reshape(-1)
        parents = np.repeat(s_nodes, 2)

    forest.rebuild_free_lists()
    return forest
