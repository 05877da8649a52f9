"""The scikit-learn adapter: outlier-detector conventions, thresholds, against IsolationForest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from openmaker.algorithms.random_cut_forest import RandomCutForestEstimator
from openmaker.errors import DataFormatError, HyperparameterError, ValidationError


def test_outlier_detector_conventions(data):
    X, y = data
    est = RandomCutForestEstimator(num_trees=50, num_samples_per_tree=64).fit(X)
    raw = est.anomaly_score(X)
    np.testing.assert_array_equal(est.score_samples(X), -raw)
    np.testing.assert_allclose(est.decision_function(X), est.threshold_ - raw)
    pred = est.predict(X)
    assert set(np.unique(pred)) == {-1, 1}
    np.testing.assert_array_equal(pred == -1, est.decision_function(X) < 0)
    # three sigma over the training scores flags the planted outliers and little else
    assert est.threshold_ == pytest.approx(raw.mean() + 3 * raw.std())
    assert (pred[y == 1] == -1).all()
    assert (pred[y == 0] == -1).mean() < 0.01
    assert est.n_features_in_ == 4 and est.offset_ == -est.threshold_
    assert "ForestInfo" in est.training_log_


def test_as_good_as_isolation_forest(data):
    X, y = data
    ours = RandomCutForestEstimator(num_trees=100, num_samples_per_tree=256).fit(X)
    peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(X)
    auc_ours = roc_auc_score(y, ours.anomaly_score(X))
    auc_peer = roc_auc_score(y, -peer.score_samples(X))
    assert auc_ours >= auc_peer - 0.005 and auc_ours > 0.99


def test_threshold_and_contamination(data):
    X, _ = data
    fixed = RandomCutForestEstimator(num_trees=50, threshold=2.0).fit(X)
    assert fixed.threshold_ == 2.0
    np.testing.assert_array_equal(fixed.predict(X) == -1, fixed.anomaly_score(X) > 2.0)
    share = RandomCutForestEstimator(num_trees=50, contamination=0.05).fit(X)
    assert (share.predict(X) == -1).mean() == pytest.approx(0.05, abs=0.002)
    with pytest.raises(ValidationError, match="not both"):
        RandomCutForestEstimator(threshold=1.0, contamination=0.1).fit(X)
    with pytest.raises(ValidationError, match="contamination"):
        RandomCutForestEstimator(contamination=0.9).fit(X)


def test_params_clone_and_inputs(data):
    X, _ = data
    est = RandomCutForestEstimator(num_trees=60, contamination=0.01)
    assert est.get_params() == {"num_trees": 60, "contamination": 0.01}
    twin = clone(est).fit(X)
    frame = pd.DataFrame(X, columns=list("abcd"))
    from_frame = clone(est).fit(frame)
    np.testing.assert_array_equal(from_frame.anomaly_score(frame), twin.anomaly_score(X))
    assert list(from_frame.feature_names_in_) == list("abcd")
    S = X.copy()
    S[np.abs(S) < 0.5] = 0
    dense = clone(est).fit(S)
    sparse = clone(est).fit(sp.csr_matrix(S))
    np.testing.assert_array_equal(
        sparse.anomaly_score(sp.csr_matrix(S[:9])), dense.anomaly_score(S[:9])
    )


def test_errors(data):
    from sklearn.exceptions import NotFittedError

    X, _ = data
    with pytest.raises(NotFittedError):
        RandomCutForestEstimator().predict(X)
    with pytest.raises(HyperparameterError, match="num_trees"):
        RandomCutForestEstimator(num_trees=10).fit(X)
    with pytest.raises(HyperparameterError, match="no_such"):
        RandomCutForestEstimator(no_such=1).fit(X)
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        RandomCutForestEstimator(num_trees=50).fit(bad)
    est = RandomCutForestEstimator(num_trees=50).fit(X)
    with pytest.raises(DataFormatError, match="the model has 4"):
        est.predict(X[:, :3])


def test_large_inputs_set_the_threshold_from_a_subset(data, monkeypatch):
    import openmaker.algorithms.random_cut_forest.estimator as estimator

    X, _ = data
    full = RandomCutForestEstimator(num_trees=50).fit(X)
    monkeypatch.setattr(estimator, "THRESHOLD_ROWS", 600)
    sub = RandomCutForestEstimator(num_trees=50).fit(X)
    np.testing.assert_array_equal(sub.anomaly_score(X), full.anomaly_score(X))
    assert sub.threshold_ != full.threshold_
    assert sub.threshold_ == pytest.approx(full.threshold_, rel=0.25)
