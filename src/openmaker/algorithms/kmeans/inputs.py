"""Streamed, checked feature batches of a K-Means channel (File and Pipe mode alike).

K-Means is unsupervised: a ``text/csv`` channel without a ``label_size`` parameter is read as
features only (``label_size=0``); ``text/csv;label_size=N`` drops N leading label columns.
RecordIO-protobuf labels, when present, are ignored. Sparse batches (sparse RecordIO) stay
CSR, padded to ``feature_dim`` columns. The reading itself is the first-party algorithms'
:func:`~openmaker.algorithms.common.input.unlabelled_batches`.
"""

from __future__ import annotations

from openmaker.algorithms.common.input import fit_sparse
from openmaker.algorithms.common.input import unlabelled_batches as feature_batches

__all__ = ["feature_batches", "fit_sparse"]
