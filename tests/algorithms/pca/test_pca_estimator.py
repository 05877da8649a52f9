"""The scikit-learn adapter: same answers as sklearn.decomposition.PCA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA

from openmaker.algorithms.pca import PCAEstimator
from openmaker.errors import DataFormatError, HyperparameterError


def test_matches_scikit_learn(data):
    ours = PCAEstimator(num_components=3).fit(data)
    peer = PCA(3, svd_solver="full").fit(data.astype(np.float64))
    np.testing.assert_allclose(ours.explained_variance_, peer.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, peer.explained_variance_ratio_, rtol=1e-5
    )
    np.testing.assert_allclose(ours.singular_values_, peer.singular_values_, rtol=1e-5)
    np.testing.assert_allclose(ours.mean_, peer.mean_, rtol=1e-5)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(peer.components_), atol=1e-5)
    np.testing.assert_allclose(
        np.abs(ours.transform(data)), np.abs(peer.transform(data)), rtol=1e-4, atol=1e-4
    )
    assert ours.n_components_ == 3 and ours.n_features_in_ == 8 and ours.n_samples_ == 300
    assert "train explained_variance_ratio" in ours.training_log_


def test_fit_transform_and_inverse(data):
    est = PCAEstimator(num_components=3, algorithm_mode="randomized")
    Z = est.fit_transform(data)
    assert Z.shape == (300, 3)
    back = est.inverse_transform(Z)
    # three components of rank-3 data plus small noise reconstruct it closely
    assert np.abs(back - data).max() < 1.0
    assert np.abs(back - data).mean() < 0.1


def test_sparse_and_pandas_input(data):
    dense = PCAEstimator(num_components=2).fit(data)
    frame = pd.DataFrame(data, columns=[f"c{i}" for i in range(8)])
    from_frame = PCAEstimator(num_components=2).fit(frame)
    np.testing.assert_allclose(from_frame.components_, dense.components_, atol=1e-7)
    assert list(from_frame.feature_names_in_) == list(frame.columns)
    S = data.copy()
    S[np.abs(S) < 2] = 0
    sparse = PCAEstimator(num_components=2).fit(sp.csr_matrix(S))
    dense_s = PCAEstimator(num_components=2).fit(S)
    np.testing.assert_allclose(sparse.components_, dense_s.components_, atol=1e-6)
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(S[:5])), dense_s.transform(S[:5]))


def test_errors(data):
    with pytest.raises(HyperparameterError, match="num_components"):
        PCAEstimator(num_components=9).fit(data)
    bad = data.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        PCAEstimator(num_components=2).fit(bad)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PCAEstimator(num_components=2).transform(data)


def test_params_round_trip():
    est = PCAEstimator(num_components=2, subtract_mean=False)
    assert est.get_params() == {"num_components": 2, "subtract_mean": False}
    assert est.set_params(num_components=4).get_params()["num_components"] == 4
    assert "PCAEstimator(num_components=4" in repr(est)
