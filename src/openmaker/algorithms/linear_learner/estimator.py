"""A scikit-learn estimator that runs openmaker's Linear Learner training in process.

``LinearLearnerEstimator(predictor_type="binary_classifier").fit(X, y)`` writes the data to a
temporary folder as RecordIO-protobuf (dense, or sparse for scipy sparse input), calls the
same :func:`openmaker.algorithms.linear_learner.train.train` a training job runs, and loads the
result with :class:`~openmaker.algorithms.linear_learner.model.LinearLearnerModel`.
Hyperparameters are SageMaker's names and go through ``SPEC.validate_hyperparameters``.

Without ``predictor_type`` it is inferred from ``y``: two distinct values -> binary, integer
labels with more -> multiclass, otherwise regressor. Classifier labels may be any sortable
values (``classes_``); ``num_classes`` is filled from the data.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.linear_learner.spec import SPEC


def _features(X: Any) -> Any:
    if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
        import scipy.sparse as sp

        return sp.csr_matrix(X, dtype=np.float32)
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=np.float32)
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def _labels(y: Any) -> np.ndarray:
    return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(-1)


class LinearLearnerEstimator(SageMakerParams, BaseEstimator):  # type: ignore[misc]
    """scikit-learn estimator over openmaker's Linear Learner.

    Args:
        **hyperparameters: SageMaker's names (``predictor_type``, ``num_models``, ``epochs``,
            ``mini_batch_size``, ``loss``, ``learning_rate``...), typed or strings.

    Attributes:
        model_: the loaded :class:`LinearLearnerModel`.
        classes_: class labels (classifiers).
        coef_: weights, shape (d,) or (d, C).
        intercept_: bias.
        n_features_in_: number of features seen in ``fit``.
        training_log_: everything training printed.
    """

    def _predictor_type(self, y: np.ndarray) -> str:
        given = self._hyperparameters.get("predictor_type")
        if given:
            return str(given)
        values = np.unique(y)
        if len(values) == 2:
            return "binary_classifier"
        integral = y.dtype.kind in "iub" or (
            y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
        )
        if y.dtype.kind in "OUS" or (integral and len(values) <= 1000):
            return "multiclass_classifier"
        return "regressor"

    def fit(self, X: Any, y: Any, eval_set: list[tuple[Any, Any]] | None = None) -> Any:
        """Train on ``X``, ``y``; ``eval_set=[(X_val, y_val)]`` is the validation channel."""
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.linear_learner.model import LinearLearnerModel
        from openmaker.algorithms.linear_learner.train import train
        from openmaker.data import Dataset

        Xa, ya = _features(X), _labels(y)
        if Xa.shape[0] != ya.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
        hp = dict(self._hyperparameters)
        ptype = self._predictor_type(ya)
        hp["predictor_type"] = ptype
        hp.setdefault("feature_dim", Xa.shape[1])
        if ptype == "regressor":
            self.classes_ = None
            y_enc = ya.astype(np.float32)
        else:
            self.classes_ = np.unique(ya)
            if ptype == "multiclass_classifier":
                hp.setdefault("num_classes", len(self.classes_))
            y_enc = self._encode(ya)
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        data = {"train": Dataset(Xa, y_enc)}
        if eval_set:
            Xv, yv = eval_set[0]
            yv = _labels(yv)
            yv_enc = yv.astype(np.float32) if ptype == "regressor" else self._encode(yv)
            data["validation"] = Dataset(_features(Xv), yv_enc)
        self.model_ = train_in_process(
            "linear-learner", train, typed, data, LinearLearnerModel.load, log
        )
        self.training_log_ = log.getvalue()
        self.n_features_in_ = int(Xa.shape[1])
        W = self.model_.weight
        self.coef_ = W[:, 0] if W.shape[1] == 1 else W
        self.intercept_ = self.model_.bias[0] if W.shape[1] == 1 else self.model_.bias
        return self

    def _encode(self, y: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        if not np.all(self.classes_[idx] == y):
            raise ValueError("eval_set holds labels not seen in y")
        return idx.astype(np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``X @ coef_ + intercept_``."""
        self._check_fitted()
        Z = self.model_.raw(_features(X))
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (threshold calibrated at training) or predicted values."""
        self._check_fitted()
        score, label = self.model_.predict_array(_features(X))
        return score if label is None else self.classes_[label]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (``logistic`` / ``softmax_loss``)."""
        self._check_fitted()
        if self.model_.loss not in ("logistic", "softmax_loss"):
            raise ValueError(
                f"predict_proba needs logistic or softmax_loss, not {self.model_.loss}"
            )
        score, _ = self.model_.predict_array(_features(X))
        return score if score.ndim == 2 else np.column_stack([1.0 - score, score])

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classifiers, R^2 for regressors."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if self.classes_ is not None:
            return float(accuracy_score(_labels(y), pred))
        return float(r2_score(_labels(y), pred))
