"""Checked word-count batches of an NTM channel, and the auxiliary channel's vocabulary.

Every batch comes out as a float32 CSR matrix exactly ``feature_dim`` wide, whatever the
channel holds (dense or sparse RecordIO-protobuf, dense CSV; File or Pipe mode; the
scikit-learn adapter's in-memory rows). A word count must be a finite, non-negative whole
number and a document must hold at least one word: anything else fails the job with a
:class:`~openmaker.errors.DataFormatError` naming the channel and the record.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from openmaker.algorithms.common.input import fit_sparse, unlabelled_batches
from openmaker.algorithms.ntm.spec import VOCAB_FILE
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput


def check_counts(X: object, where: str, first_record: int = 0) -> object:
    """``X`` as float32 CSR after the word-count checks; ``where`` names the channel.

    Raises:
        DataFormatError: a negative or non-integer count, NaN / infinity, or a document with
            no words; the message gives the record's index in the channel.
    """
    import scipy.sparse as sp

    from openmaker.algorithms.common.topics import empty_documents, first_bad_count

    M = sp.csr_matrix(X, dtype=np.float32)
    M.sum_duplicates()
    bad = first_bad_count(M)
    if bad is not None:
        row, word, value = bad
        raise DataFormatError(
            f"{where}, record {first_record + row}: word {word} has count "
            f"{value!r}; NTM needs word counts: non-negative integers"
        )
    empty = empty_documents(M)
    if empty.size:
        raise DataFormatError(
            f"{where}, record {first_record + int(empty[0])}: the document has no words (all "
            f"counts are zero); remove empty documents before training"
        )
    return M


def count_batches(channel: ChannelInput, batch_rows: int, feature_dim: int) -> Iterator:
    """One checked pass over a channel: float32 CSR batches of word counts.

    Raises:
        ValidationError: dense rows whose width is not ``feature_dim``.
        DataFormatError: see :func:`check_counts`; sparse word ids beyond ``feature_dim``.
    """
    start = 0
    for X in unlabelled_batches(channel, batch_rows, feature_dim):
        rows = int(X.shape[0])
        where = f"Channel {channel.name!r}"
        M = fit_sparse(X, feature_dim, f"{where}, records {start}..{start + rows - 1}")
        yield check_counts(M, where, start)
        start += rows


def _vocab_source(channel: ChannelInput) -> str:
    files = channel.sources()
    named = [f for f in files if f.rstrip("/").rsplit("/", 1)[-1] == VOCAB_FILE]
    if named:
        return named[0]
    if len(files) == 1:
        return files[0]
    raise ChannelError(
        f"Channel 'auxiliary' must hold a file named {VOCAB_FILE!r} (one word per line); found "
        f"{len(files)} file(s): {', '.join(f.rsplit('/', 1)[-1] for f in files[:5]) or 'none'}",
        channel="auxiliary",
    )


def read_vocabulary(channel: ChannelInput, feature_dim: int) -> list[str]:
    """The words of ``vocab.txt`` in id order (one a line, UTF-8, a trailing newline allowed).

    Raises:
        ChannelError: no vocab.txt in the channel.
        DataFormatError: not UTF-8 (the message gives the byte offset), or not exactly
            ``feature_dim`` words (both numbers named).
    """
    from openmaker.data.sources import open_uri

    source = _vocab_source(channel)
    name = source.rsplit("/", 1)[-1]
    with open_uri(source, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"Channel 'auxiliary', {name}: not UTF-8 at byte offset {exc.start} "
            f"(byte 0x{raw[exc.start]:02x}); the vocabulary must be UTF-8 text"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    words = text.split("\n")
    if words and words[-1] == "":
        words.pop()
    words = [w.rstrip("\r").strip() for w in words]
    if len(words) != feature_dim:
        relation = "smaller" if len(words) < feature_dim else "larger"
        raise DataFormatError(
            f"Channel 'auxiliary', {name}: the vocabulary has {len(words)} words, {relation} "
            f"than feature_dim={feature_dim}; it must list exactly one word per feature id"
        )
    return words
