"""Checked, streamed mini-batches of a channel, and the head sample for the scaler.

Every batch is checked once, when decoded: finite features and labels, a label present, the
label in the declared classes (binary: 0 or 1; multiclass: an integer in 0..num_classes-1),
and the width against ``feature_dim``. Sparse batches stay CSR.

File mode keeps the decoded batches of a channel in memory after the first pass when they fit
in :data:`CACHE_BYTES` (File mode materialises the channel anyway); Pipe mode streams the
channel again every epoch, so memory stays bounded by the mini-batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import channel_batches, check_finite, prefetch
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput

#: File mode: decoded batches up to this many bytes stay in memory between epochs.
CACHE_BYTES = int(os.environ.get("OPENMAKER_LINEAR_LEARNER_CACHE_BYTES", str(2 << 30)))


@dataclass(frozen=True)
class Batch:
    """Features (float32 ndarray or CSR) and float32 labels."""

    X: Any
    y: np.ndarray

    @property
    def n(self) -> int:
        """Rows."""
        return int(self.X.shape[0])

    def nbytes(self) -> int:
        """Approximate memory held."""
        X = self.X
        size = X.nbytes if isinstance(X, np.ndarray) else X.data.nbytes + X.indices.nbytes * 2
        return int(size + self.y.nbytes)


def check_labels(y: np.ndarray | None, predictor_type: str, num_classes: int, where: str) -> None:
    """DataFormatError when a label is missing, not finite or not a declared class."""
    if y is None:
        raise DataFormatError(f"{where}: no labels; Linear Learner trains on labelled data")
    if not np.isfinite(y).all():
        raise DataFormatError(f"{where}: NaN or infinite label")
    if predictor_type == "binary_classifier":
        bad = (y != 0) & (y != 1)
        allowed = "0 or 1 (binary_classifier)"
    elif predictor_type == "multiclass_classifier":
        bad = (y < 0) | (y >= num_classes) | (y != np.round(y))
        allowed = f"an integer in 0..{num_classes - 1} (num_classes={num_classes})"
    else:
        return
    if bad.any():
        value = float(y[np.argmax(bad)])
        raise DataFormatError(
            f"{where}: label {value:g} is not a declared class; allowed: {allowed}"
        )


class BatchSource:
    """One channel as repeated passes of checked mini-batches.

    Args:
        channel: the channel.
        batch_size: rows per batch.
        predictor_type: for the label check.
        num_classes: for the label check (multiclass).
        feature_dim: the width every batch must have (sparse batches are padded to it).
    """

    def __init__(
        self,
        channel: ChannelInput,
        batch_size: int,
        predictor_type: str,
        num_classes: int,
        feature_dim: int,
    ) -> None:
        self.channel = channel
        self.batch_size = batch_size
        self.predictor_type = predictor_type
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self._cache: list[Batch] | None = None
        self._cacheable = channel.input_mode != "Pipe"

    def _check(self, ds: Any, index: int) -> Batch:
        where = f"channel {self.channel.name!r}, batch {index}"
        check_finite(ds.X, where)
        y = ds.y
        if y is not None and y.ndim == 2:
            if y.shape[1] != 1:
                raise DataFormatError(f"{where}: {y.shape[1]} label columns; expected 1")
            y = y[:, 0]
        check_labels(y, self.predictor_type, self.num_classes, where)
        if isinstance(ds.X, np.ndarray) and ds.X.shape[1] != self.feature_dim:
            raise ValidationError(
                f"{where}: the data has {ds.X.shape[1]} features but feature_dim is "
                f"{self.feature_dim}"
            )
        X = ds.X if isinstance(ds.X, np.ndarray) else ds.X.tocsr()
        return Batch(X, np.asarray(y, dtype=np.float32))

    def _stream(self) -> Iterator[Batch]:
        n_features = self.feature_dim if self._sparse_hint() else None
        for i, ds in enumerate(
            channel_batches(self.channel, self.batch_size, n_features=n_features)
        ):
            yield self._check(ds, i)

    def _sparse_hint(self) -> bool:
        # Dense widths are checked (with feature_dim named); sparse ones are padded.
        return self.channel.content_type != "text/csv"

    def __iter__(self) -> Iterator[Batch]:
        if self._cache is not None:
            yield from self._cache
            return
        kept: list[Batch] | None = [] if self._cacheable else None
        size = 0
        for batch in prefetch(self._stream()):  # decoding overlaps the training step
            if kept is not None:
                size += batch.nbytes()
                if size > CACHE_BYTES:
                    kept = None
                else:
                    kept.append(batch)
            yield batch
        if kept is not None:
            self._cache = kept


def head_sample(channel: ChannelInput, n: int, batch_size: int) -> tuple[Any, np.ndarray | None]:
    """The first ``n`` rows of a channel (features kept sparse when the data is sparse).

    Reading the head (not a reservoir over the whole channel) costs a fraction of one pass;
    Linear Learner requires shuffled data anyway (reference section 1.3).
    """
    parts_X: list[Any] = []
    parts_y: list[np.ndarray] = []
    got = 0
    for i, ds in enumerate(channel_batches(channel, min(batch_size, n))):
        check_finite(ds.X, f"channel {channel.name!r}, batch {i}")
        take = min(n - got, ds.n_rows)
        parts_X.append(ds.X[:take])
        if ds.y is not None:
            y = ds.y[:take]
            parts_y.append(y[:, 0] if y.ndim == 2 else y)
        got += take
        if got >= n:
            break
    if not parts_X:
        raise DataFormatError(f"Channel {channel.name!r} contains no records")
    if isinstance(parts_X[0], np.ndarray):
        X: Any = np.concatenate(parts_X)
    else:
        import scipy.sparse as sp

        width = max(p.shape[1] for p in parts_X)
        parts_X = [sp.csr_matrix((p.data, p.indices, p.indptr), shape=(p.shape[0], width))
                   for p in (q.tocsr() for q in parts_X)]  # fmt: skip
        X = sp.vstack(parts_X, format="csr")
    y = np.concatenate(parts_y).astype(np.float32) if parts_y else None
    return X, y
