"""Streamed, checked feature batches of a K-Means channel (File and Pipe mode alike).

K-Means is unsupervised: a ``text/csv`` channel without a ``label_size`` parameter is read as
features only (``label_size=0``); ``text/csv;label_size=N`` drops N leading label columns.
RecordIO-protobuf labels, when present, are ignored. Sparse batches (sparse RecordIO) stay
CSR, padded to ``feature_dim`` columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from openmaker.algorithms.common import channel_batches, check_feature_dim, check_finite
from openmaker.algorithms.common.input import label_size_of
from openmaker.errors import DataFormatError
from openmaker.spec.algorithm import ChannelInput


def fit_sparse(X: Any, feature_dim: int, where: str) -> Any:
    """``X`` as float32 CSR exactly ``feature_dim`` wide.

    Raises:
        DataFormatError: a feature index at or beyond ``feature_dim``.
    """
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

    Every batch but the last has exactly ``batch_rows`` rows (batches run across files).

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: sparse indices beyond ``feature_dim``, NaN or infinity, no records.
    """
    label_size = label_size_of(channel, default=0)
    start = 0
    for batch in channel_batches(channel, batch_rows, label_size=label_size):
        X = batch.X
        rows = int(X.shape[0])
        where = f"Channel {channel.name!r}, records {start}..{start + rows - 1}"
        if isinstance(X, np.ndarray):
            check_feature_dim(X, feature_dim, f"Channel {channel.name!r}")
            X = np.ascontiguousarray(X, dtype=np.float32)
        else:
            X = fit_sparse(X, feature_dim, where)
        check_finite(X, where)
        start += rows
        yield X
