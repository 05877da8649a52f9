"""What the topic models (LDA, NTM) share: inspecting topics, and a corpus with known topics.

**The protocol.** A topic model's ``Model`` class (what ``spec.model_class().load(dir)``
returns) exposes::

    def topic_word_matrix(self) -> numpy.ndarray:  # shape (num_topics, vocabulary_size)

Row ``k`` scores every word of the vocabulary for topic ``k``: the larger, the more
characteristic of the topic. LDA returns its topic-word distributions β (rows sum to 1); NTM
may return its decoder's weights (any real numbers). Column ``j`` is word ``j`` of the
vocabulary, i.e. line ``j + 1`` of the vocabulary file (feature index ``j`` of the training
data). :class:`TopicModel` is that protocol (``isinstance`` works at run time).

**Inspecting.** :func:`top_words` picks each topic's ``n`` best words;
:func:`describe_topics` does it for a ``model.tar.gz`` (or model folder, local or URI) of
any registered topic model and a vocabulary file (one word a line, UTF-8): what
``openmaker topics MODEL --vocabulary vocab.txt`` prints.

**A corpus with known topics.** :func:`synthetic_corpus` draws documents from LDA's
generative process with a seed (documented below), for tests and benchmarks that measure how
well a method recovers the true topics (:func:`topic_recovery_error`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from openmaker.errors import DataFormatError, DataSourceError, ValidationError


@runtime_checkable
class TopicModel(Protocol):
    """A trained topic model whose topics can be listed (LDA, NTM)."""

    def topic_word_matrix(self) -> np.ndarray:
        """Topic-word scores, shape (num_topics, vocabulary_size); larger = more typical."""
        ...


@dataclass(frozen=True)
class Topic:
    """One topic's best words.

    Attributes:
        index: the topic's row in the topic-word matrix.
        words: the words, best first.
        weights: their scores in the topic-word matrix (probabilities for LDA).
    """

    index: int
    words: tuple[str, ...]
    weights: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """``{"topic": i, "words": [...], "weights": [...]}`` (the CLI's JSON)."""
        return {"topic": self.index, "words": list(self.words), "weights": list(self.weights)}


def top_words(topic_word: Any, vocabulary: Sequence[str], n: int = 10) -> list[Topic]:
    """Each topic's ``n`` highest-scoring words (ties: the lower word index first).

    Args:
        topic_word: shape (num_topics, vocabulary_size).
        vocabulary: the words, ``vocabulary[j]`` for column ``j``.
        n: words per topic (at most the vocabulary size).

    Raises:
        ValidationError: ``n < 1``, a matrix that is not 2-D, or a vocabulary whose size is
            not the matrix's number of columns.
    """
    M = np.asarray(topic_word, dtype=np.float64)
    if M.ndim != 2:
        raise ValidationError(f"the topic-word matrix must be 2-D, got shape {M.shape}")
    if n < 1:
        raise ValidationError(f"top: {n} is not valid; allowed: an integer >= 1")
    if len(vocabulary) != M.shape[1]:
        relation = "fewer" if len(vocabulary) < M.shape[1] else "more"
        raise ValidationError(
            f"the vocabulary has {len(vocabulary)} words, {relation} than the model's "
            f"vocabulary size (feature_dim) of {M.shape[1]}: it is not the vocabulary the "
            f"model was trained with"
        )
    n = min(n, M.shape[1])
    topics = []
    for i, row in enumerate(M):
        best = np.argsort(-row, kind="stable")[:n]
        topics.append(
            Topic(i, tuple(vocabulary[j] for j in best), tuple(float(row[j]) for j in best))
        )
    return topics


def read_vocabulary(path: str | Path) -> list[str]:
    """The words of a vocabulary file: one a line, UTF-8, line ``j + 1`` is word index ``j``.

    Raises:
        DataSourceError: the file cannot be read.
        DataFormatError: it is not UTF-8 (the message gives the byte offset), a line is empty,
            or there is no word.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataSourceError(
            f"Cannot read vocabulary {str(path)!r}: {exc}", uri=str(path)
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"vocabulary {str(path)!r} is not UTF-8: byte offset {exc.start} "
            f"(0x{raw[exc.start]:02x})"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    words = text.split("\n")
    if words and words[-1] == "":
        words.pop()
    words = [w[:-1] if w.endswith("\r") else w for w in words]
    for number, word in enumerate(words, start=1):
        if not word.strip():
            raise DataFormatError(
                f"vocabulary {str(path)!r}, line {number}: empty line (one word a line; line "
                f"j + 1 is the word of feature index j)"
            )
    if not words:
        raise DataFormatError(f"vocabulary {str(path)!r} holds no words")
    return words


def load_topic_model(uri: str, algorithm: str | None = None) -> TopicModel:
    """The model in ``model.tar.gz`` / a model folder (local path, ``file://``, ``s3://``).

    Raises:
        ValidationError: the model is not a topic model (no ``topic_word_matrix``).
    """
    from openmaker.serving import load_model

    loaded = load_model(uri, algorithm=algorithm)
    model = loaded.model
    if not isinstance(model, TopicModel):
        raise ValidationError(
            f"the model in {uri!r} ({loaded.algorithm}) is not a topic model: it has no "
            f"topic_word_matrix() (topic models: lda, ntm)"
        )
    return model


def describe_topics(
    uri: str, vocabulary: str | Path, top: int = 10, algorithm: str | None = None
) -> list[Topic]:
    """Each topic's ``top`` words for the topic model at ``uri`` and a vocabulary file."""
    words = read_vocabulary(vocabulary)
    model = load_topic_model(uri, algorithm)
    return top_words(model.topic_word_matrix(), words, top)


# --- a corpus with known topics --------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticCorpus:
    """Documents drawn from known topics.

    Attributes:
        counts: documents x vocabulary word counts (scipy CSR, float32).
        topics: the true topic-word distributions, shape (num_topics, vocabulary_size).
        mixtures: each document's true topic mixture, shape (documents, num_topics).
    """

    counts: Any
    topics: np.ndarray
    mixtures: np.ndarray


def true_topics(
    vocabulary_size: int, num_topics: int, topic_concentration: float = 0.05, seed: int = 0
) -> np.ndarray:
    """``num_topics`` topics ``β_k ~ Dirichlet(topic_concentration · 1_V)`` from ``seed``."""
    rng = np.random.default_rng([seed, 0])
    return rng.dirichlet(np.full(vocabulary_size, topic_concentration), size=num_topics)


def corpus_chunks(
    topics: np.ndarray,
    num_documents: int,
    *,
    alpha0: float = 1.0,
    mean_length: float = 50.0,
    min_length: int = 3,
    seed: int = 0,
    chunk: int = 2000,
) -> Iterator[tuple[Any, np.ndarray]]:
    """The documents of :func:`synthetic_corpus`, ``chunk`` at a time: ``(counts, mixtures)``.

    The chunks depend only on ``seed`` and their position, so a corpus is the same whether it
    is drawn at once or streamed (what a memory benchmark writes to disk chunk by chunk).
    """
    import scipy.sparse as sp

    k = topics.shape[0]
    for index, lo in enumerate(range(0, num_documents, chunk)):
        rows = min(chunk, num_documents - lo)
        rng = np.random.default_rng([seed, 1, index])
        theta = rng.dirichlet(np.full(k, alpha0 / k), size=rows)
        lengths = np.maximum(min_length, rng.poisson(mean_length, size=rows))
        p = theta @ topics
        p /= p.sum(axis=1, keepdims=True)
        counts = rng.multinomial(lengths, p).astype(np.float32)
        yield sp.csr_matrix(counts), theta


def synthetic_corpus(
    num_documents: int,
    vocabulary_size: int,
    num_topics: int,
    *,
    alpha0: float = 1.0,
    topic_concentration: float = 0.05,
    mean_length: float = 50.0,
    min_length: int = 3,
    seed: int = 0,
) -> SyntheticCorpus:
    """Documents from LDA's generative process, with a seed.

    Topics ``β_k ~ Dirichlet(topic_concentration · 1_V)`` (:func:`true_topics`); per document
    ``θ_d ~ Dirichlet(alpha0 / k · 1_k)``, length ``n_d = max(min_length, Poisson(mean_length))``
    and counts ``c_d ~ Multinomial(n_d, θ_d β)``. Each piece has its own seeded stream, so the
    same arguments always give the same corpus.
    """
    import scipy.sparse as sp

    topics = true_topics(vocabulary_size, num_topics, topic_concentration, seed)
    parts = list(
        corpus_chunks(
            topics,
            num_documents,
            alpha0=alpha0,
            mean_length=mean_length,
            min_length=min_length,
            seed=seed,
        )
    )
    counts = sp.vstack([c for c, _ in parts], format="csr")
    mixtures = np.vstack([t for _, t in parts])
    return SyntheticCorpus(counts, topics, mixtures)


def topic_recovery_error(estimated: Any, truth: Any) -> float:
    """Mean L1 distance between estimated and true topics after the best one-to-one matching
    (Hungarian algorithm); rows are normalised to sum 1 first. 0 is perfect, 2 is the worst.

    Raises:
        ValidationError: the two matrices have different shapes.
    """
    from scipy.optimize import linear_sum_assignment

    A = np.asarray(estimated, dtype=np.float64)
    B = np.asarray(truth, dtype=np.float64)
    if A.shape != B.shape:
        raise ValidationError(f"topic matrices of shapes {A.shape} and {B.shape} do not match")
    A = A / A.sum(axis=1, keepdims=True)
    B = B / B.sum(axis=1, keepdims=True)
    cost = np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def lee_documents(
    n_train: int = 240, min_df: int = 2
) -> tuple[list[list[str]], list[list[str]], list[str]]:
    """gensim's ``lee_background.cor`` (300 news paragraphs, installed with gensim: never
    downloaded) as the topic-model benchmarks read it: ``(train, held_out, vocabulary)``.

    Words are ``[a-z]+`` of at least 3 letters, gensim's stop words removed; the first
    ``n_train`` paragraphs train, the rest are held out; the vocabulary is the sorted words of
    at least ``min_df`` training paragraphs (held-out documents keep every word: filter them
    with the vocabulary).
    """
    import re

    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.test.utils import datapath

    text = Path(datapath("lee_background.cor")).read_text(encoding="utf-8", errors="replace")
    docs = [
        [w for w in re.findall(r"[a-z]+", line.lower()) if len(w) >= 3 and w not in STOPWORDS]
        for line in text.splitlines()
        if line.strip()
    ]
    train, held_out = docs[:n_train], docs[n_train:]
    df: dict[str, int] = {}
    for doc in train:
        for word in set(doc):
            df[word] = df.get(word, 0) + 1
    return train, held_out, sorted(w for w, c in df.items() if c >= min_df)


def word_counts(documents: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> Any:
    """Bag-of-words counts (scipy CSR float32, documents x vocabulary); words outside the
    vocabulary are dropped."""
    import scipy.sparse as sp

    index = {w: i for i, w in enumerate(vocabulary)}
    rows, cols = [], []
    for r, doc in enumerate(documents):
        for word in doc:
            if word in index:
                rows.append(r)
                cols.append(index[word])
    M = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(documents), len(vocabulary)),
    )
    M.sum_duplicates()
    return M


def first_bad_count(M: Any) -> tuple[int, int, float] | None:
    """The first entry of the CSR batch ``M`` that is not a word count (negative, fractional
    or not finite) as ``(row, word index, value)``; None when all are counts."""
    data = M.data
    bad = ~np.isfinite(data) | (data < 0) | (data != np.round(data))
    if not bad.any():
        return None
    pos = int(np.argmax(bad))
    row = int(np.searchsorted(M.indptr, pos, side="right") - 1)
    return row, int(M.indices[pos]), float(data[pos])


def empty_documents(M: Any) -> np.ndarray:
    """The rows of the CSR batch ``M`` with no words (every count zero)."""
    return np.flatnonzero(np.asarray(M.sum(axis=1)).reshape(-1) <= 0)
