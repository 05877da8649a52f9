"""The scikit-learn adapter: fit / predict on numpy, pandas and sparse data."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.xgboost import XGBoostEstimator
from openmaker.errors import HyperparameterError


@pytest.fixture(scope="module")
def classification() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=500, n_features=8, n_informative=5, random_state=0, class_sep=1.0
    )
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0))


def test_binary_accuracy_close_to_xgbclassifier(classification) -> None:  # type: ignore[no-untyped-def]
    import xgboost as xgb

    Xtr, Xte, ytr, yte = classification
    est = XGBoostEstimator(num_round=30, objective="binary:logistic", max_depth=4, eta=0.3)
    est.fit(Xtr, ytr)
    ours = est.score(Xte, yte)
    ref = xgb.XGBClassifier(n_estimators=30, max_depth=4, learning_rate=0.3).fit(Xtr, ytr)
    theirs = ref.score(Xte, yte)
    assert ours > 0.8
    assert abs(ours - theirs) < 0.05
    proba = est.predict_proba(Xte)
    assert proba.shape == (len(Xte), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(proba[:, 1], ref.predict_proba(Xte)[:, 1], atol=0.05)
    assert est.booster_.num_boosted_rounds() == 30
    assert est.n_features_in_ == 8


def test_pandas_and_string_labels_multiclass() -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=["a", "b", "c", "d"])
    score = X["a"] - X["b"]
    y = pd.Series(np.where(score > 0.5, "hi", np.where(score < -0.5, "lo", "mid")))
    est = XGBoostEstimator(num_round=10, objective="multi:softprob", max_depth=3)
    est.fit(X, y)
    assert list(est.classes_) == ["hi", "lo", "mid"]
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    pred = est.predict(X)
    assert set(pred) <= {"hi", "lo", "mid"}
    assert np.mean(pred == y.to_numpy()) > 0.85
    proba = est.predict_proba(X.iloc[:3])
    assert proba.shape == (3, 3)
    softmax = XGBoostEstimator(num_round=5, objective="multi:softmax").fit(X, y)
    assert set(softmax.predict(X)) <= {"hi", "lo", "mid"}
    with pytest.raises(ValueError, match="predict_proba"):
        softmax.predict_proba(X)


def test_regression_with_eval_set_and_early_stopping() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=300)
    est = XGBoostEstimator(
        num_round=200, eta=0.3, max_depth=3, eval_metric="rmse,mae", early_stopping_rounds=5
    )
    est.fit(X[:200], y[:200], eval_set=[(X[200:], y[200:])])
    assert est.score(X[200:], y[200:]) > 0.8
    hist = est.evals_result_
    assert set(hist) == {"train", "validation"}
    assert set(hist["validation"]) == {"rmse", "mae"}
    rounds = len(hist["validation"]["mae"])
    assert rounds == len(hist["train"]["rmse"])
    assert rounds < 200
    best = int(est.booster_.attr("best_iteration"))
    assert hist["validation"]["mae"][best] == min(hist["validation"]["mae"])


def test_sparse_input_and_sample_weight() -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    dense = rng.normal(size=(200, 6)) * (rng.random((200, 6)) > 0.5)
    dense[:, -1] = 0.0  # a trailing empty column
    X = sp.csr_matrix(dense)
    y = (dense[:, 0] + dense[:, 1] > 0).astype(int)
    est = XGBoostEstimator(num_round=10, objective="binary:logistic")
    est.fit(X, y)
    assert est.score(X, y) > 0.85
    w = np.where(y == 1, 5.0, 1.0)
    weighted = XGBoostEstimator(num_round=10, objective="binary:logistic").fit(X, y, w)
    assert weighted.predict(X).shape == (200,)  # libsvm lost the empty column; still predicts
    assert weighted.predict_proba(X)[:, 1].mean() > est.predict_proba(X)[:, 1].mean()
    dense_weighted = XGBoostEstimator(num_round=10, objective="binary:logistic").fit(
        dense, y, sample_weight=w
    )
    assert dense_weighted.score(dense, y) > 0.85


def test_params_protocol_and_clone() -> None:
    from sklearn.base import clone, is_classifier, is_regressor

    est = XGBoostEstimator(num_round=5, objective="binary:logistic", max_depth=3)
    assert est.get_params() == {"num_round": 5, "objective": "binary:logistic", "max_depth": 3}
    est.set_params(max_depth=2, eta=0.1)
    assert est.get_params()["max_depth"] == 2
    copy = clone(est)
    assert copy.get_params() == est.get_params() and copy is not est
    assert is_classifier(est)
    assert is_regressor(XGBoostEstimator(num_round=5))
    assert "max_depth=2" in repr(est)


def test_cross_val_score(classification) -> None:  # type: ignore[no-untyped-def]
    from sklearn.model_selection import cross_val_score

    Xtr, _, ytr, _ = classification
    est = XGBoostEstimator(num_round=5, objective="binary:logistic", max_depth=3)
    scores = cross_val_score(est, Xtr, ytr, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.7


def test_bad_hyperparameters_and_unfitted() -> None:
    from sklearn.exceptions import NotFittedError

    X = np.zeros((10, 2))
    y = np.arange(10) % 2
    with pytest.raises(HyperparameterError) as info:
        XGBoostEstimator(num_round=2, eta=1.5).fit(X, y)
    assert info.value.parameter == "eta"
    with pytest.raises(HyperparameterError):
        XGBoostEstimator(num_round=2, n_estimators=3).fit(X, y)
    with pytest.raises(NotFittedError):
        XGBoostEstimator(num_round=2).predict(X)
    with pytest.raises(ValueError, match="2 classes"):
        XGBoostEstimator(num_round=2, objective="binary:logistic").fit(X, np.arange(10) % 3)
