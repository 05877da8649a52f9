"""Streamed, checked feature batches of a PCA channel (File and Pipe mode alike).

PCA is unsupervised: a ``text/csv`` channel without a ``label_size`` parameter is read as
features only (``label_size=0``); ``text/csv;label_size=1`` drops a leading label column.
RecordIO-protobuf labels, when present, are ignored.
"""

from __future__ import annotations

from openmaker.algorithms.common.input import unlabelled_batches as feature_batches

__all__ = ["READ_BYTES", "feature_batches", "read_rows"]

#: Rows are read in blocks of about this many bytes (float32), at least ``mini_batch_size`` rows:
#: the statistics are sums over rows, so the block size changes speed, not the result.
READ_BYTES = 1 << 23


def read_rows(mini_batch_size: int, feature_dim: int) -> int:
    """Rows per streamed block: ``mini_batch_size`` or more, about 8 MiB of float32."""
    return max(mini_batch_size, READ_BYTES // (4 * max(feature_dim, 1)))
