"""Streamed, checked word-count batches of an LDA channel (File and Pipe mode alike).

Every record is one document's bag of words: ``feature_dim`` non-negative integer counts
(dense CSV / RecordIO, or sparse RecordIO). A ``text/csv`` channel without ``label_size`` is
all counts (``label_size=0``); RecordIO labels are ignored. Batches come out as float64 CSR
matrices exactly ``feature_dim`` wide, whatever the input layout (word counts are sparse).

Refused, each with a :class:`~openmaker.errors.DataFormatError` naming the channel, the
record and the word index: non-integer counts, negative counts, NaN / infinity, and documents
with zero words. A dense width other than ``feature_dim`` is a
:class:`~openmaker.errors.ValidationError` (the vocabulary does not match ``feature_dim``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.common.input import unlabelled_batches
from openmaker.errors import DataFormatError
from openmaker.spec.algorithm import ChannelInput

#: Dense cells per streamed block (8 MiB of float32): the block size for wide dense input.
READ_CELLS = 1 << 21
#: Fewest and most documents per streamed block.
MIN_ROWS, MAX_ROWS = 256, 1 << 16


def check_counts(X: sp.csr_matrix, where: str, first_record: int = 0) -> None:
    """Raise if ``X`` (CSR) holds anything but non-negative integer counts, or an empty row.

    Args:
        X: one batch of documents.
        where: the channel (or request) named in the message.
        first_record: the index of the batch's first record in the channel.

    Raises:
        DataFormatError: the first offending record, word index and value.
    """
    from openmaker.algorithms.common.topics import empty_documents, first_bad_count

    bad = first_bad_count(X)
    if bad is not None:
        row, word, value = bad
        kind = (
            "is not finite"
            if not np.isfinite(value)
            else ("is negative" if value < 0 else "is not an integer")
        )
        raise DataFormatError(
            f"{where}, record {first_record + row}: the count of word {word} "
            f"({value!r}) {kind}; LDA reads word counts (non-negative integers)"
        )
    empty = empty_documents(X)
    if empty.size:
        raise DataFormatError(
            f"{where}, record {first_record + int(empty[0])}: the document has zero words "
            f"({empty.size} empty document(s) in records {first_record}.."
            f"{first_record + X.shape[0] - 1}); remove empty documents before training"
        )


def as_counts(X: Any, feature_dim: int) -> sp.csr_matrix:
    """A batch (dense array or sparse) as float64 CSR, ``feature_dim`` wide."""
    if sp.issparse(X):
        M = sp.csr_matrix(X, dtype=np.float64)
    else:
        M = sp.csr_matrix(np.asarray(X, dtype=np.float64))
    M.sum_duplicates()
    M.eliminate_zeros()
    if M.shape[1] < feature_dim:
        M = sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], feature_dim))
    return M


def read_rows(mini_batch_size: int, feature_dim: int) -> int:
    """Documents per streamed block: ``mini_batch_size``, at most about 8 MiB of dense rows.

    SageMaker asks for ``mini_batch_size`` = the number of documents in the corpus, so it is
    only an upper bound here: the moments are sums over documents, the block size changes
    speed and memory, never the model, and memory must not grow with the corpus.
    """
    cap = min(MAX_ROWS, max(MIN_ROWS, READ_CELLS // max(feature_dim, 1)))
    return max(1, min(int(mini_batch_size), cap))


def count_batches(
    channel: ChannelInput, batch_rows: int, feature_dim: int
) -> Iterator[sp.csr_matrix]:
    """One checked pass over a channel's documents, as CSR batches of counts.

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: word indices beyond ``feature_dim``, non-integer, negative or
            non-finite counts, documents with zero words, no records.
    """
    start = 0
    for X in unlabelled_batches(channel, batch_rows, feature_dim):
        M = as_counts(X, feature_dim)
        check_counts(M, f"Channel {channel.name!r}", start)
        start += int(M.shape[0])
        yield M
