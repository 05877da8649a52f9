"""A scikit-learn clusterer that runs openmaker's K-Means training in process.

``KMeansEstimator(k=10).fit(X)`` writes ``X`` (numpy, pandas or scipy sparse) to a temporary
folder as RecordIO-protobuf (dense or sparse), calls the same
:func:`openmaker.algorithms.kmeans.train.train` a training job runs, and loads the result with
:class:`~openmaker.algorithms.kmeans.model.KMeansModel`. Hyperparameters are SageMaker's names
(the SDK aliases such as ``max_iterations`` work too); ``feature_dim`` is filled from the data
and ``mini_batch_size`` defaults to ``min(5000, n_rows)``.

Fitted attributes follow ``sklearn.cluster.KMeans``: ``cluster_centers_``, ``labels_``,
``inertia_`` (the sum of squared distances of the training rows to their closest centre),
``n_features_in_``; ``predict``, ``transform`` (Euclidean distances to every centre) and
``score`` (minus the inertia of ``X``) as there.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin

from openmaker.algorithms.common.adapter import float32_matrix
from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.kmeans.spec import SPEC


class KMeansEstimator(SageMakerParams, ClusterMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn clusterer over openmaker's K-Means algorithm.

    Args:
        **hyperparameters: SageMaker's names: ``k`` (required), ``epochs``,
            ``extra_center_factor``, ``init_method``, ``half_life_time_size``,
            ``local_lloyd_*``, ``mini_batch_size``, ``eval_metrics``; ``feature_dim`` is
            taken from the data when not given.

    Attributes:
        model_: the loaded :class:`KMeansModel`.
        training_log_: everything training printed.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any = None) -> KMeansEstimator:
        """Cluster ``X`` (shape (n, d)); ``y`` is ignored.

        Raises:
            HyperparameterError: invalid hyperparameters, or ``k`` above the number of rows.
            DataFormatError: NaN or infinite values.
        """
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.kmeans.model import KMeansModel
        from openmaker.algorithms.kmeans.train import train
        from openmaker.data import Dataset

        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        Xa = float32_matrix(X)
        hp = dict(self._hyperparameters)
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        if not {"mini_batch_size"} & set(hp):
            hp["mini_batch_size"] = max(1, min(5000, int(Xa.shape[0])))
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        self.model_ = train_in_process(
            "kmeans", train, typed, {"train": Dataset(Xa)}, KMeansModel.load, log
        )
        self.training_log_ = log.getvalue()
        self.cluster_centers_ = self.model_.centers.copy()
        self.n_features_in_ = self.model_.feature_dim
        labels, dist = self.model_.assign(Xa, search_dtype=np.float32)
        self.labels_ = labels
        self.inertia_ = float(np.sum(dist.astype(np.float64) ** 2))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def predict(self, X: Any) -> np.ndarray:
        """The closest cluster of each row (int64)."""
        self._check_fitted()
        return self.model_.assign(float32_matrix(X))[0]

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances from each row to every centre, shape (n, k)."""
        self._check_fitted()
        return self.model_.distances(float32_matrix(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the sum of squared distances of ``X`` to its closest centres (as KMeans)."""
        self._check_fitted()
        _, dist = self.model_.assign(float32_matrix(X))
        return -float(np.sum(dist**2))
