"""Inference for NTM: each document's ``topic_weights`` (reference 5.4), in numpy.

The saved arrays (``model_algo-1``, the network's ``state_dict`` names) are evaluated here
without torch: the encoder (``log(1 + x)``, linear layers, batch norm with its running
statistics, the activation), ``mu``, then ``topic_weights = softmax(mu)``: the posterior mean,
no sampling (UNCONFIRMED: the reference does not say; the mean makes the answer
deterministic). Requests: ``text/csv`` (dense counts), ``application/json`` /
``application/jsonlines`` (dense or sparse instances), ``application/x-recordio-protobuf``.
Responses: ``{"predictions": [{"topic_weights": [...]}, ...]}`` (JSON, the default), one
``{"topic_weights": [...]}`` a line (JSON Lines), or ``label['topic_weights']`` per record
(RecordIO). Counts must be finite and non-negative (fractional counts are accepted at
inference, as weights); a document without words gets the topic weights of the empty input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common import (
    decode_features,
    encode_predictions,
    load_model_arrays,
    negotiate_accept,
    predict_records_batch,
)
from openmaker.algorithms.ntm.spec import REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES
from openmaker.errors import DataFormatError, ValidationError

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": lambda h: 0.5 * (1.0 + np.tanh(0.5 * h)),
    "tanh": np.tanh,
    "relu": lambda h: np.maximum(h, 0.0),
}
_BLOCK_ROWS = 4096


def _softmax(a: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)  # type: ignore[no-any-return]


class NTMModel:
    """A trained Neural Topic Model.

    Attributes:
        arrays: the network's float32 arrays by ``state_dict`` name (``decoder.weight`` is
            SageMaker's ``projection_weight``, vocabulary x topics).
        meta: the artifact's metadata (settings, best epoch, final metrics...).
        vocabulary: the words of ``vocab.txt`` when training had an auxiliary channel.
    """

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        meta: Mapping[str, Any],
        vocabulary: Sequence[str] | None = None,
    ) -> None:
        self.arrays = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        self.meta = dict(meta)
        self.vocabulary = None if vocabulary is None else [str(w) for w in vocabulary]
        need = ("mu.weight", "mu.bias", "decoder.weight", "decoder.bias")
        missing = [k for k in need if k not in self.arrays]
        if missing:
            raise ValidationError(f"inconsistent NTM model: missing {', '.join(missing)}")
        self.n_layers = len(self.meta.get("encoder_layers", []))
        self._activation = _ACTIVATIONS[self.meta.get("encoder_layers_activation", "sigmoid")]
        W = self.arrays["decoder.weight"]
        if W.shape != (self.feature_dim, self.num_topics):
            raise ValidationError(f"inconsistent NTM model: decoder {W.shape}")

    @property
    def feature_dim(self) -> int:
        """Vocabulary size."""
        return int(self.meta["feature_dim"])

    @property
    def num_topics(self) -> int:
        """Number of topics."""
        return int(self.meta["num_topics"])

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], settings: Any) -> NTMModel:
        """A model from freshly trained arrays and the training ``Settings``."""
        meta = {
            "feature_dim": settings.feature_dim,
            "num_topics": settings.num_topics,
            "encoder_layers": list(settings.layers),
            "encoder_layers_activation": settings.activation,
            "batch_norm": settings.batch_norm,
            "batch_norm_eps": 1e-5,
        }
        return cls(arrays, meta)

    @classmethod
    def load(cls, model_dir: str | Path) -> NTMModel:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into."""
        arrays, meta = load_model_arrays(model_dir)
        if meta.get("algorithm") != "ntm":
            raise ValidationError(f"{model_dir}: model_algo-1 is not an NTM model")
        vocab = arrays.pop("vocabulary", None)
        return cls(arrays, meta, None if vocab is None else vocab.tolist())

    # --- the topics -----------------------------------------------------------------------
    def topic_word_matrix(self, include_background: bool = True) -> np.ndarray:
        """(num_topics, vocabulary_size): each topic's distribution over the words.

        Row ``k`` is the decoder's output for a document made of topic ``k`` alone,
        ``softmax(W[:, k] + b)`` (``W`` is SageMaker's ``projection_weight``, ``b`` the
        decoder bias): the model's ``p(word | topic k)``; every row sums to 1. With
        ``include_background=False`` the bias (the corpus' background word frequencies,
        shared by every topic) is left out, ``softmax(W[:, k])``: what sets each topic apart
        from the others rather than what it emits.
        """
        W = self.arrays["decoder.weight"]
        logits = W.T + self.arrays["decoder.bias"][None, :] if include_background else W.T
        return _softmax(logits, axis=1)

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` top words (ids as strings without a vocabulary) of each topic."""
        from openmaker.algorithms.ntm.coherence import top_words

        top = top_words(self.topic_word_matrix(), n)
        if self.vocabulary is None:
            return [[str(w) for w in row] for row in top.tolist()]
        return [[self.vocabulary[w] for w in row] for row in top.tolist()]

    # --- inference ------------------------------------------------------------------------
    def _dense(self, X: Any) -> np.ndarray:
        d = self.feature_dim
        if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
            import scipy.sparse as sp

            M = sp.csr_matrix(X, dtype=np.float64)
            if M.shape[1] > d:
                raise DataFormatError(
                    f"a record has word id {M.shape[1] - 1}; the model's vocabulary has {d} words"
                )
            A = np.zeros((M.shape[0], d))
            A[:, : M.shape[1]] = M.toarray()
        else:
            A = np.asarray(X, dtype=np.float64)
            if A.ndim == 1:
                A = A.reshape(1, -1)
            if A.ndim != 2 or A.shape[1] != d:
                raise DataFormatError(
                    f"records have {A.shape[-1]} word counts; the model's vocabulary has {d}"
                )
        if A.size and not np.isfinite(A).all():
            raise DataFormatError("a record holds NaN or an infinite value")
        if A.size and (A < 0).any():
            r, c = np.argwhere(A < 0)[0]
            raise DataFormatError(f"record {r}: word {c} has a negative count {A[r, c]!r}")
        return A

    def encode(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, log sigma)`` of each document's posterior (rows of word counts)."""
        A = self._dense(X)
        mus, sigmas = [], []
        eps = float(self.meta.get("batch_norm_eps", 1e-5))
        for lo in range(0, max(len(A), 1), _BLOCK_ROWS):
            h = np.log1p(A[lo : lo + _BLOCK_ROWS])
            for i in range(self.n_layers):
                h = h @ self.arrays[f"encoder.{i}.weight"].T + self.arrays[f"encoder.{i}.bias"]
                if self.meta.get("batch_norm"):
                    p = f"batch_norm.{i}."
                    mean, var = self.arrays[p + "running_mean"], self.arrays[p + "running_var"]
                    h = (h - mean) / np.sqrt(var + eps) * self.arrays[p + "weight"]
                    h = h + self.arrays[p + "bias"]
                h = self._activation(h)
            mus.append(h @ self.arrays["mu.weight"].T + self.arrays["mu.bias"])
            sigmas.append(h @ self.arrays["logsigma.weight"].T + self.arrays["logsigma.bias"])
        return np.concatenate(mus), np.clip(np.concatenate(sigmas), -10.0, 10.0)

    def topic_weights(self, X: Any) -> np.ndarray:
        """(n, num_topics) topic weights of each document (rows sum to 1)."""
        mu, _ = self.encode(X)
        return _softmax(mu, axis=1)

    def log_likelihood_bound(self, X: Any, samples: int = 1, seed: int = 0) -> np.ndarray:
        """Per-document negative ELBO (recons + KL), ``samples``-sample estimate: an upper
        bound on ``-log p(x)`` (for perplexity)."""
        A = self._dense(X)
        mu, ls = self.encode(A)
        rng = np.random.default_rng(seed)
        W, b = self.arrays["decoder.weight"], self.arrays["decoder.bias"]
        recons = np.zeros(len(A))
        for _ in range(samples):
            h = mu + np.exp(ls) * rng.standard_normal(mu.shape)
            logits = _softmax(h) @ W.T + b
            m = logits.max(axis=1, keepdims=True)
            log_y = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
            recons += -(A * log_y).sum(axis=1)
        kl = 0.5 * (mu**2 + np.exp(2 * ls) - 1.0 - 2 * ls).sum(axis=1)
        return recons / samples + kl  # type: ignore[no-any-return]

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with each document's ``topic_weights``."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return encode_predictions(self._records(X), accept, supported=RESPONSE_CONTENT_TYPES)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one forward pass (the serving micro-batch)."""
        return predict_records_batch(
            requests,
            self._records,
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
        )

    def _records(self, X: Any) -> list[dict[str, Any]]:
        W = self.topic_weights(X).astype(np.float32)
        return [{"topic_weights": row} for row in W.tolist()]
