"""Checked, dense batches of RCF's channels (File and Pipe mode alike).

* ``train`` is unsupervised: the first-party reader
  (:func:`~openmaker.algorithms.common.input.unlabelled_batches`): ``text/csv`` without
  ``label_size`` is all features, ``label_size=N`` drops N leading columns, RecordIO labels are
  ignored. Sparse batches are made dense (SageMaker's RCF runs with ``force_dense``).
* ``test`` is labelled: ``text/csv`` has the label in the first column (``label_size`` 1 unless
  the content type says otherwise); RecordIO records carry ``label["values"]``. Labels must be
  0 (normal) or 1 (anomaly).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from openmaker.algorithms.common.input import (
    channel_batches,
    check_feature_dim,
    check_finite,
    fit_sparse,
    label_size_of,
    unlabelled_batches,
)
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput


def _dense(X: object) -> np.ndarray:
    if isinstance(X, np.ndarray):
        return np.ascontiguousarray(X, dtype=np.float32)
    return np.asarray(X.toarray(), dtype=np.float32)  # type: ignore[attr-defined]


def feature_batches(
    channel: ChannelInput, batch_rows: int, feature_dim: int
) -> Iterator[np.ndarray]:
    """Dense float32 batches exactly ``feature_dim`` wide of an unlabelled channel.

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: NaN or infinity, sparse indices beyond ``feature_dim``.
    """
    for X in unlabelled_batches(channel, batch_rows, feature_dim):
        yield _dense(X)


def labelled_batches(
    channel: ChannelInput, batch_rows: int, feature_dim: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(features, labels)`` batches of the labelled test channel; labels are 0 or 1.

    Raises:
        ChannelError: the channel is declared or found without labels.
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: NaN or infinity, a label other than 0 or 1.
    """
    label_size = label_size_of(channel, 1)
    if label_size != 1:
        raise ChannelError(
            f"Channel {channel.name!r} must be labelled with one label column "
            f"(text/csv;label_size=1: 1 = anomaly, 0 = normal); it declares "
            f"label_size={label_size}",
            channel=channel.name,
        )
    start = 0
    for batch in channel_batches(channel, batch_rows, label_size=1):
        rows = batch.n_rows
        where = f"Channel {channel.name!r}, records {start}..{start + rows - 1}"
        if batch.y is None:
            raise ChannelError(
                f"{where}: the records have no label; the test channel must be labelled "
                f"(text/csv;label_size=1 or RecordIO-protobuf with label['values'])",
                channel=channel.name,
            )
        y = np.asarray(batch.y, dtype=np.float32)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DataFormatError(f"{where}: each record needs one label, got {y.shape[1:]}")
        bad = np.flatnonzero((y != 0) & (y != 1))
        if len(bad):
            raise DataFormatError(
                f"Channel {channel.name!r}, record {start + int(bad[0])}: label "
                f"{float(y[bad[0]])!r} is not 0 (normal) or 1 (anomaly)"
            )
        X = batch.X
        if isinstance(X, np.ndarray):
            check_feature_dim(X, feature_dim, f"Channel {channel.name!r}")
        else:
            X = fit_sparse(X, feature_dim, where)
        check_finite(X, where)
        start += rows
        yield _dense(X), y.astype(np.int8)
