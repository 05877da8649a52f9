"""The scikit-learn adapters against ``sklearn.neighbors`` (brute force) on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from openmaker.algorithms.knn import KNNClassifier, KNNRegressor
from openmaker.errors import DataFormatError, HyperparameterError

from .conftest import blobs


@pytest.fixture(scope="module")
def data():
    X, codes = blobs(300, d=6, classes=3, seed=21)
    Xq, _ = blobs(60, d=6, classes=3, seed=22)
    y = np.array(["ant", "bee", "cat"])[codes.astype(int)]
    return X, y, Xq


def test_classifier_matches_scikit_learn(data):
    X, y, Xq = data
    ours = KNNClassifier(k=7).fit(X, y)
    peer = KNeighborsClassifier(n_neighbors=7, algorithm="brute").fit(X, y)
    assert list(ours.classes_) == ["ant", "bee", "cat"] and ours.n_features_in_ == 6
    np.testing.assert_array_equal(ours.predict(Xq), peer.predict(Xq))
    np.testing.assert_allclose(ours.predict_proba(Xq), peer.predict_proba(Xq))
    dist, ids = ours.kneighbors(Xq)
    peer_dist, peer_ids = peer.kneighbors(Xq)
    np.testing.assert_array_equal(ids, peer_ids)
    np.testing.assert_allclose(dist, peer_dist, rtol=1e-4, atol=1e-4)
    assert dist.dtype == np.float64 and ids.dtype == np.int64
    np.testing.assert_array_equal(ours.kneighbors(Xq, 2, return_distance=False), peer_ids[:, :2])
    assert ours.score(Xq, peer.predict(Xq)) == 1.0
    assert "Saved model_algo-1" in ours.training_log_


def test_regressor_matches_scikit_learn(data):
    X, _, Xq = data
    w = np.arange(1.0, 7.0)
    ours = KNNRegressor(k=4).fit(pd.DataFrame(X, columns=list("abcdef")), X @ w)
    peer = KNeighborsRegressor(n_neighbors=4, algorithm="brute").fit(X, X @ w)
    assert list(ours.feature_names_in_) == list("abcdef")
    np.testing.assert_allclose(ours.predict(Xq), peer.predict(Xq), rtol=1e-5)
    assert ours.score(Xq, Xq @ w) == pytest.approx(peer.score(Xq, Xq @ w), rel=1e-5)


def test_sparse_input_and_sampling(data):
    X, y, Xq = data
    Xs = X.copy()
    Xs[Xs < 0.5] = 0.0
    dense = KNNClassifier(k=3).fit(Xs, y)
    sparse = KNNClassifier(k=3).fit(sp.csr_matrix(Xs), y)
    np.testing.assert_array_equal(sparse.predict(sp.csr_matrix(Xq)), dense.predict(Xq))
    sampled = KNNClassifier(k=3, sample_size=100).fit(X, y)
    assert sampled.model_.n_points == 100
    proba = sampled.predict_proba(Xq)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_index_options_pass_through(data):
    X, y, Xq = data
    est = KNNClassifier(
        k=5, index_type="faiss.IVFFlat", index_metric="COSINE", faiss_index_ivf_nlists=8
    ).fit(X, y)
    assert est.model_.meta["nlist"] == 8 and est.model_.meta["index_metric"] == "COSINE"
    dist, _ = est.kneighbors(Xq)
    assert ((dist >= -1e-6) & (dist <= 2 + 1e-6)).all()  # cosine distances
    reduced = KNNRegressor(k=5, dimension_reduction_type="fjlt", dimension_reduction_target=4)
    assert reduced.fit(X, X[:, 0]).model_.index.d == 4


def test_params_and_clone():
    est = KNNClassifier(k=3, index_type="faiss.IVFFlat")
    assert est.get_params() == {"k": 3, "index_type": "faiss.IVFFlat"}
    twin = clone(est).set_params(k=9)
    assert twin.get_params()["k"] == 9 and est.get_params()["k"] == 3
    assert repr(est) == "KNNClassifier(k=3, index_type='faiss.IVFFlat')"


def test_errors(data):
    X, y, _ = data
    with pytest.raises(NotFittedError):
        KNNClassifier().predict(X)
    with pytest.raises(HyperparameterError, match="k > sample_size") as err:
        KNNClassifier(k=20, sample_size=10).fit(X, y)
    assert err.value.parameter == "k"
    with pytest.raises(HyperparameterError) as err:
        KNNClassifier(k=10).fit(X[:5], y[:5])  # sample_size defaults to the 5 rows
    assert err.value.parameter == "k"
    with pytest.raises(HyperparameterError, match="predictor_type"):
        KNNRegressor(predictor_type="classifier").fit(X, X[:, 0])
    with pytest.raises(HyperparameterError) as err:
        KNNClassifier(index_type="faiss.IVFPQ", faiss_index_pq_m=5).fit(X, y)
    assert err.value.parameter == "faiss_index_pq_m"
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        KNNClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="numeric targets"):
        KNNRegressor().fit(X, y)
