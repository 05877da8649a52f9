"""Checked mini-batches for Factorization Machines, from a channel or from arrays in memory.

Every batch is checked once, when it is decoded, and errors name the channel and the 0-based
record (counted over the whole channel):

* a label must be present, single, finite, and 0 or 1 for ``binary_classifier``;
* features must be finite;
* dense rows must be exactly ``feature_dim`` wide (:class:`ValidationError`), sparse rows may
  use only column indices ``0 .. feature_dim - 1`` (:class:`DataFormatError` naming the record
  and the column). Sparse batches stay CSR (narrower ones are padded to ``feature_dim``, never
  densified).

File mode keeps the decoded batches of the train channel in memory between epochs while they
fit in :data:`CACHE_BYTES` (File mode materialises the channel anyway, and decoding sparse
RecordIO costs more than an FM step); Pipe mode streams the channel again every epoch, so memory
stays bounded by the mini-batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common.input import channel_batches
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput

#: File mode: decoded train batches up to this many bytes stay in memory between epochs.
CACHE_BYTES = int(os.environ.get("OPENMAKER_FM_CACHE_BYTES", str(2 << 30)))


@dataclass(frozen=True)
class Batch:
    """Checked rows: float32 features (CSR or dense, ``feature_dim`` wide), float32 labels."""

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


class BatchChecker:
    """Checks raw decoded batches of one source and numbers their records.

    Args:
        source: named in errors (``channel 'train'``).
        feature_dim: the width every batch must have.
        binary: labels must be 0 or 1.
    """

    def __init__(self, source: str, feature_dim: int, binary: bool) -> None:
        self.source = source
        self.feature_dim = feature_dim
        self.binary = binary
        self.start = 0

    def _fail(self, message: str, row: int) -> DataFormatError:
        return DataFormatError(message, source=self.source, record=self.start + int(row))

    def _labels(self, y: np.ndarray | None, n: int) -> np.ndarray:
        if y is None:
            raise self._fail("no label; Factorization Machines trains on labelled records", 0)
        y = np.asarray(y)
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise self._fail(f"{y.shape[1]} label values; expected 1", 0)
            y = y[:, 0]
        if len(y) != n:
            raise self._fail(f"{len(y)} labels for {n} records", 0)
        bad = ~np.isfinite(y)
        if bad.any():
            row = int(np.argmax(bad))
            raise self._fail(f"label is {y[row]}; labels must be finite", row)
        if self.binary:
            bad = (y != 0) & (y != 1)
            if bad.any():
                row = int(np.argmax(bad))
                raise self._fail(
                    f"label {float(y[row]):g} is not a class of binary_classifier; allowed: 0 or 1",
                    row,
                )
        return np.asarray(y, dtype=np.float32)

    def _dense(self, X: np.ndarray) -> np.ndarray:
        if X.ndim != 2 or X.shape[1] != self.feature_dim:
            width = X.shape[1] if X.ndim == 2 else X.shape
            last = self.start + len(X) - 1
            raise ValidationError(
                f"{self.source}, records {self.start}..{last}: the data has {width} features "
                f"but feature_dim is {self.feature_dim}"
            )
        bad = ~np.isfinite(X)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise self._fail(f"feature {col} is {X[row, col]}; features must be finite", row)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _sparse(self, X: Any) -> Any:
        import scipy.sparse as sp

        M = X if getattr(X, "format", None) == "csr" else sp.csr_matrix(X)
        d = self.feature_dim
        if M.nnz:
            too_wide = M.indices >= d
            if too_wide.any():
                pos = int(np.argmax(too_wide))
                row = int(np.searchsorted(M.indptr, pos, side="right")) - 1
                raise self._fail(
                    f"feature index {int(M.indices[pos])} is out of range: feature_dim is {d} "
                    f"(indices 0..{d - 1})",
                    row,
                )
            bad = ~np.isfinite(M.data)
            if bad.any():
                pos = int(np.argmax(bad))
                row = int(np.searchsorted(M.indptr, pos, side="right")) - 1
                raise self._fail(
                    f"feature {int(M.indices[pos])} is {M.data[pos]}; features must be finite", row
                )
        data = M.data if M.data.dtype == np.float32 else M.data.astype(np.float32)
        return sp.csr_matrix((data, M.indices, M.indptr), shape=(M.shape[0], d))

    def check(self, X: Any, y: np.ndarray | None) -> Batch:
        """One checked batch; raises DataFormatError / ValidationError naming the record."""
        n = int(X.shape[0])
        labels = self._labels(y, n)
        features = self._dense(X) if isinstance(X, np.ndarray) else self._sparse(X)
        self.start += n
        return Batch(features, labels)


class ChannelBatches:
    """A channel as repeated passes of checked mini-batches.

    Args:
        channel: the channel.
        batch_size: rows per batch.
        feature_dim: the width every batch must have.
        binary: labels must be 0 or 1.
        cache: keep the decoded batches for later passes (File mode, up to
            :data:`CACHE_BYTES`).
    """

    def __init__(
        self,
        channel: ChannelInput,
        batch_size: int,
        feature_dim: int,
        binary: bool,
        *,
        cache: bool = True,
    ) -> None:
        self.channel = channel
        self.batch_size = batch_size
        self.feature_dim = feature_dim
        self.binary = binary
        self._cacheable = cache and channel.input_mode != "Pipe"
        self._cache: list[Batch] | None = None

    def _stream(self) -> Iterator[Batch]:
        checker = BatchChecker(f"channel {self.channel.name!r}", self.feature_dim, self.binary)
        for ds in channel_batches(self.channel, self.batch_size, label_size=1):
            yield checker.check(ds.X, ds.y)

    def __iter__(self) -> Iterator[Batch]:
        if self._cache is not None:
            yield from self._cache
            return
        kept: list[Batch] | None = [] if self._cacheable else None
        size = 0
        for batch in self._stream():
            if kept is not None:
                size += batch.nbytes()
                kept = _keep(kept, batch, size)
            yield batch
        if kept is not None:
            self._cache = kept


def _keep(kept: list[Batch], batch: Batch, size: int) -> list[Batch] | None:
    """``kept`` with ``batch`` appended, or None (stop caching) once past the budget."""
    if size > CACHE_BYTES:
        return None
    kept.append(batch)
    return kept


class ArrayBatches:
    """Arrays in memory (the scikit-learn adapter) as checked mini-batches, sliced lazily.

    Args:
        X: float32 CSR or dense ``(n, feature_dim)``.
        y: labels ``(n,)``.
        batch_size: rows per batch.
        feature_dim: the width.
        binary: labels must be 0 or 1.
        source: named in errors.
    """

    def __init__(
        self,
        X: Any,
        y: np.ndarray,
        batch_size: int,
        feature_dim: int,
        binary: bool,
        source: str = "X",
    ) -> None:
        self.X = X
        self.y = y
        self.batch_size = batch_size
        self.feature_dim = feature_dim
        self.binary = binary
        self.source = source

    def __iter__(self) -> Iterator[Batch]:
        checker = BatchChecker(self.source, self.feature_dim, self.binary)
        n = int(self.X.shape[0])
        for lo in range(0, n, self.batch_size):
            hi = min(lo + self.batch_size, n)
            yield checker.check(self.X[lo:hi], self.y[lo:hi])


BatchSource = Iterable[Batch]
