"""A uniform reservoir sample over a stream of batches, with memory bounded by its capacity.

Vitter's algorithm R, one batch at a time and without a Python loop over rows: the first
``capacity`` records fill the reservoir; record ``i`` (0-based, over the whole stream) after
that draws ``j`` uniformly in ``[0, i]`` and replaces slot ``j`` when ``j < capacity``. Within
a batch, when several records draw the same slot the last one wins, exactly as the sequential
algorithm would leave it; only the rows that end up kept are transformed (projected,
densified) and copied. Every record of the stream is kept with probability
``capacity / records``.

The buffer grows geometrically up to ``capacity`` rows of the *stored* width (the reduced
dimension when a projection is applied while sampling), so a ``sample_size`` far above the
data size costs memory for the data only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Transform = Callable[[Any], np.ndarray]


class Reservoir:
    """A uniform sample of at most ``capacity`` labelled rows.

    Args:
        capacity: ``sample_size``.
        width: columns of the stored rows (after ``transform``).
        seed: seed of the replacement draws.
        transform: maps kept input rows (ndarray or CSR) to dense float32 ``width`` columns.
    """

    def __init__(self, capacity: int, width: int, seed: int, transform: Transform) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.width = width
        self.transform = transform
        self.seen = 0
        self.size = 0
        self._rng = np.random.default_rng(seed)
        self._X = np.empty((0, width), dtype=np.float32)
        self._y = np.empty(0, dtype=np.float32)

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._X):
            return
        alloc = min(self.capacity, max(rows, 2 * len(self._X), 1024))
        X = np.empty((alloc, self.width), dtype=np.float32)
        y = np.empty(alloc, dtype=np.float32)
        X[: self.size] = self._X[: self.size]
        y[: self.size] = self._y[: self.size]
        self._X, self._y = X, y

    def add(self, X: Any, y: np.ndarray) -> None:
        """Offer a batch of rows (``X`` dense or CSR) with their labels."""
        n = int(X.shape[0])
        if n == 0:
            return
        take = min(self.capacity - self.size, n)
        if take:
            self._reserve(self.size + take)
            self._X[self.size : self.size + take] = self.transform(X[:take])
            self._y[self.size : self.size + take] = y[:take]
            self.size += take
        rest = n - take
        if rest:
            index = self.seen + take + np.arange(rest, dtype=np.int64)
            slots = np.floor(self._rng.random(rest) * (index + 1)).astype(np.int64)
            hit = np.flatnonzero(slots < self.capacity)
            if hit.size:
                # the last record drawing a slot is the one the sequential algorithm keeps
                rev = slots[hit][::-1]
                _, first_in_rev = np.unique(rev, return_index=True)
                rows = hit[::-1][first_in_rev] + take
                self._X[slots[rows - take]] = self.transform(X[rows])
                self._y[slots[rows - take]] = y[rows]
        self.seen += n

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept rows and labels, (size, width) float32 and (size,) float32."""
        return self._X[: self.size], self._y[: self.size]
