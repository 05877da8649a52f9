"""Predictions from the neighbours' labels, vectorised over the whole request.

* classifier: the label most frequent among the ``k`` neighbours. **Tie rule**: among the
  labels with the highest count, the *smallest* label value wins (what scikit-learn's
  ``KNeighborsClassifier`` with uniform weights does, so the two agree whenever they find
  the same neighbours).
* regressor: the mean of the ``k`` neighbours' labels.
"""

from __future__ import annotations

import numpy as np

#: Above this many (rows x classes) cells the vote sorts instead of counting in a dense table.
_DENSE_VOTE_CELLS = 1 << 24


class LabelCodes:
    """The distinct labels of the indexed points and each point's position among them.

    Attributes:
        classes: sorted distinct labels, float32.
        codes: (ntotal,) int64, ``classes[codes[i]] == labels[i]``.
    """

    def __init__(self, labels: np.ndarray) -> None:
        self.classes, codes = np.unique(np.asarray(labels, dtype=np.float32), return_inverse=True)
        self.codes = codes.astype(np.int64).reshape(-1)

    @property
    def n_classes(self) -> int:
        """Number of distinct labels."""
        return len(self.classes)


def vote_counts(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) int64 counts of each class among each row's neighbours.

    Args:
        codes: (n, k) class codes of the neighbours.
        n_classes: number of classes.
    """
    n = codes.shape[0]
    flat = (np.arange(n, dtype=np.int64)[:, None] * n_classes + codes).ravel()
    return np.bincount(flat, minlength=n * n_classes).reshape(n, n_classes)


def majority(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """The winning class code of each row (ties: the smallest code, i.e. smallest label)."""
    n = codes.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if codes.shape[1] == 1:
        return codes[:, 0].astype(np.int64)
    if n * n_classes <= _DENSE_VOTE_CELLS:
        return vote_counts(codes, n_classes).argmax(axis=1)
    # sparse route: count (row, class) pairs, then per row the highest count, smallest class
    keys = (np.arange(n, dtype=np.int64)[:, None] * n_classes + codes).ravel()
    uniq, counts = np.unique(keys, return_counts=True)
    rows, cls = np.divmod(uniq, n_classes)
    order = np.lexsort((cls, -counts, rows))
    rows_sorted = rows[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = rows_sorted[1:] != rows_sorted[:-1]
    return cls[order][first]


def classify(neighbour_codes: np.ndarray, label_codes: LabelCodes) -> np.ndarray:
    """Predicted labels (float32) by majority vote."""
    return label_codes.classes[majority(neighbour_codes, label_codes.n_classes)]


def regress(neighbour_labels: np.ndarray) -> np.ndarray:
    """Predicted labels (float32): the mean of each row's neighbour labels."""
    return neighbour_labels.mean(axis=1, dtype=np.float64).astype(np.float32)
