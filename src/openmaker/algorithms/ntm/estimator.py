"""A scikit-learn transformer that runs openmaker's NTM training in process.

``NTMEstimator(num_topics=10).fit(X)`` hands ``X`` (document x word counts: numpy, pandas or
scipy sparse) to the same :func:`openmaker.algorithms.ntm.train.train` a training job runs, as
an in-memory ``train`` channel (``validation=`` adds a validation channel, ``vocabulary=`` an
``auxiliary`` channel with ``vocab.txt``), and loads the result with
:class:`~openmaker.algorithms.ntm.model.NTMModel`. Hyperparameters are SageMaker's names;
``feature_dim`` is filled from the data.

Fitted attributes follow ``sklearn.decomposition.LatentDirichletAllocation``: ``components_``
(topics x words, each row a distribution: :meth:`NTMModel.topic_word_matrix`),
``n_features_in_``, ``transform`` (topic weights), ``score`` (minus the negative ELBO of
``X``: a lower bound of its log-likelihood) and ``perplexity``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.ntm.spec import SPEC, TEXT_PLAIN, VOCAB_FILE


def _counts(X: Any) -> Any:
    """scipy CSR float32 (sparse or dense input)."""
    import scipy.sparse as sp

    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=np.float32)
    M = sp.csr_matrix(X, dtype=np.float32)
    if M.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {M.shape}")
    return M


class NTMEstimator(SageMakerParams, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn topic model over openmaker's NTM algorithm.

    Args:
        **hyperparameters: SageMaker's names: ``num_topics`` (required), ``encoder_layers``,
            ``encoder_layers_activation``, ``optimizer``, ``learning_rate``, ``epochs``,
            ``mini_batch_size``, ``sub_sample``, ``tolerance``, ``num_patience_epochs``...;
            ``feature_dim`` is taken from the data when not given.

    Attributes:
        model_: the loaded :class:`NTMModel`.
        components_: (num_topics, n_features) topic-word distributions.
        training_log_: everything training printed.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        validation: Any = None,
        vocabulary: Sequence[str] | None = None,
    ) -> NTMEstimator:
        """Learn topics from the word counts ``X`` (documents x words); ``y`` is ignored.

        Args:
            X: word counts (non-negative integers, at least one word per document).
            y: ignored.
            validation: held-out counts: early stopping watches their loss.
            vocabulary: the words of the columns (turns on WETC and the top-word log).

        Raises:
            HyperparameterError: invalid hyperparameters (``num_topics`` above the width...).
            DataFormatError: negative or fractional counts, empty documents, a vocabulary of
                the wrong size.
        """
        from openmaker.algorithms.common.adapter import IN_MEMORY_CONTENT_TYPE
        from openmaker.algorithms.ntm.model import NTMModel
        from openmaker.algorithms.ntm.train import train
        from openmaker.data import Dataset
        from openmaker.spec.algorithm import ChannelInput, TrainingContext

        M = _counts(X)
        hp = dict(self._hyperparameters)
        hp.setdefault("feature_dim", int(M.shape[1]))
        typed = SPEC.validate_hyperparameters(hp)
        data = (
            {"train": M} if validation is None else {"train": M, "validation": _counts(validation)}
        )
        log = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="openmaker-ntm-") as tmp:
            root = Path(tmp)
            channels = {
                name: ChannelInput(name, IN_MEMORY_CONTENT_TYPE, dataset=Dataset(rows))
                for name, rows in data.items()
            }
            if vocabulary is not None:
                folder = root / "auxiliary"
                folder.mkdir()
                (folder / VOCAB_FILE).write_text(
                    "".join(f"{w}\n" for w in vocabulary), encoding="utf-8"
                )
                channels["auxiliary"] = ChannelInput("auxiliary", TEXT_PLAIN, path=folder)
            ctx = TrainingContext(
                job_name="ntm-estimator",
                model_dir=root / "model",
                output_dir=root / "output",
                checkpoint_dir=root / "checkpoints",
                num_cpus=os.cpu_count() or 1,
                log=log,
            )
            ctx.model_dir.mkdir()
            ctx.output_dir.mkdir()
            try:
                train(typed, channels, ctx)
            finally:
                self.training_log_ = log.getvalue()
            self.model_ = NTMModel.load(ctx.model_dir)
        self.components_ = self.model_.topic_word_matrix()
        self.n_features_in_ = self.model_.feature_dim
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def transform(self, X: Any) -> np.ndarray:
        """(n, num_topics) topic weights of each document."""
        self._check_fitted()
        return self.model_.topic_weights(_counts(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the summed negative ELBO of ``X`` (a log-likelihood lower bound)."""
        self._check_fitted()
        return -float(self.model_.log_likelihood_bound(_counts(X)).sum())

    def perplexity(self, X: Any) -> float:
        """``exp(negative ELBO / words)`` of ``X`` (an upper bound of the perplexity)."""
        self._check_fitted()
        M = _counts(X)
        return float(np.exp(-self.score(M) / max(float(M.sum()), 1.0)))
