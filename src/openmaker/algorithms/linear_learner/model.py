"""Linear Learner inference: ``LinearLearnerModel.load(model_dir).predict(body, type, accept)``.

Response records (reference section 1.4):

* binary: ``{"score": p, "predicted_label": 0 | 1}``: ``score`` is the probability of label 1
  (``logistic``) or the raw margin (``hinge_loss``); the label is ``score > threshold`` with
  the threshold calibrated at training time;
* multiclass: ``{"score": [p_0, ..., p_{C-1}], "predicted_label": argmax}``;
* regression: ``{"score": prediction}``.

JSON, JSON Lines and RecordIO-protobuf as documented; ``text/csv`` answers (UNCONFIRMED for
LL) carry the record's fields in order (``score,predicted_label`` / the class scores then the
label / the prediction), one record a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common import (
    decode_features,
    encode_predictions,
    load_model_arrays,
    predict_records_batch,
)
from openmaker.data import fit_width
from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError


class LinearLearnerModel:
    """A trained Linear Learner model (weights in original feature units)."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.weight = arrays["weight"].astype(np.float64)
        self.bias = arrays["bias"].astype(np.float64)
        self.meta = meta
        self.predictor_type: str = meta["predictor_type"]
        self.loss: str = meta["loss"]
        self.threshold = float(meta["threshold"])
        self.feature_dim = int(meta["feature_dim"])

    @classmethod
    def load(cls, model_dir: str | Path) -> LinearLearnerModel:
        """Load ``model_dir/model_algo-1``."""
        arrays, meta = load_model_arrays(model_dir)
        return cls(arrays, meta)

    def raw(self, X: Any) -> np.ndarray:
        """``X @ W + b``: ``(n, C)`` raw scores."""
        if not isinstance(X, np.ndarray):
            X = fit_width(Dataset(X), self.feature_dim, "request").X
        elif X.ndim != 2 or X.shape[1] != self.feature_dim:
            width = X.shape[1] if X.ndim == 2 else X.shape
            raise DataFormatError(
                f"request has {width} features; the model expects {self.feature_dim}"
            )
        if not np.isfinite(X.data if not isinstance(X, np.ndarray) else X).all():
            raise DataFormatError("request holds NaN or infinite feature values")
        return np.asarray(X @ self.weight, dtype=np.float64) + self.bias

    def predict_array(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(score, predicted_label)``: score ``(n,)`` or ``(n, C)``; label None (regressor)."""
        Z = self.raw(X)
        if self.predictor_type == "multiclass_classifier":
            e = np.exp(Z - Z.max(axis=1, keepdims=True))
            P = e / e.sum(axis=1, keepdims=True)
            return P, np.argmax(P, axis=1)
        z = Z[:, 0]
        if self.predictor_type == "regressor":
            return z, None
        score = 1.0 / (1.0 + np.exp(-z)) if self.loss == "logistic" else z
        return score, (score > self.threshold).astype(np.int64)

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request (see the module docstring for the shapes)."""
        X = decode_features(body, content_type)
        return encode_predictions(self._records(X), accept)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one product (the serving process's micro-batch)."""
        return predict_records_batch(requests, self._records)

    def _records(self, X: Any) -> list[dict[str, Any]]:
        score, label = self.predict_array(X)
        records: list[dict[str, Any]]
        if label is None:
            records = [{"score": float(s)} for s in score]
        elif score.ndim == 2:
            records = [
                {"score": [float(v) for v in row], "predicted_label": int(k)}
                for row, k in zip(score, label, strict=True)
            ]
        else:
            records = [
                {"score": float(s), "predicted_label": int(k)}
                for s, k in zip(score, label, strict=True)
            ]
        return records
