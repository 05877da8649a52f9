"""The shared topic helpers (``openmaker.algorithms.common.topics``): top words, vocabulary
files, loading any topic model's artifact, and the seeded corpus with known topics."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from openmaker.algorithms.common import topics as T
from openmaker.errors import DataFormatError, ValidationError


def test_top_words_best_first_ties_by_index() -> None:
    M = np.array([[0.1, 0.4, 0.4, 0.1], [0.7, 0.1, 0.1, 0.1]])
    found = T.top_words(M, ["a", "b", "c", "d"], 2)
    assert [t.words for t in found] == [("b", "c"), ("a", "b")]
    assert found[1].weights == (0.7, 0.1) and found[1].index == 1
    assert found[0].as_dict() == {"topic": 0, "words": ["b", "c"], "weights": [0.4, 0.4]}
    assert len(T.top_words(M, list("abcd"), 99)[0].words) == 4
    # decoder-style scores (negative numbers) order the same way
    assert T.top_words(-M, list("abcd"), 1)[1].words == ("b",)


def test_top_words_refuses_a_vocabulary_of_another_size() -> None:
    M = np.ones((2, 4))
    with pytest.raises(ValidationError, match=r"3 words, fewer than .* of 4"):
        T.top_words(M, list("abc"), 2)
    with pytest.raises(ValidationError, match="5 words, more than"):
        T.top_words(M, list("abcde"), 2)
    with pytest.raises(ValidationError, match="top: 0"):
        T.top_words(M, list("abcd"), 0)


def test_read_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes("\ufeffcafé\r\nthé\nnew york\n".encode())
    assert T.read_vocabulary(path) == ["café", "thé", "new york"]
    path.write_text("a\n\nb\n")
    with pytest.raises(DataFormatError, match="line 2: empty line"):
        T.read_vocabulary(path)
    path.write_bytes(b"ab\n\xff\n")
    with pytest.raises(DataFormatError, match="not UTF-8: byte offset 3"):
        T.read_vocabulary(path)
    with pytest.raises(ValidationError, match="Cannot read vocabulary"):
        T.read_vocabulary(tmp_path / "missing.txt")


def test_describe_topics_from_a_model_tarball(tmp_path: Path) -> None:
    from openmaker.algorithms.lda import LDAEstimator

    corpus = T.synthetic_corpus(800, 12, 2, topic_concentration=0.2, seed=2)
    est = LDAEstimator(num_topics=2).fit(corpus.counts)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    from openmaker.algorithms.lda.solve import LDAResult
    from openmaker.algorithms.lda.train import save

    save(LDAResult(est.doc_topic_prior_, est.components_), {}, model_dir)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "model_algo-1", arcname="model_algo-1")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"w{i}\n" for i in range(12)))
    for uri in (str(archive), str(model_dir)):
        found = T.describe_topics(uri, vocab, top=3)
        assert len(found) == 2
        best = [f"w{j}" for j in np.argsort(-est.components_[0], kind="stable")[:3]]
        assert list(found[0].words) == best


def test_synthetic_corpus_is_seeded_and_streams_the_same() -> None:
    a = T.synthetic_corpus(2500, 20, 3, seed=5)
    b = T.synthetic_corpus(2500, 20, 3, seed=5)
    assert (a.counts != b.counts).nnz == 0 and np.array_equal(a.topics, b.topics)
    assert T.synthetic_corpus(2500, 20, 3, seed=6).counts.sum() != a.counts.sum()
    streamed = [c for c, _ in T.corpus_chunks(a.topics, 2500, seed=5)]
    assert sum(c.shape[0] for c in streamed) == 2500
    import scipy.sparse as sp

    assert (sp.vstack(streamed) != a.counts).nnz == 0
    lengths = np.asarray(a.counts.sum(axis=1)).reshape(-1)
    assert lengths.min() >= 3 and 45 < lengths.mean() < 55
    assert np.allclose(a.mixtures.sum(axis=1), 1.0)


def test_topic_recovery_error_matches_topics_one_to_one() -> None:
    topics = T.true_topics(30, 4, seed=1)
    assert T.topic_recovery_error(topics[::-1], topics) == pytest.approx(0.0)
    other = T.true_topics(30, 4, seed=2)
    assert 0.5 < T.topic_recovery_error(other, topics) <= 2.0
    with pytest.raises(ValidationError):
        T.topic_recovery_error(topics[:3], topics)
