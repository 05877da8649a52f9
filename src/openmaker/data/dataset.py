"""The in-memory result of decoding data: features, labels and instance weights."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.errors import DataFormatError

if TYPE_CHECKING:
    import scipy.sparse


@dataclass(frozen=True)
class Dataset:
    """Decoded rows.

    Attributes:
        X: float32 features, 2-D; a ``scipy.sparse.csr_matrix`` only for sparse inputs
            (libsvm, sparse recordio-protobuf), otherwise a C-contiguous ``np.ndarray``.
        y: float32 labels, shape ``(n,)`` (or ``(n, k)`` when ``label_size`` k > 1), or ``None``
            when the data is unlabelled.
        weights: float32 instance weights, shape ``(n,)``, or ``None``.
    """

    X: np.ndarray | scipy.sparse.csr_matrix
    y: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def is_sparse(self) -> bool:
        """Whether ``X`` is a sparse matrix."""
        return not isinstance(self.X, np.ndarray)

    def slice(self, start: int, stop: int) -> Dataset:
        """Rows ``start:stop`` as a new dataset (views where possible)."""
        return Dataset(
            X=self.X[start:stop],
            y=None if self.y is None else self.y[start:stop],
            weights=None if self.weights is None else self.weights[start:stop],
        )


def concat(parts: Sequence[Dataset]) -> Dataset:
    """Stack datasets row-wise; sparse widths are aligned to the widest part.

    Raises:
        ValueError: when ``parts`` is empty or labels/weights are present in only some parts.
    """
    if not parts:
        raise ValueError("nothing to concatenate")
    if len(parts) == 1:
        return parts[0]
    if any(p.is_sparse for p in parts):
        import scipy.sparse as sp

        width = max(p.n_features for p in parts)
        X: Any = sp.vstack([_as_csr(p.X, width) for p in parts], format="csr", dtype=np.float32)
    else:
        X = np.concatenate([p.X for p in parts], axis=0)
    has_y = {p.y is not None for p in parts}
    has_w = {p.weights is not None for p in parts}
    if len(has_y) > 1 or len(has_w) > 1:
        raise ValueError("labels or weights are present in only some parts")
    y = np.concatenate([p.y for p in parts], axis=0) if True in has_y else None  # type: ignore[misc]
    w = np.concatenate([p.weights for p in parts]) if True in has_w else None  # type: ignore[misc]
    return Dataset(X=X, y=y, weights=w)


def _as_csr(x: Any, width: int) -> Any:
    import scipy.sparse as sp

    m = sp.csr_matrix(x, dtype=np.float32)
    if m.shape[1] != width:
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))
    return m


def fit_width(dataset: Dataset, n_features: int | None, source: str | None = None) -> Dataset:
    """Pad a sparse dataset to ``n_features`` columns, or check a dense one has that many.

    Args:
        dataset: decoded rows.
        n_features: the width the caller (usually the model) expects; ``None`` keeps the width.
        source: named in the error message.

    Raises:
        DataFormatError: when the data is wider than ``n_features`` (sparse) or has a
            different width (dense).
    """
    if n_features is None or dataset.n_features == n_features:
        return dataset
    if dataset.is_sparse:
        if dataset.n_features > n_features:
            raise DataFormatError(
                f"data has a feature index {dataset.n_features - 1}, but only {n_features} "
                f"features are expected (indices 0..{n_features - 1})",
                source=source,
            )
        X = _as_csr(dataset.X, n_features)
        return Dataset(X=X, y=dataset.y, weights=dataset.weights)
    raise DataFormatError(
        f"data has {dataset.n_features} feature columns, but {n_features} are expected",
        source=source,
    )
