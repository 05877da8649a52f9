"""Streamed, checked feature batches of a PCA channel (File and Pipe mode alike).

PCA is unsupervised: a ``text/csv`` channel without a ``label_size`` parameter is read as
features only (``label_size=0``); ``text/csv;label_size=1`` drops a leading label column.
RecordIO-protobuf labels, when present, are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from openmaker.algorithms.common import channel_batches, check_feature_dim, check_finite
from openmaker.algorithms.common.input import label_size_of
from openmaker.errors import DataFormatError
from openmaker.spec.algorithm import ChannelInput

#: Rows are read in blocks of about this many bytes (float32), at least ``mini_batch_size`` rows:
#: the statistics are sums over rows, so the block size changes speed, not the result.
READ_BYTES = 1 << 23


def read_rows(mini_batch_size: int, feature_dim: int) -> int:
    """Rows per streamed block: ``mini_batch_size`` or more, about 8 MiB of float32."""
    return max(mini_batch_size, READ_BYTES // (4 * max(feature_dim, 1)))


def _fit_sparse(X: Any, feature_dim: int, where: str) -> Any:
    import scipy.sparse as sp

    X = sp.csr_matrix(X, dtype=np.float32)
    if X.shape[1] > feature_dim:
        raise DataFormatError(
            f"{where}: a sparse row has feature index {X.shape[1] - 1}, but feature_dim is "
            f"{feature_dim} (indices 0..{feature_dim - 1})"
        )
    if X.shape[1] < feature_dim:
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    return X


def feature_batches(channel: ChannelInput, batch_rows: int, feature_dim: int) -> Iterator[Any]:
    """One pass over ``channel``: float32 arrays or CSR matrices, ``feature_dim`` wide.

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: sparse indices beyond ``feature_dim``, NaN or infinity, no records.
    """
    label_size = label_size_of(channel, default=0)
    start = 0
    for batch in channel_batches(channel, batch_rows, label_size=label_size):
        X = batch.X
        rows = int(X.shape[0])
        where = f"Channel {channel.name!r}, rows {start}..{start + rows - 1}"
        if isinstance(X, np.ndarray):
            check_feature_dim(X, feature_dim, f"Channel {channel.name!r}")
            X = np.ascontiguousarray(X, dtype=np.float32)
        else:
            X = _fit_sparse(X, feature_dim, where)
        check_finite(X, where)
        start += rows
        yield X
