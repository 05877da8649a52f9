"""scikit-learn adapters that run openmaker's k-NN training in process.

``KNNClassifier(k=5).fit(X, y)`` (or :class:`KNNRegressor`) writes ``X`` (numpy, pandas or
scipy sparse) and ``y`` to a temporary folder as RecordIO-protobuf (dense or sparse), calls
the same :func:`openmaker.algorithms.knn.train.train` a training job runs, and loads the
result with :class:`~openmaker.algorithms.knn.model.KNNModel`. Hyperparameters are
SageMaker's names and go through ``SPEC.validate_hyperparameters``; ``predictor_type`` is
set by the class, ``feature_dim`` is taken from the data, ``sample_size`` defaults to the
number of rows (every row indexed, in order), ``mini_batch_size`` to ``min(5000, rows)`` and
``k`` to 5 (scikit-learn's default).

``predict``, ``predict_proba`` (classifier: the share of the ``k`` neighbours voting for each
class of ``classes_``), ``kneighbors`` (``(distances, indices)``; the indices are positions
in the indexed sample, i.e. rows of the training ``X`` when ``sample_size`` >= rows) and
``score`` (accuracy / R²) behave as in ``sklearn.neighbors``. Classifier labels may be any
sortable values: they are indexed as their position in ``classes_``, so the tie rule (the
smallest label wins) follows ``classes_`` order, as scikit-learn's.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from openmaker.algorithms.common.adapter import float32_matrix
from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.knn.spec import SPEC
from openmaker.errors import HyperparameterError

DEFAULT_K = 5


def _labels(y: Any) -> np.ndarray:
    return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(-1)


class _KNNBase(SageMakerParams, BaseEstimator):  # type: ignore[misc]
    """Shared fit / kneighbors of the two adapters."""

    _PREDICTOR_TYPE = ""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _encode_y(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: Any, y: Any) -> Any:
        """Sample and index ``X`` (shape (n, d)) with labels ``y``.

        Raises:
            HyperparameterError: invalid hyperparameters (``k`` above the rows or
                ``sample_size``, a ``predictor_type`` other than the class's...).
            DataFormatError: NaN or infinite values.
        """
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.knn.model import KNNModel
        from openmaker.algorithms.knn.train import train
        from openmaker.data import Dataset

        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        Xa, ya = float32_matrix(X), _labels(y)
        if Xa.shape[0] != ya.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
        if Xa.shape[0] == 0:
            raise ValueError("cannot fit on 0 rows")
        y_enc = self._encode_y(ya)
        hp = dict(self._hyperparameters)
        given = hp.get("predictor_type", self._PREDICTOR_TYPE)
        if given != self._PREDICTOR_TYPE:
            raise HyperparameterError(
                f"Hyperparameter 'predictor_type': value {given!r} is not valid for "
                f"{type(self).__name__}; allowed: {self._PREDICTOR_TYPE}",
                parameter="predictor_type",
                value=given,
                allowed=self._PREDICTOR_TYPE,
            )
        n = int(Xa.shape[0])
        hp["predictor_type"] = self._PREDICTOR_TYPE
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        hp.setdefault("k", DEFAULT_K)
        hp.setdefault("sample_size", n)
        hp.setdefault("mini_batch_size", max(1, min(5000, n)))
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        try:
            self.model_ = train_in_process(
                "knn", train, typed, {"train": Dataset(Xa, y_enc)}, KNNModel.load, log
            )
        finally:
            self.training_log_ = log.getvalue()
        self.n_features_in_ = int(Xa.shape[1])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def kneighbors(
        self, X: Any, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        """The nearest indexed points of each row of ``X``.

        Returns:
            ``(distances, indices)`` (float64, int64; shape (n, n_neighbors), nearest first), or
            only ``indices`` with ``return_distance=False``. Distances follow ``index_metric``
            (Euclidean for ``L2``).
        """
        self._check_fitted()
        dist, ids = self.model_.kneighbors(float32_matrix(X), n_neighbors)
        ids = ids.astype(np.int64)
        return (dist.astype(np.float64), ids) if return_distance else ids


class KNNClassifier(ClassifierMixin, _KNNBase):
    """scikit-learn classifier over openmaker's k-NN (majority vote of the ``k`` neighbours).

    Args:
        **hyperparameters: SageMaker's names: ``k`` (default 5), ``sample_size`` (default: the
            rows), ``dimension_reduction_type`` / ``_target``, ``index_type``,
            ``index_metric``, ``faiss_index_ivf_nlists``, ``faiss_index_pq_m``,
            ``mini_batch_size``.

    Attributes:
        model_: the loaded :class:`KNNModel`.
        classes_: the distinct labels of ``y``, sorted.
        n_features_in_: number of features seen in ``fit``.
        training_log_: everything training printed.
    """

    _PREDICTOR_TYPE = "classifier"

    def _encode_y(self, y: np.ndarray) -> np.ndarray:
        self.classes_, codes = np.unique(y, return_inverse=True)
        return codes.reshape(-1).astype(np.float32)

    def predict(self, X: Any) -> np.ndarray:
        """The majority label of each row's neighbours (ties: the first in ``classes_``)."""
        self._check_fitted()
        codes = self.model_.predict_array(float32_matrix(X)).astype(np.int64)
        return self.classes_[codes]

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, len(classes_)): the share of the ``k`` neighbours with each label."""
        from openmaker.algorithms.knn.vote import vote_counts

        self._check_fitted()
        _, ids = self.model_.kneighbors(float32_matrix(X))
        codes = self.model_.label_codes
        counts = vote_counts(codes.codes[ids], codes.n_classes)
        proba = np.zeros((counts.shape[0], len(self.classes_)), dtype=np.float64)
        proba[:, codes.classes.astype(np.int64)] = counts / ids.shape[1]
        return proba


class KNNRegressor(RegressorMixin, _KNNBase):
    """scikit-learn regressor over openmaker's k-NN (mean label of the ``k`` neighbours).

    Args:
        **hyperparameters: as :class:`KNNClassifier`.

    Attributes:
        model_: the loaded :class:`KNNModel`.
        n_features_in_: number of features seen in ``fit``.
        training_log_: everything training printed.
    """

    _PREDICTOR_TYPE = "regressor"

    def _encode_y(self, y: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(y, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"KNNRegressor needs numeric targets: {exc}") from None

    def predict(self, X: Any) -> np.ndarray:
        """The mean label of each row's ``k`` nearest neighbours (float64)."""
        self._check_fitted()
        return self.model_.predict_array(float32_matrix(X)).astype(np.float64)
