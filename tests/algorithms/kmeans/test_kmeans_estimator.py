"""The scikit-learn adapter: fit / predict / transform / score on numpy, pandas and sparse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError

from openmaker.algorithms.kmeans import KMeansEstimator
from openmaker.errors import DataFormatError, HyperparameterError

from .conftest import BLOB_CENTERS, blobs


def test_fit_predict_transform_score(data):
    est = KMeansEstimator(k=4, mini_batch_size=100).fit(data)
    assert est.cluster_centers_.shape == (4, 5) and est.n_features_in_ == 5
    np.testing.assert_array_equal(est.predict(data), est.labels_)
    dist = est.transform(data[:7])
    assert dist.shape == (7, 4)
    np.testing.assert_array_equal(dist.argmin(1), est.labels_[:7])
    assert est.score(data) == pytest.approx(-est.inertia_, rel=1e-9)
    peer = KMeans(4, n_init=3, random_state=0).fit(data)
    assert est.inertia_ == pytest.approx(peer.inertia_, rel=1e-3)
    assert "#quality_metric: host=algo-1, train msd <loss>=" in est.training_log_


def test_overlapping_clusters_within_one_percent_of_scikit_learn():
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=4.0, size=(6, 8))
    X = (centers[rng.integers(0, 6, 3000)] + rng.normal(size=(3000, 8))).astype(np.float32)
    ours = KMeansEstimator(k=6, mini_batch_size=500).fit(X)
    peer = KMeans(6, n_init=1, random_state=0).fit(X)
    assert ours.inertia_ <= 1.01 * peer.inertia_


def test_unstructured_data_within_five_percent_of_scikit_learn():
    X = np.random.default_rng(3).normal(size=(1500, 4)).astype(np.float32)
    ours = KMeansEstimator(k=5, mini_batch_size=300).fit(X)
    peer = KMeans(5, n_init=10, random_state=0).fit(X)
    assert ours.inertia_ <= 1.05 * peer.inertia_


def test_pandas_and_sparse_inputs(data):
    frame = pd.DataFrame(data, columns=list("abcde"))
    est = KMeansEstimator(k=4).fit(frame)
    assert list(est.feature_names_in_) == list("abcde")
    dense = KMeansEstimator(k=4).fit(data)
    np.testing.assert_allclose(est.cluster_centers_, dense.cluster_centers_)
    X = sp.csr_matrix(np.where(data > 100, data - 100, 0).astype(np.float32))
    est_sp = KMeansEstimator(k=4).fit(X)
    est_dn = KMeansEstimator(k=4).fit(X.toarray())
    np.testing.assert_allclose(
        np.sort(est_sp.cluster_centers_, axis=0),
        np.sort(est_dn.cluster_centers_, axis=0),
        atol=1e-5,
    )
    assert est_sp.predict(X).shape == (400,)


def test_params_aliases_and_clone():
    est = KMeansEstimator(k=4, max_iterations=20, center_factor=3)
    assert est.get_params() == {"k": 4, "max_iterations": 20, "center_factor": 3}
    twin = clone(est).set_params(k=2)
    assert twin.get_params()["k"] == 2 and est.get_params()["k"] == 4
    fitted = est.fit(blobs(200))
    assert "shrinking 12 centers into 4" in fitted.training_log_
    assert repr(est) == "KMeansEstimator(k=4, max_iterations=20, center_factor=3)"


def test_errors():
    with pytest.raises(NotFittedError):
        KMeansEstimator(k=2).predict(np.zeros((1, 2)))
    with pytest.raises(HyperparameterError):
        KMeansEstimator(k=0).fit(np.zeros((5, 2)))
    with pytest.raises(HyperparameterError, match="'k'"):
        KMeansEstimator(k=10).fit(np.arange(10.0).reshape(5, 2))
    with pytest.raises(DataFormatError):
        KMeansEstimator(k=2).fit(np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 2.0]]))
    assert BLOB_CENTERS.shape == (4, 5)
