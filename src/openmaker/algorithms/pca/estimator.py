"""A scikit-learn transformer that runs openmaker's PCA training in process.

``PCAEstimator(num_components=5).fit(X)`` writes ``X`` (numpy, pandas or scipy sparse) to a
temporary folder as RecordIO-protobuf (dense or sparse), calls the same
:func:`openmaker.algorithms.pca.train.train` a training job runs, and loads the result with
:class:`~openmaker.algorithms.pca.model.PCAModel`. Hyperparameters are SageMaker's names;
``feature_dim`` is filled from the data and ``mini_batch_size`` defaults to 500 (the SDK's).

Fitted attributes follow ``sklearn.decomposition.PCA``: ``components_`` (k x d, rows),
``explained_variance_`` (``s² / (n - 1)``), ``explained_variance_ratio_``, ``singular_values_``,
``mean_``, ``n_components_``, ``n_samples_``, ``n_features_in_``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from openmaker.algorithms.common.adapter import float32_matrix
from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.pca.spec import SPEC


class PCAEstimator(SageMakerParams, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn transformer over openmaker's PCA algorithm.

    Args:
        **hyperparameters: SageMaker's names: ``num_components`` (required),
            ``algorithm_mode``, ``subtract_mean``, ``extra_components``, ``mini_batch_size``;
            ``feature_dim`` is taken from the data when not given.

    Attributes:
        model_: the loaded :class:`PCAModel`.
        training_log_: everything training printed.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any = None) -> PCAEstimator:
        """Learn the components of ``X`` (shape (n, d)); ``y`` is ignored.

        Raises:
            HyperparameterError: invalid hyperparameters (``num_components > d``...).
            DataFormatError: NaN or infinite values.
        """
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.pca.model import PCAModel
        from openmaker.algorithms.pca.train import train
        from openmaker.data import Dataset

        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        Xa = float32_matrix(X)
        hp = dict(self._hyperparameters)
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        hp.setdefault("mini_batch_size", 500)
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        self.model_ = train_in_process(
            "pca", train, typed, {"train": Dataset(Xa)}, PCAModel.load, log
        )
        self.training_log_ = log.getvalue()
        self._set_attributes()
        return self

    def _set_attributes(self) -> None:
        model = self.model_
        n = int(model.meta.get("num_records", 0))
        total = float(model.meta.get("total_variance", 0.0))
        s = model.singular_values
        self.components_ = model.components.T.copy()
        self.singular_values_ = s.copy()
        self.explained_variance_ = s**2 / max(n - 1, 1)
        self.explained_variance_ratio_ = s**2 / total if total > 0 else np.zeros_like(s)
        self.mean_ = model.mean.copy()
        self.n_components_ = model.num_components
        self.n_samples_ = n
        self.n_features_in_ = model.feature_dim

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def transform(self, X: Any) -> np.ndarray:
        """Projections ``(x - mean) · v``, shape (n, num_components)."""
        self._check_fitted()
        return self.model_.project(float32_matrix(X))

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Points in feature space whose projections are ``Z`` (``Z vᵀ + mean``)."""
        self._check_fitted()
        return np.asarray(Z, dtype=np.float64) @ self.model_.components.T + self.model_.mean
