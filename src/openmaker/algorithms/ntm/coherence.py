"""Topic diagnostics: TU (topic uniqueness), WETC (word-embedding topic coherence) and NPMI.

* **TU** (Ding et al. 2018, as the reference transcribes it): for topic ``k`` with top-``n``
  words, ``TU_k = (1/n) * sum_i 1 / cnt(w_i)`` where ``cnt(w)`` is the number of topics whose
  top-``n`` words include ``w``; the model's TU is the mean over topics (range ``1/K .. 1``).
* **WETC**: the mean pairwise cosine similarity of a topic's top-``n`` word vectors, averaged
  over topics. SageMaker uses pre-trained GloVe-6B-400K-50d vectors, which openmaker cannot
  ship (UNCONFIRMED substitute): the word vectors here are **distributional vectors learned
  from the training corpus itself**: each top word's row of positive pointwise mutual
  information (PPMI) with every vocabulary word, from document co-occurrence,
  ``PPMI(a, w) = max(0, log(N * df(a, w) / (df(a) * df(w))))`` with the word's co-occurrence
  with itself left out. The vectors are non-negative, so WETC lies in ``0 .. 1`` as
  SageMaker's does; they work offline, need no extra files and are independent of the model
  (not the decoder's own weights, which would make every topic look coherent). They reflect
  the corpus' usage, not general English: on a small corpus WETC is higher than GloVe's.
* **NPMI** (Lau et al. 2014), for benchmarks: the mean over a topic's top-word pairs of
  ``log(p(a, b) / (p(a) p(b))) / -log p(a, b)`` on a reference corpus' documents (``-1`` for
  a pair that never co-occurs), averaged over topics.

Everything here is numpy / scipy on word ids; no torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

import numpy as np


def top_words(topic_word: np.ndarray, n: int = 10) -> np.ndarray:
    """The ``n`` highest-weighted word ids of each topic (rows of ``topic_word``), best first."""
    n = min(n, topic_word.shape[1])
    idx = np.argsort(-topic_word, axis=1, kind="stable")[:, :n]
    return idx


def topic_uniqueness(top: np.ndarray) -> tuple[float, np.ndarray]:
    """``(TU, TU per topic)`` of the top-word ids ``top`` (topics x n)."""
    ids, counts = np.unique(top, return_counts=True)
    cnt = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    per = np.array([np.mean([1.0 / cnt[w] for w in row]) for row in top.tolist()])
    return float(per.mean()), per


def _binary_rows(batches: Iterable[Any]) -> Any:
    import scipy.sparse as sp

    parts = []
    for X in batches:
        B = sp.csr_matrix(X, dtype=np.float32)
        B.data[:] = 1.0
        B.eliminate_zeros()
        parts.append(B)
    return sp.vstack(parts, format="csr") if parts else None


def ppmi_vectors(batches: Iterable[Any], words: np.ndarray) -> Any:
    """PPMI vectors (CSR, one row per id in ``words``) from documents' word counts.

    Args:
        batches: the corpus (word-count matrices, dense or CSR, documents as rows).
        words: the word ids to make vectors for.
    """
    import scipy.sparse as sp

    words = np.asarray(words, dtype=np.int64)
    n_docs = 0
    co: Any = None
    df: np.ndarray | None = None
    for X in batches:
        B = sp.csr_matrix(X, dtype=np.float64)
        B.data[:] = 1.0
        n_docs += B.shape[0]
        part = (B[:, words].T @ B).tocsr()
        co = part if co is None else co + part
        col = np.asarray(B.sum(axis=0)).ravel()
        df = col if df is None else df + col
    if co is None or df is None:
        return sp.csr_matrix((len(words), 0))
    co = co.tocoo()
    keep = co.col != words[co.row]  # a word's co-occurrence with itself is left out
    r, c, v = co.row[keep], co.col[keep], co.data[keep]
    pmi = np.log(v * n_docs / (df[words[r]] * df[c]))
    pos = pmi > 0
    return sp.csr_matrix((pmi[pos], (r[pos], c[pos])), shape=(len(words), len(df)))


def _cosine(vectors: Any) -> np.ndarray:
    M = vectors.toarray() if hasattr(vectors, "toarray") else np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(M, axis=1)
    norms[norms == 0] = 1.0
    U = M / norms[:, None]
    return np.asarray(U @ U.T)


def wetc(top: np.ndarray, vectors: Any, index: dict[int, int]) -> tuple[float, np.ndarray]:
    """``(WETC, WETC per topic)``: mean pairwise cosine of each topic's top-word vectors.

    Args:
        top: top-word ids (topics x n).
        vectors: one row per word of ``index`` (from :func:`ppmi_vectors`, or any embeddings).
        index: word id -> row of ``vectors``.
    """
    sim = _cosine(vectors)
    per = []
    for row in top.tolist():
        rows = [index[w] for w in row]
        pairs = list(combinations(rows, 2))
        per.append(np.mean([sim[a, b] for a, b in pairs]) if pairs else 1.0)
    out = np.clip(np.array(per, dtype=float), 0.0, 1.0)
    return float(out.mean()), out


def corpus_wetc(top: np.ndarray, batches: Iterable[Any]) -> tuple[float, np.ndarray]:
    """WETC of ``top`` with PPMI vectors learned from ``batches`` (see the module docstring)."""
    words = np.unique(top)
    vectors = ppmi_vectors(batches, words)
    return wetc(top, vectors, {int(w): i for i, w in enumerate(words.tolist())})


def npmi(top: np.ndarray, batches: Iterable[Any]) -> tuple[float, np.ndarray]:
    """``(NPMI, NPMI per topic)`` of the top words on a reference corpus (documents as rows)."""
    B = _binary_rows(batches)
    if B is None or B.shape[0] == 0:
        return float("nan"), np.full(len(top), np.nan)
    n = B.shape[0]
    words = np.unique(top)
    sub = B[:, words]
    p = np.asarray(sub.sum(axis=0)).ravel() / n
    joint = np.asarray((sub.T @ sub).todense()) / n
    pos = {int(w): i for i, w in enumerate(words.tolist())}
    per = []
    for row in top.tolist():
        vals = []
        for a, b in combinations(row, 2):
            i, j = pos[a], pos[b]
            pij = joint[i, j]
            if pij <= 0:
                vals.append(-1.0)
            elif pij >= 1.0:
                vals.append(1.0)
            else:
                vals.append(np.log(pij / (p[i] * p[j])) / -np.log(pij))
        per.append(np.mean(vals) if vals else 0.0)
    arr = np.array(per, dtype=float)
    return float(arr.mean()), arr
