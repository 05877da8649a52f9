"""A scikit-learn transformer that runs openmaker's LDA training in process.

``LDAEstimator(num_topics=10).fit(X)`` hands ``X`` (document x word counts: numpy, pandas or
scipy sparse) to the same :func:`openmaker.algorithms.lda.train.train` a training job runs,
as an in-memory channel, and loads the result with
:class:`~openmaker.algorithms.lda.model.LDAModel`. Hyperparameters are SageMaker's names;
``feature_dim`` is filled from the data and ``mini_batch_size`` defaults to the number of
documents (what SageMaker asks for).

Fitted attributes follow ``sklearn.decomposition.LatentDirichletAllocation`` where they mean
the same: ``components_`` (k x V topic-word distributions: rows sum to 1, unlike
scikit-learn's pseudo-counts), ``doc_topic_prior_`` (α, per topic), ``n_components_``,
``n_features_in_``; ``transform`` gives topic mixtures and ``score`` the per-word
log-likelihood (higher is better).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from openmaker.algorithms.common.adapter import float32_matrix
from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.lda.spec import SPEC


def _counts(X: Any) -> Any:
    return float32_matrix(X, " (documents x vocabulary)")


class LDAEstimator(SageMakerParams, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn transformer over openmaker's LDA algorithm.

    Args:
        **hyperparameters: SageMaker's names: ``num_topics`` (required), ``alpha0``,
            ``max_restarts``, ``max_iterations``, ``tol``, ``mini_batch_size``;
            ``feature_dim`` is taken from the data when not given.

    Attributes:
        model_: the loaded :class:`LDAModel`.
        training_log_: everything training printed.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any = None) -> LDAEstimator:
        """Learn topics from the word counts ``X`` (shape (documents, vocabulary)).

        Raises:
            HyperparameterError: invalid hyperparameters (``num_topics`` > vocabulary...).
            DataFormatError: non-integer or negative counts, empty documents.
        """
        from openmaker.algorithms.common.adapter import train_in_process
        from openmaker.algorithms.lda.model import LDAModel
        from openmaker.algorithms.lda.train import train
        from openmaker.data import Dataset

        Xa = _counts(X)
        hp = dict(self._hyperparameters)
        hp.setdefault("feature_dim", int(Xa.shape[1]))
        hp.setdefault("mini_batch_size", max(1, int(Xa.shape[0])))
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        self.model_ = train_in_process(
            "lda", train, typed, {"train": Dataset(Xa)}, LDAModel.load, log
        )
        self.training_log_ = log.getvalue()
        self.components_ = self.model_.beta.copy()
        self.doc_topic_prior_ = self.model_.alpha.copy()
        self.n_components_ = self.model_.num_topics
        self.n_features_in_ = self.model_.feature_dim
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def transform(self, X: Any) -> np.ndarray:
        """Topic mixtures of the documents, shape (n, num_topics), rows sum to 1."""
        self._check_fitted()
        return self.model_.transform(_counts(X))

    def score(self, X: Any, y: Any = None) -> float:
        """The per-word log-likelihood of the documents ``X`` (higher is better)."""
        self._check_fitted()
        return float(self.model_.per_word_log_likelihood(_counts(X)))

    def topic_word_matrix(self) -> np.ndarray:
        """The fitted topics, shape (num_topics, vocabulary_size)."""
        self._check_fitted()
        return self.model_.topic_word_matrix()
