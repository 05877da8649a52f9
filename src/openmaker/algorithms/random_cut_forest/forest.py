"""A random cut forest as flat arrays: every tree's nodes side by side, no Python node objects.

Tree ``t`` owns the node slots ``t * capacity ... (t + 1) * capacity - 1``; node ids are those
*global* slot numbers, so a flattened view (``left.reshape(-1)``) is the whole forest and a
batch of points walks all trees at once with integer gathers (see :mod:`.scoring`).

Per node: ``left`` / ``right`` (children, -1 at a leaf), ``parent`` (-1 at a root), the cut
(``dim``, ``cut``: a point goes left when ``x[dim] <= cut``), ``mass`` (points below it; a leaf
holding ``m`` identical points has mass ``m``; 0 marks a free slot) and its bounding box
``lo`` / ``hi`` (a leaf's box is its point). ``span`` caches ``sum(hi - lo)`` in float64.
Points and boxes are float32: the data is read as float32, so boxes (minima and maxima of
float32 values) and cuts are exact, and a query is compared with the stored points in the
same precision.

Memory is ``8 x feature_dim`` bytes a node for the boxes (about ``2 x num_samples_per_tree``
nodes a tree): 37 MiB for the defaults (100 trees, 256 samples) at 90 features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_NODE = -1


@dataclass
class Forest:
    """The arrays of a forest; shapes ``(num_trees, capacity[, dim])``.

    Attributes:
        left: child ids (global), -1 at leaves and free slots.
        right: child ids (global), -1 at leaves and free slots.
        parent: parent id (global), -1 at roots and free slots.
        dim: cut dimension of internal nodes.
        cut: cut value (float32); ``x[dim] <= cut`` goes left.
        mass: points in the subtree; 0 for a free slot.
        lo: bounding-box minima (float32).
        hi: bounding-box maxima (float32).
        span: ``sum(hi - lo)`` per node (float64).
        root: root id of each tree (global), -1 for an empty tree.
        free: per tree, a stack of free local slot numbers (its first ``n_free[t]`` entries).
        n_free: free slots per tree.
    """

    left: np.ndarray
    right: np.ndarray
    parent: np.ndarray
    dim: np.ndarray
    cut: np.ndarray
    mass: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    span: np.ndarray
    root: np.ndarray
    free: np.ndarray
    n_free: np.ndarray

    # --- shape ---------------------------------------------------------------------------------
    @property
    def num_trees(self) -> int:
        """Number of trees."""
        return int(self.left.shape[0])

    @property
    def capacity(self) -> int:
        """Node slots per tree."""
        return int(self.left.shape[1])

    @property
    def dimensions(self) -> int:
        """Dimension of the points."""
        return int(self.lo.shape[2])

    def tree_mass(self) -> np.ndarray:
        """Points held by each tree (0 for an empty tree), int64."""
        out = np.zeros(self.num_trees, dtype=np.int64)
        alive = self.root >= 0
        out[alive] = self.mass.reshape(-1)[self.root[alive]]
        return out

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def empty(cls, num_trees: int, capacity: int, dimensions: int) -> Forest:
        """A forest of empty trees with ``capacity`` free slots each."""
        shape = (num_trees, capacity)
        free = np.tile(np.arange(capacity - 1, -1, -1, dtype=np.int64), (num_trees, 1))
        return cls(
            left=np.full(shape, NO_NODE, dtype=np.int64),
            right=np.full(shape, NO_NODE, dtype=np.int64),
            parent=np.full(shape, NO_NODE, dtype=np.int64),
            dim=np.zeros(shape, dtype=np.int32),
            cut=np.zeros(shape, dtype=np.float32),
            mass=np.zeros(shape, dtype=np.int64),
            lo=np.zeros((*shape, dimensions), dtype=np.float32),
            hi=np.zeros((*shape, dimensions), dtype=np.float32),
            span=np.zeros(shape, dtype=np.float64),
            root=np.full(num_trees, NO_NODE, dtype=np.int64),
            free=free,
            n_free=np.full(num_trees, capacity, dtype=np.int64),
        )

    def rebuild_free_lists(self) -> None:
        """Recompute the free stacks from ``mass`` (a slot is free when its mass is 0)."""
        T, M = self.num_trees, self.capacity
        self.free = np.zeros((T, M), dtype=np.int64)
        self.n_free = np.zeros(T, dtype=np.int64)
        for t in range(T):  # once per load, not per point
            slots = np.flatnonzero(self.mass[t] == 0)[::-1]
            self.free[t, : len(slots)] = slots
            self.n_free[t] = len(slots)

    # --- flat views (the whole forest as one array of nodes) ---------------------------------
    def flat(self, name: str) -> np.ndarray:
        """The ``(num_trees * capacity, ...)`` view of one of the node arrays."""
        arr: np.ndarray = getattr(self, name)
        return arr.reshape(self.num_trees * self.capacity, *arr.shape[2:])

    # --- slot management (used by the streaming updates) ------------------------------------
    def pop_slots(self, trees: np.ndarray) -> np.ndarray:
        """Take one free slot in each of ``trees`` (distinct tree indices); global ids."""
        top = self.n_free[trees] - 1
        if (top < 0).any():
            raise RuntimeError("random cut forest: no free node slot (grow the forest first)")
        local = self.free[trees, top]
        self.n_free[trees] = top
        return trees.astype(np.int64) * self.capacity + local

    def push_slots(self, trees: np.ndarray, nodes: np.ndarray) -> None:
        """Give back one node (global id) in each of ``trees`` (distinct tree indices)."""
        flat_left, flat_right, flat_parent = (
            self.flat("left"),
            self.flat("right"),
            self.flat("parent"),
        )
        flat_left[nodes] = NO_NODE
        flat_right[nodes] = NO_NODE
        flat_parent[nodes] = NO_NODE
        self.flat("mass")[nodes] = 0
        self.free[trees, self.n_free[trees]] = nodes % self.capacity
        self.n_free[trees] += 1

    def ensure_free(self, trees: np.ndarray, count: int) -> int | None:
        """Grow every tree's capacity (doubling) until each of ``trees`` has ``count`` free
        slots. Returns the old capacity when it grew (ids must then be remapped with
        :func:`remap_ids`), else None."""
        if len(trees) == 0 or self.n_free[trees].min() >= count:
            return None
        old = self.capacity
        new = old * 2
        while (self.n_free[trees] + (new - old)).min() < count:
            new *= 2
        self._grow(new)
        return old

    def _grow(self, new: int) -> None:
        old = self.capacity
        T = self.num_trees

        def widen(arr: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((T, new, *arr.shape[2:]), fill, dtype=arr.dtype)
            out[:, :old] = arr
            return out

        for name in ("left", "right", "parent"):
            setattr(self, name, remap_ids(widen(getattr(self, name), NO_NODE), old, new))
        self.dim = widen(self.dim, 0)
        self.cut = widen(self.cut, 0)
        self.mass = widen(self.mass, 0)
        self.lo = widen(self.lo, 0)
        self.hi = widen(self.hi, 0)
        self.span = widen(self.span, 0)
        self.root = remap_ids(self.root, old, new)
        free = np.zeros((T, new), dtype=np.int64)
        added = np.arange(new - 1, old - 1, -1, dtype=np.int64)
        for t in range(T):
            n = int(self.n_free[t])
            free[t, : new - old] = added
            free[t, new - old : new - old + n] = self.free[t, :n]
        self.free = free
        self.n_free = self.n_free + (new - old)

    # --- artifact ------------------------------------------------------------------------------
    ARRAYS = ("left", "right", "parent", "dim", "cut", "mass", "lo", "hi", "root")

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays to store (``span`` and the free lists are recomputed on load)."""
        return {prefix + name: getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "") -> Forest:
        """Rebuild a forest from :meth:`to_arrays`' output."""
        parts = {name: np.asarray(arrays[prefix + name]) for name in cls.ARRAYS}
        span = (parts["hi"].astype(np.float64) - parts["lo"]).sum(axis=-1)
        forest = cls(
            **parts,
            span=np.where(parts["mass"] > 0, span, 0.0),
            free=np.zeros(0, dtype=np.int64),
            n_free=np.zeros(0, dtype=np.int64),
        )
        for name in ("left", "right", "parent", "root", "mass"):
            setattr(forest, name, getattr(forest, name).astype(np.int64))
        forest.rebuild_free_lists()
        return forest


def remap_ids(ids: np.ndarray, old_capacity: int, new_capacity: int) -> np.ndarray:
    """Global node ids after every tree's capacity went from ``old`` to ``new`` (-1 stays)."""
    ids = np.asarray(ids, dtype=np.int64)
    out = (ids // old_capacity) * new_capacity + ids % old_capacity
    return np.where(ids >= 0, out, NO_NODE)


def random_cuts(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One random cut per box: dimension in proportion to its range, value uniform within it.

    Args:
        lo: (k, d) float32 box minima.
        hi: (k, d) float32 box maxima; every box has a positive total range.
        u: (k,) uniform draws in [0, 1).

    Returns:
        ``(dim, cut)``: int (k,) and float32 (k,) with ``lo[dim] <= cut < hi[dim]``, so both
        sides of the cut hold at least one point of the box.
    """
    ranges = hi.astype(np.float64) - lo
    cum = np.cumsum(ranges, axis=1)
    r = u * cum[:, -1]
    k, d = ranges.shape
    dim = (cum <= r[:, None]).sum(axis=1)
    # r == total can only come from rounding; fall back to the last dimension with a range
    last = d - 1 - np.argmax(ranges[:, ::-1] > 0, axis=1)
    dim = np.minimum(dim, last)
    rows = np.arange(k)
    offset = r - (cum[rows, dim] - ranges[rows, dim])
    lo_d = lo[rows, dim]
    hi_d = hi[rows, dim]
    cut = (lo_d.astype(np.float64) + offset).astype(np.float32)
    cut = np.minimum(np.maximum(cut, lo_d), np.nextafter(hi_d, np.float32(-np.inf)))
    return dim, cut
