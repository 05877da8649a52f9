"""Inference for LDA: each document's topic mixture (reference section 6.3).

Requests: ``text/csv`` (dense counts, one document a line), ``application/json`` (dense or
sparse instances), ``application/jsonlines`` (an openmaker extension) and
``application/x-recordio-protobuf`` (dense or sparse). Responses:
``{"predictions": [{"topic_mixture": [...]}, ...]}`` (JSON, the default),
``{"topic_mixture": [...]}`` a line (JSON Lines) or ``label['topic_mixture']`` per record
(RecordIO). Counts must be finite and non-negative (fractional counts are accepted at
inference, e.g. tf-idf weights); a document with no words gets the prior mean ``α / Σα``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.common import (
    decode_features,
    encode_predictions,
    load_model_arrays,
    negotiate_accept,
    predict_records_batch,
)
from openmaker.algorithms.lda.inference import log_likelihood_sums, topic_mixtures
from openmaker.algorithms.lda.spec import REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES
from openmaker.errors import DataFormatError, ValidationError


class LDAModel:
    """A trained LDA model.

    Attributes:
        alpha: the Dirichlet prior, shape (k,).
        beta: topic-word distributions, shape (k, V), rows sum to 1.
        meta: the artifact's metadata.
    """

    def __init__(
        self, alpha: np.ndarray, beta: np.ndarray, meta: dict[str, Any] | None = None
    ) -> None:
        self.alpha = np.asarray(alpha, dtype=np.float64).reshape(-1)
        beta = np.asarray(beta, dtype=np.float64)
        if beta.ndim != 2 or beta.shape[0] != self.alpha.shape[0]:
            raise ValidationError(
                f"inconsistent LDA model: alpha {self.alpha.shape}, beta {beta.shape}"
            )
        self.beta = beta / beta.sum(axis=1, keepdims=True)
        self.meta = dict(meta or {})

    @property
    def num_topics(self) -> int:
        """k."""
        return int(self.beta.shape[0])

    @property
    def feature_dim(self) -> int:
        """V, the vocabulary size."""
        return int(self.beta.shape[1])

    @classmethod
    def load(cls, model_dir: str | Path) -> LDAModel:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into."""
        arrays, meta = load_model_arrays(model_dir)
        if {"alpha", "beta"} - set(arrays) or meta.get("algorithm", "lda") != "lda":
            raise ValidationError(f"{model_dir}: model_algo-1 is not an LDA model")
        return cls(arrays["alpha"], arrays["beta"], meta)

    def topic_word_matrix(self) -> np.ndarray:
        """The topics as rows of word probabilities, shape (num_topics, vocabulary_size)
        (the :class:`openmaker.algorithms.common.topics.TopicModel` protocol)."""
        return self.beta.copy()

    def counts(self, X: Any) -> sp.csr_matrix:
        """``X`` (dense or sparse documents) as checked CSR counts, ``feature_dim`` wide.

        Raises:
            DataFormatError: wrong width, negative, NaN or infinite counts.
        """
        V = self.feature_dim
        if sp.issparse(X):
            M = sp.csr_matrix(X, dtype=np.float64)
            if M.shape[1] > V:
                raise DataFormatError(
                    f"a document has word index {M.shape[1] - 1}; the model's vocabulary has "
                    f"{V} words (indices 0..{V - 1})"
                )
            if M.shape[1] < V:
                M = sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], V))
        else:
            A = np.asarray(X, dtype=np.float64)
            if A.ndim == 1:
                A = A.reshape(1, -1)
            if A.shape[1] != V:
                raise DataFormatError(
                    f"documents have {A.shape[1]} word counts; the model's vocabulary has {V}"
                )
            M = sp.csr_matrix(A)
        data = M.data
        bad = ~np.isfinite(data) | (data < 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(M.indptr, pos, side="right") - 1)
            raise DataFormatError(
                f"document {row}: the count of word {int(M.indices[pos])} is "
                f"{float(data[pos])!r}; word counts must be finite and non-negative"
            )
        return M

    def transform(self, X: Any) -> np.ndarray:
        """Topic mixtures of the documents ``X``, shape (n, num_topics)."""
        return topic_mixtures(self.counts(X), self.beta, self.alpha)

    def per_word_log_likelihood(self, X: Any) -> float:
        """The per-word log-likelihood of documents ``X`` (``test:pwll``'s estimator)."""
        C = self.counts(X)
        ll, n = log_likelihood_sums(C, self.beta, topic_mixtures(C, self.beta, self.alpha))
        return ll / n if n else float("nan")

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with the topic mixture of every document."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return encode_predictions(self._records(X), accept, supported=RESPONSE_CONTENT_TYPES)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one inference (the serving process's micro-batch)."""
        return predict_records_batch(
            requests,
            self._records,
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
        )

    def _records(self, X: Any) -> list[dict[str, Any]]:
        return [{"topic_mixture": row} for row in self.transform(X).tolist()]
