"""The scikit-learn adapters: BlazingTextWord2Vec and BlazingTextClassifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from openmaker.algorithms.blazingtext import BlazingTextClassifier, BlazingTextWord2Vec
from openmaker.errors import HyperparameterError

from .conftest import SMALL, labelled_lines


def _sentences(tmp_path, n=800):
    from openmaker.algorithms.blazingtext.synthetic import topic_corpus

    path = tmp_path / "c.txt"
    topic_corpus(path, sentences=n, **SMALL)
    return path.read_text().splitlines()


def test_word2vec_fit_transform(tmp_path):
    sentences = _sentences(tmp_path)
    est = BlazingTextWord2Vec(mode="cbow", vector_dim=12, epochs=2, min_count=2)
    assert clone(est).get_params() == {
        "mode": "cbow",
        "vector_dim": 12,
        "epochs": 2,
        "min_count": 2,
    }
    est.fit([s.split() for s in sentences])  # token lists work as well as strings
    assert est.vectors_.shape == (len(est.vocabulary_), 12)
    out = est.transform(["f0", "not-a-word"])
    assert out.shape == (2, 12) and out[0].any() and not out[1].any()
    assert est.mean_rho_ == 0.0  # evaluation=True by default; no WordSim-353 word here
    assert "Million Words/sec" in est.training_log_


def test_classifier_fit_predict_score():
    lines = labelled_lines(200)
    X = [line.split(" ", 1)[1] for line in lines]
    y = [1 if line.startswith("__label__pos") else 0 for line in lines]
    clf = BlazingTextClassifier(
        epochs=15, learning_rate=0.5, vector_dim=8, min_count=1, buckets=10000
    )
    clf.fit(X[:160], y[:160])
    assert list(clf.classes_) == [0, 1]
    assert clf.score(X[160:], y[160:]) >= 0.9
    proba = clf.predict_proba(X[160:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)
    assert (proba.argmax(axis=1) == clf.predict(X[160:]).astype(int)).all()


def test_bad_hyperparameters_are_refused():
    with pytest.raises(HyperparameterError, match="subwords"):
        BlazingTextWord2Vec(mode="batch_skipgram", subwords=True).fit(["a b c"])
