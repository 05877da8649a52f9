"""Word-vector artifacts: ``vectors.txt`` (word2vec text) and fastText's ``.bin`` format.

``vectors.txt`` is the word2vec text format (a ``<words> <dim>`` header, then one
``word v1 v2 ...`` line per word) that ``gensim.models.KeyedVectors.load_word2vec_format``
reads. :func:`write_fasttext_bin` writes the vectors ``batch_skipgram`` trains in fastText
0.9.2's model format (version 12: arguments, dictionary, input and output matrices), so the
``vectors.bin`` of every Word2Vec mode loads with ``fasttext.load_model`` and BlazingText's
hosting, as SageMaker's binaries do.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSION = 12
_LOSS_NS = 2
_MODEL_SG = 2


def write_vectors_txt(path: Path, words: Sequence[str], vectors: np.ndarray) -> None:
    """Write word2vec's text format (6 significant digits, as fastText's ``.vec``)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    fmt = " ".join(["%.6g"] * vectors.shape[1])
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(f"{len(words)} {vectors.shape[1]}\n")
        for start in range(0, len(words), 4096):
            rows = vectors[start : start + 4096].tolist()
            out.write(
                "".join(
                    f"{word} {fmt % tuple(row)} \n"
                    for word, row in zip(words[start : start + 4096], rows, strict=True)
                )
            )


def write_fasttext_bin(
    path: Path,
    words: Sequence[str],
    counts: Sequence[int],
    input_matrix: np.ndarray,
    output_matrix: np.ndarray,
    *,
    window_size: int,
    epochs: int,
    min_count: int,
    negative_samples: int,
    sampling_threshold: float,
) -> None:
    """Write a skip-gram / negative-sampling model (no subwords) in fastText's format.

    Args:
        words: the vocabulary, most frequent first.
        counts: each word's count in the corpus.
        input_matrix: (words, dim) word vectors.
        output_matrix: (words, dim) output (context) vectors.
    """
    inp = np.ascontiguousarray(input_matrix, dtype="<f4")
    outp = np.ascontiguousarray(output_matrix, dtype="<f4")
    n, dim = inp.shape
    with open(path, "wb") as fh:
        fh.write(struct.pack("<ii", FASTTEXT_MAGIC, FASTTEXT_VERSION))
        # Args::save: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn
        # lrUpdateRate (int32 each), then t (double). bucket = maxn = 0: no subwords.
        fh.write(
            struct.pack(
                "<12i",
                dim,
                window_size,
                epochs,
                min_count,
                negative_samples,
                1,
                _LOSS_NS,
                _MODEL_SG,
                0,
                0,
                0,
                100,
            )
        )
        fh.write(struct.pack("<d", sampling_threshold))
        # Dictionary::save: size nwords nlabels (int32), ntokens pruneidx_size (int64), entries
        fh.write(struct.pack("<iiiqq", n, n, 0, int(sum(counts)), -1))
        for word, count in zip(words, counts, strict=True):
            fh.write(word.encode("utf-8") + b"\0")
            fh.write(struct.pack("<qb", int(count), 0))
        fh.write(struct.pack("<?", False))  # input not quantised
        fh.write(struct.pack("<qq", n, dim))
        fh.write(inp.tobytes())
        fh.write(struct.pack("<?", False))  # output not quantised
        fh.write(struct.pack("<qq", outp.shape[0], outp.shape[1]))
        fh.write(outp.tobytes())
