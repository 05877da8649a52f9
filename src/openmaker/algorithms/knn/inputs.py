"""Streamed, checked, labelled batches of a k-NN channel (File and Pipe mode alike).

k-NN trains and tests on labelled points: ``text/csv`` has the label in the first column
(``label_size`` defaults to 1), RecordIO-protobuf in ``label["values"]``. Every batch is
checked once, when decoded:

* a label is present (a channel without labels, e.g. ``text/csv;label_size=0``, is refused),
  exactly one label column, finite;
* dense rows are exactly ``feature_dim`` wide (ValidationError naming ``feature_dim``);
  sparse rows are padded to ``feature_dim`` and refused when a column index is at or beyond it
  (DataFormatError naming the records);
* no NaN or infinite feature.

Sparse batches stay CSR; the sampler densifies only the rows it keeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common.input import (
    channel_batches,
    check_feature_dim,
    check_finite,
    fit_sparse,
    label_size_of,
)
from openmaker.errors import DataFormatError
from openmaker.spec.algorithm import ChannelInput


@dataclass(frozen=True)
class Batch:
    """Checked rows: float32 features (ndarray or CSR, ``feature_dim`` wide), float32 labels."""

    X: Any
    y: np.ndarray
    start: int

    @property
    def n(self) -> int:
        """Rows in the batch."""
        return int(self.X.shape[0])


def labelled_batches(channel: ChannelInput, batch_rows: int, feature_dim: int) -> Iterator[Batch]:
    """One checked pass over a labelled channel, ``batch_rows`` records a batch.

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: no labels, more than one label column, a sparse index beyond
            ``feature_dim``, NaN or infinity, no records.
    """
    size = label_size_of(channel, 1)
    start = 0
    for batch in channel_batches(channel, batch_rows, label_size=size):
        X = batch.X
        rows = int(X.shape[0])
        where = f"Channel {channel.name!r}, records {start}..{start + rows - 1}"
        y = batch.y
        if y is None:
            raise DataFormatError(
                f"{where}: the records have no label; k-NN needs labelled {channel.name} data "
                "(text/csv with the label in the first column, or RecordIO-protobuf with "
                "label['values'])"
            )
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise DataFormatError(
                    f"{where}: {y.shape[1]} label columns; k-NN takes exactly one label"
                )
            y = y[:, 0]
        if y.size and not np.isfinite(y).all():
            bad = int(np.argmax(~np.isfinite(y)))
            raise DataFormatError(f"{where}: NaN or infinite label (record {start + bad})")
        if isinstance(X, np.ndarray):
            check_feature_dim(X, feature_dim, f"Channel {channel.name!r}")
            X = np.ascontiguousarray(X, dtype=np.float32)
        else:
            X = fit_sparse(X, feature_dim, where)
        check_finite(X, where)
        yield Batch(X, np.ascontiguousarray(y), start)
        start += rows
