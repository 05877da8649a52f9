"""A scikit-learn estimator over openmaker's Factorization Machines.

``FactorizationMachinesEstimator(num_factors=64, epochs=20).fit(X, y)`` trains with the same
:func:`openmaker.algorithms.factorization_machines.train.fit` loop, the same batch checks and the
same hyperparameter validation a training job uses, on the arrays in memory: ``scipy.sparse``
input (any format) stays sparse (CSR) and is never densified, so one-hot matrices with millions
of columns fit. Hyperparameters are SageMaker's names.

Filled in from the data when not given: ``feature_dim`` (the width of ``X``) and
``predictor_type`` (``binary_classifier`` when ``y`` holds two distinct values, else
``regressor``). ``num_factors``, required by SageMaker, defaults to 64 here (the value the
SageMaker documentation suggests to start with). Classifier labels may be any two sortable
values (``classes_``; the larger one is label 1).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from openmaker.algorithms.common.sklearn_params import SageMakerParams

#: ``num_factors`` when the adapter is not given one.
DEFAULT_NUM_FACTORS = 64


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


class FactorizationMachinesEstimator(SageMakerParams, BaseEstimator):  # type: ignore[misc]
    """scikit-learn estimator over openmaker's Factorization Machines.

    Args:
        **hyperparameters: SageMaker's names (``num_factors``, ``predictor_type``, ``epochs``,
            ``mini_batch_size``, ``factors_lr``, ``linear_wd``...), typed or strings.

    Attributes:
        model_: the :class:`FactorizationMachinesModel`.
        w0_: the global bias (float).
        w_: the linear weights, shape (n_features,).
        V_: the factors, shape (n_features, num_factors).
        classes_: the two class labels (binary_classifier), else None.
        n_features_in_: number of features seen in ``fit``.
        test_scores_: metrics on ``eval_set`` (``{"rmse": ...}``...), when given.
        training_log_: everything training printed (SageMaker's metric lines).
    """

    def _predictor_type(self, y: np.ndarray) -> str:
        given = self._hyperparameters.get("predictor_type")
        if given:
            return str(given)
        return "binary_classifier" if len(np.unique(y)) == 2 else "regressor"

    def _encode(self, y: np.ndarray) -> np.ndarray:
        if self.classes_ is None:
            return y.astype(np.float32)
        idx = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        known = self.classes_[idx] == y
        if not np.all(known):
            raise ValueError(
                f"label {y[np.argmin(known)]!r} is not one of the classes {self.classes_.tolist()}"
            )
        return idx.astype(np.float32)

    def _classes(self, y: np.ndarray) -> np.ndarray:
        values = np.unique(y)
        if len(values) == 2:
            return values
        if len(values) == 1 and values[0] in (0, 1):
            return np.array([0, 1], dtype=y.dtype)
        raise ValueError(
            f"binary_classifier needs two classes in y; found {len(values)}: {values[:10].tolist()}"
        )

    def fit(self, X: Any, y: Any, eval_set: list[tuple[Any, Any]] | None = None) -> Any:
        """Train on ``X``, ``y``; ``eval_set=[(X_test, y_test)]`` is scored as the test channel."""
        from openmaker.algorithms.common.metric_log import MetricLog
        from openmaker.algorithms.factorization_machines.inputs import ArrayBatches
        from openmaker.algorithms.factorization_machines.model import FactorizationMachinesModel
        from openmaker.algorithms.factorization_machines.settings import resolve
        from openmaker.algorithms.factorization_machines.train import EVAL_BATCH, evaluate, fit
        from openmaker.spec.algorithm import TrainingContext

        Xa, ya = _features(X), _labels(y)
        if Xa.shape[0] != ya.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
        hp = dict(self._hyperparameters)
        ptype = self._predictor_type(ya)
        hp["predictor_type"] = ptype
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        hp.setdefault("num_factors", DEFAULT_NUM_FACTORS)
        settings = resolve(hp)
        self.classes_ = self._classes(ya) if settings.binary else None
        d = settings.feature_dim
        log_text = io.StringIO()
        # Only the log of the context is used: the model stays in memory.
        ctx = TrainingContext(
            job_name="factorization-machines-estimator",
            model_dir=Path(),
            output_dir=Path(),
            checkpoint_dir=Path(),
            log=log_text,
        )
        log = MetricLog(ctx)
        batches = ArrayBatches(Xa, self._encode(ya), settings.mini_batch_size, d, settings.binary)
        fm = fit(settings, batches, log)
        self.test_scores_: dict[str, float] | None = None
        if eval_set:
            Xt, yt = eval_set[0]
            Xt_a = _features(Xt)
            test = ArrayBatches(
                Xt_a, self._encode(_labels(yt)), EVAL_BATCH, d, settings.binary, "eval_set"
            )
            self.test_scores_ = evaluate(fm, test, "test", log)
        self.model_ = FactorizationMachinesModel(
            fm.w0.copy(),
            fm.w.copy(),
            np.ascontiguousarray(fm.V),
            settings.predictor_type,
            {"training_parameters": settings.as_log_dict()},
        )
        self.training_log_ = log_text.getvalue()
        self.n_features_in_ = int(Xa.shape[1])
        self.w0_ = float(self.model_.w0[0])
        self.w_ = self.model_.w
        self.V_ = self.model_.V
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``w0 + x.w + sum_{i<j} <v_i, v_j> x_i x_j``."""
        self._check_fitted()
        return self.model_.raw(_features(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (probability >= 0.5 is ``classes_[1]``) or predicted values."""
        self._check_fitted()
        score, label = self.model_.predict_array(_features(X))
        if label is None or self.classes_ is None:
            return score
        return self.classes_[label]

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities (binary_classifier only)."""
        self._check_fitted()
        if self.classes_ is None:
            raise ValueError("predict_proba needs predictor_type binary_classifier")
        score, _ = self.model_.predict_array(_features(X))
        return np.column_stack([1.0 - score, score])

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for a classifier, R^2 for a regressor."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if self.classes_ is not None:
            return float(accuracy_score(_labels(y), pred))
        return float(r2_score(_labels(y), pred))
