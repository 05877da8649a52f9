"""A scikit-learn outlier detector that runs openmaker's Random Cut Forest training in process.

``RandomCutForestEstimator(num_trees=100).fit(X)`` writes ``X`` (numpy, pandas or scipy
sparse) to a temporary folder as RecordIO-protobuf, calls the same
:func:`openmaker.algorithms.random_cut_forest.train.train` a training job runs, and loads the
result with :class:`~openmaker.algorithms.random_cut_forest.model.RandomCutForestModel`.
Hyperparameters are SageMaker's names; ``feature_dim`` is filled from the data.

The methods follow scikit-learn's outlier detectors (``IsolationForest``):

* ``anomaly_score(X)``: RCF's score (larger = more anomalous, about 1 for ordinary rows);
* ``score_samples(X)``: its opposite (lower = more abnormal, as scikit-learn expects);
* ``decision_function(X)``: ``score_samples(X) - offset_``, negative for outliers;
* ``predict(X)``: -1 for outliers, 1 for inliers.

The threshold (``threshold_``, a score; ``offset_ = -threshold_``) comes from two estimator
options that are not SageMaker hyperparameters: ``threshold`` (a score, used as is) or
``contamination`` (the share of training rows to call outliers: the matching quantile of their
scores); with neither, SageMaker's three-sigma rule on the training rows' scores
(``mean + 3 std``). Inputs of more than 5,000 rows set it from the scores of a fixed random
subset of 5,000 rows.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin

from openmaker.algorithms.common.adapter import float32_matrix
from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.random_cut_forest.evaluate import three_sigma_threshold
from openmaker.algorithms.random_cut_forest.spec import SPEC
from openmaker.errors import ValidationError

#: Training rows scored to set the threshold (a fixed random subset of larger inputs).
THRESHOLD_ROWS = 5_000

#: Options of the adapter that are not hyperparameters of the algorithm.
ESTIMATOR_OPTIONS = ("threshold", "contamination")


class RandomCutForestEstimator(SageMakerParams, OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn outlier detector over openmaker's Random Cut Forest.

    Args:
        **hyperparameters: SageMaker's names: ``num_trees``, ``num_samples_per_tree``
            (``feature_dim`` is taken from the data when not given), plus the estimator
            options ``threshold`` (float) or ``contamination`` (float in (0, 0.5]).

    Attributes:
        model_: the loaded :class:`RandomCutForestModel`.
        threshold_: the score above which a row is an outlier.
        offset_: ``-threshold_`` (scikit-learn's convention).
        training_log_: everything training printed.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _options(self) -> tuple[float | None, float | None]:
        threshold = self._hyperparameters.get("threshold")
        contamination = self._hyperparameters.get("contamination")
        if threshold is not None and contamination is not None:
            raise ValidationError("give either threshold or contamination, not both")
        if contamination is not None and not 0 < float(contamination) <= 0.5:
            raise ValidationError(f"contamination must be in (0, 0.5], got {contamination!r}")
        return (
            None if threshold is None else float(threshold),
            None if contamination is None else float(contamination),
        )

    def fit(self, X: Any, y: Any = None) -> RandomCutForestEstimator:
        """Grow the forest on ``X`` (shape (n, d)); ``y`` is ignored.

        Raises:
            HyperparameterError: invalid hyperparameters, or fewer rows than ``num_trees``.
            DataFormatError: NaN or infinite values.
            ValidationError: invalid ``threshold`` / ``contamination``.
        """
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.random_cut_forest.model import RandomCutForestModel
        from openmaker.algorithms.random_cut_forest.train import train
        from openmaker.data import Dataset

        threshold, contamination = self._options()
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        Xa = float32_matrix(X)
        hp = {k: v for k, v in self._hyperparameters.items() if k not in ESTIMATOR_OPTIONS}
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        self.model_ = train_in_process(
            "randomcutforest", train, typed, {"train": Dataset(Xa)}, RandomCutForestModel.load, log
        )
        self.training_log_ = log.getvalue()
        self.n_features_in_ = self.model_.feature_dim
        rows = Xa.shape[0]
        if rows > THRESHOLD_ROWS:  # a fixed random subset: the threshold is a statistic
            pick = np.sort(np.random.default_rng(0).choice(rows, THRESHOLD_ROWS, replace=False))
            Xa = Xa[pick]
        train_scores = self.model_.scores(Xa)
        if threshold is not None:
            self.threshold_ = threshold
        elif contamination is not None:
            self.threshold_ = float(np.quantile(train_scores, 1.0 - contamination))
        else:
            self.threshold_ = three_sigma_threshold(train_scores)
        self.offset_ = -self.threshold_
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def anomaly_score(self, X: Any) -> np.ndarray:
        """RCF's anomaly score of each row (larger = more anomalous)."""
        self._check_fitted()
        return self.model_.scores(float32_matrix(X))

    def score_samples(self, X: Any) -> np.ndarray:
        """``-anomaly_score(X)``: lower is more abnormal (scikit-learn's convention)."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """-1 for outliers (score above ``threshold_``), 1 for inliers."""
        return np.where(self.anomaly_score(X) > self.threshold_, -1, 1)
