"""The scikit-learn adapter: sparse input stays sparse, w0 / w / V exposed, labels mapped."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.factorization_machines import FactorizationMachinesEstimator
from openmaker.errors import HyperparameterError

from .conftest import one_hot, ratings

FAST = {"epochs": 10, "mini_batch_size": 100, "factors_lr": 0.02, "linear_lr": 0.05,
        "factors_init_sigma": 0.1, "num_factors": 4}  # fmt: skip


def test_regressor_on_sparse_input_exposes_w0_w_v() -> None:
    X, y = ratings()
    est = FactorizationMachinesEstimator(**FAST).fit(X[:1600], y[:1600])
    d = X.shape[1]
    assert est.n_features_in_ == d and est.classes_ is None
    assert isinstance(est.w0_, float)
    assert est.w_.shape == (d,) and est.V_.shape == (d, 4)
    # decision_function is the FM formula over the exposed parameters
    Xd = X[1600:1650].toarray().astype(np.float64)
    V = est.V_.astype(np.float64)
    inter = 0.5 * (((Xd @ V) ** 2).sum(1) - ((Xd**2) @ (V**2)).sum(1))
    expected = est.w0_ + Xd @ est.w_ + inter
    np.testing.assert_allclose(est.decision_function(X[1600:1650]), expected, rtol=1e-5)
    assert est.score(X[1600:], y[1600:]) > 0.7  # R^2
    assert "train rmse <loss>=" in est.training_log_


def test_wide_one_hot_input_is_never_densified(monkeypatch: pytest.MonkeyPatch) -> None:
    n_users, n_items = 300_000, 200_000  # 500k columns: dense X would be 500k x 4 bytes a row
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 50, 400), rng.integers(0, 50, 400)
    X = one_hot(users, items, n_users, n_items).tocoo()  # any scipy format is accepted
    y = (users % 2 == items % 2).astype(np.float32)

    def boom(*args: object, **kw: object) -> None:
        raise AssertionError("densified")

    for cls in (sp.csr_matrix, sp.coo_matrix, sp.csc_matrix):
        monkeypatch.setattr(cls, "toarray", boom)
        monkeypatch.setattr(cls, "todense", boom)
    est = FactorizationMachinesEstimator(num_factors=2, epochs=2, mini_batch_size=100)
    est.fit(X, y)
    assert est.V_.shape == (500_000, 2)
    assert est.predict(X.tocsr()[:5]).shape == (5,)


def test_binary_with_any_two_labels_and_eval_set() -> None:
    X, y01 = ratings(binary=True)
    y = np.where(y01 == 1, "like", "dislike")
    est = FactorizationMachinesEstimator(**FAST)
    est.fit(X[:1600], y[:1600], eval_set=[(X[1600:], y[1600:])])
    assert est.get_params()["num_factors"] == 4
    assert list(est.classes_) == ["dislike", "like"]
    assert set(est.predict(X[1600:])) <= {"like", "dislike"}
    proba = est.predict_proba(X[1600:])
    assert proba.shape == (400, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert est.score(X[1600:], y[1600:]) > 0.8
    assert est.test_scores_ is not None
    assert est.test_scores_["binary_classification_accuracy"] == pytest.approx(
        est.score(X[1600:], y[1600:])
    )
    assert "test binary_classification_accuracy <score>=" in est.training_log_


def test_predictor_type_inferred_and_validated() -> None:
    X = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    est = FactorizationMachinesEstimator(epochs=1).fit(X, X[:, 0] > 0)
    assert est.classes_ is not None and est.V_.shape == (3, 64)  # num_factors default 64
    est = FactorizationMachinesEstimator(epochs=1).fit(X, X[:, 0])
    assert est.classes_ is None
    with pytest.raises(ValueError, match="two classes"):
        FactorizationMachinesEstimator(predictor_type="binary_classifier").fit(X, np.arange(60))
    with pytest.raises(HyperparameterError) as exc:
        FactorizationMachinesEstimator(factors_lr=-1).fit(X, X[:, 0])
    assert exc.value.parameter == "factors_lr"


def test_clone_and_set_params() -> None:
    from sklearn.base import clone

    est = FactorizationMachinesEstimator(num_factors=3, epochs=2)
    copy = clone(est)
    assert copy.get_params() == {"num_factors": 3, "epochs": 2}
    copy.set_params(epochs=4)
    assert copy.get_params()["epochs"] == 4 and est.get_params()["epochs"] == 2
    assert "num_factors=3" in repr(est)
