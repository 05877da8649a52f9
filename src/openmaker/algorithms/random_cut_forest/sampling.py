"""A uniform reservoir sample without replacement over a stream of row batches.

Algorithm R, vectorised per batch: the first ``capacity`` rows fill the reservoir; row ``i``
(0-based, over the whole stream) after that replaces slot ``floor(u (i + 1))`` when that is
below ``capacity``. Within a batch, when two rows pick the same slot the later one wins (as
in the sequential algorithm). One uniform draw per row after the reservoir is full, so the
sample does not depend on how the stream is cut into batches (File or Pipe mode alike), and
memory is ``capacity`` rows whatever the length of the stream.
"""

from __future__ import annotations

import numpy as np


class Reservoir:
    """Keeps a uniform sample of up to ``capacity`` rows of the batches given to :meth:`add`.

    Args:
        capacity: rows kept.
        width: values per row.
        rng: random source.
    """

    def __init__(self, capacity: int, width: int, rng: np.random.Generator) -> None:
        self.capacity = int(capacity)
        self.rows = np.empty((self.capacity, width), dtype=np.float32)
        self.seen = 0
        self._rng = rng

    @property
    def size(self) -> int:
        """Rows held now: ``min(seen, capacity)``."""
        return min(self.seen, self.capacity)

    def add(self, batch: np.ndarray) -> None:
        """Offer a (n, width) batch of rows to the sample."""
        batch = np.asarray(batch, dtype=np.float32)
        n = batch.shape[0]
        fill = min(max(self.capacity - self.seen, 0), n)
        if fill:
            self.rows[self.seen : self.seen + fill] = batch[:fill]
        rest = batch[fill:]
        if len(rest):
            index = self.seen + fill + np.arange(len(rest))
            slots = np.floor(self._rng.random(len(rest)) * (index + 1)).astype(np.int64)
            chosen = np.flatnonzero(slots < self.capacity)
            # the last row that picks a slot is the one left in it
            rev_slots = slots[chosen][::-1]
            _, first_in_reverse = np.unique(rev_slots, return_index=True)
            last = chosen[::-1][first_in_reverse]
            self.rows[slots[last]] = rest[last]
        self.seen += n

    def sample(self) -> np.ndarray:
        """The rows held (in slot order), shape (size, width)."""
        return self.rows[: self.size]
