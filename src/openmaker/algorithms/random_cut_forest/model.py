"""Inference for Random Cut Forest: one anomaly score per record (reference 6.3).

Requests: ``text/csv`` (features only), ``application/json``, ``application/jsonlines``
(dense or sparse instances), ``application/x-recordio-protobuf`` and ``application/x-npy``.
Responses: ``{"scores": [{"score": 1.02}, ...]}`` (JSON, the default), ``{"score": 1.02}`` a
line (JSON Lines), ``label['score']`` per record (RecordIO) or one score a line (CSV).

Two kinds of model share this interface; :meth:`RandomCutForestModel.load` picks one:

* **batch** (what a training job writes): the trained forest scores each record; nothing
  changes between requests.
* **streaming**: the model scores each record of a request in order *and then learns it*
  (sliding window, see :mod:`.streaming`), as Kinesis Data Analytics' ``RANDOM_CUT_FOREST``
  does. Loaded when ``model_algo-1`` holds a :class:`~.streaming.StreamingForest`
  (``StreamingForest(...).save(folder)``, then pack the folder as ``model.tar.gz``), or when a
  trained batch model is loaded with the environment variable ``OPENMAKER_RCF_STREAMING=true``
  (the model's ``Environment`` in CreateModel): the trained trees then become the starting
  streaming forest (:meth:`StreamingForest.from_model`). The state lives in the serving
  worker's memory: each worker process of an endpoint learns the records it serves, and the
  state starts again from the artifact when the endpoint (or worker) restarts. Requests to one
  worker are applied one at a time (a lock), in arrival order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
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
from openmaker.algorithms.random_cut_forest.forest import Forest
from openmaker.algorithms.random_cut_forest.scoring import score_points
from openmaker.algorithms.random_cut_forest.spec import (
    REQUEST_CONTENT_TYPES,
    RESPONSE_CONTENT_TYPES,
)
from openmaker.algorithms.random_cut_forest.streaming import STREAMING_MODE, StreamingForest
from openmaker.errors import DataFormatError, ValidationError

#: Environment variable that serves a trained (batch) model as a streaming forest.
STREAMING_ENV = "OPENMAKER_RCF_STREAMING"


def _dense_rows(X: Any, width: int) -> np.ndarray:
    """Request features as dense float32 rows exactly ``width`` wide."""
    if not isinstance(X, np.ndarray) and hasattr(X, "toarray"):
        if X.shape[1] > width:
            raise DataFormatError(
                f"a record has feature index {X.shape[1] - 1}; the model has {width} features"
            )
        dense = np.zeros((X.shape[0], width), dtype=np.float32)
        dense[:, : X.shape[1]] = X.toarray()
        X = dense
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != width:
        raise DataFormatError(f"records have {X.shape[-1]} features; the model has {width}")
    if X.size and not np.isfinite(X).all():
        bad = int(np.argwhere(~np.isfinite(X))[0][0])
        raise DataFormatError(f"record {bad} holds NaN or an infinite value")
    return X


def _records(scores: np.ndarray) -> list[dict[str, float]]:
    return [{"score": float(v)} for v in scores.tolist()]


def _respond(scores: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    return encode_predictions(
        _records(scores), accept, top_key="scores", supported=RESPONSE_CONTENT_TYPES
    )


class RandomCutForestModel:
    """A trained (batch) Random Cut Forest.

    Attributes:
        forest: the trees.
        meta: the artifact's metadata (settings, ``num_records``...).
    """

    def __init__(self, forest: Forest, meta: dict[str, Any] | None = None) -> None:
        self.forest = forest
        self.meta = dict(meta or {})

    @property
    def feature_dim(self) -> int:
        """Number of input features."""
        return self.forest.dimensions

    @property
    def num_trees(self) -> int:
        """Number of trees."""
        return self.forest.num_trees

    @classmethod
    def load(cls, model_dir: str | Path) -> Any:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into.

        Returns:
            A :class:`RandomCutForestModel`, or a :class:`StreamingRandomCutForestModel` for a
            streaming artifact or when ``$OPENMAKER_RCF_STREAMING`` is true.
        """
        arrays, meta = load_model_arrays(model_dir)
        if meta.get("algorithm") != "randomcutforest":
            raise ValidationError(f"{model_dir}: model_algo-1 is not a Random Cut Forest model")
        if meta.get("mode") == STREAMING_MODE:
            return StreamingRandomCutForestModel(StreamingForest.from_state(arrays, meta))
        model = cls(Forest.from_arrays(arrays), meta)
        if os.environ.get(STREAMING_ENV, "").strip().lower() in ("1", "true", "yes"):
            return StreamingRandomCutForestModel(StreamingForest.from_model(model))
        return model

    def scores(self, X: Any) -> np.ndarray:
        """Anomaly score of each row of ``X`` (dense or CSR; larger = more anomalous).

        Raises:
            DataFormatError: wrong width, NaN or infinity.
        """
        return score_points(self.forest, _dense_rows(X, self.feature_dim))

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with each record's anomaly score."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return _respond(self.scores(X), accept)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one pass through the forest (serving micro-batch)."""
        return predict_records_batch(
            requests,
            lambda X: _records(self.scores(X)),
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
            top_key="scores",
        )


class StreamingRandomCutForestModel:
    """A served streaming forest: each request's records are scored, then learned, in order.

    Attributes:
        stream: the :class:`~.streaming.StreamingForest` (this worker's state).
    """

    def __init__(self, stream: StreamingForest) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    @property
    def feature_dim(self) -> int:
        """Values per record."""
        return self.stream.feature_dim

    @classmethod
    def load(cls, model_dir: str | Path) -> Any:
        """Load like :meth:`RandomCutForestModel.load`."""
        return RandomCutForestModel.load(model_dir)

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Score then learn each record of the request; answer with the scores."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)
        X = _dense_rows(
            decode_features(body, content_type, REQUEST_CONTENT_TYPES), self.feature_dim
        )
        with self._lock:
            scores = self.stream.update_many(X)
        return _respond(scores, accept)
