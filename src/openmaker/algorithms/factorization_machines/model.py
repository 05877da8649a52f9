"""Factorization Machines inference: ``FactorizationMachinesModel.load(dir).predict(...)``.

Artifact: ``model.tar.gz`` holds ``model_algo-1`` as SageMaker's does, but openmaker writes a
NumPy ``.npz`` archive there (:mod:`openmaker.algorithms.common.artifact`), not SageMaker's
zip of MXNet module files. Its arrays carry the names of SageMaker's MXNet parameters
(reference section 7.5): ``w0_weight`` (1,) the global bias, ``w1_weight`` (feature_dim,) the
linear weights, ``v`` (feature_dim, num_factors) the factors, all float32; its metadata holds
``predictor_type``, ``feature_dim``, ``num_factors`` and ``training_parameters``.
``numpy.load(".../model_algo-1")`` opens it.

Requests (reference section 7.3): ``application/json`` (dense ``features`` or sparse
``keys``/``shape``/``values``), ``application/jsonlines`` and
``application/x-recordio-protobuf`` (dense or sparse); CSV is refused (415) as in SageMaker.
Responses (JSON, JSON Lines, RecordIO-protobuf): binary_classifier ``{"score": p,
"predicted_label": 1 if p >= 0.5 else 0}`` with ``p`` the probability of label 1; regressor
``{"score": prediction}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common.artifact import load_model_arrays
from openmaker.algorithms.common.inference import (
    decode_features,
    encode_predictions,
    negotiate_accept,
    predict_records_batch,
)
from openmaker.algorithms.factorization_machines.machine import raw_scores, sigmoid
from openmaker.algorithms.factorization_machines.spec import (
    REQUEST_CONTENT_TYPES,
    RESPONSE_CONTENT_TYPES,
)
from openmaker.data import fit_width
from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError, ValidationError


class FactorizationMachinesModel:
    """A trained factorization machine.

    Args:
        w0: global bias, shape (1,).
        w: linear weights, shape (feature_dim,).
        V: factors, shape (feature_dim, num_factors).
        predictor_type: ``binary_classifier`` or ``regressor``.
        meta: the artifact's metadata.
    """

    def __init__(
        self,
        w0: np.ndarray,
        w: np.ndarray,
        V: np.ndarray,
        predictor_type: str,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.w0 = np.asarray(w0, dtype=np.float32).reshape(1)
        self.w = np.asarray(w, dtype=np.float32).reshape(-1)
        self.V = np.asarray(V, dtype=np.float32)
        if self.V.ndim != 2 or self.V.shape[0] != self.w.shape[0]:
            raise ValidationError(
                f"model arrays disagree: w has {self.w.shape[0]} rows, v has shape {self.V.shape}"
            )
        self.predictor_type = predictor_type
        self.feature_dim = int(self.w.shape[0])
        self.num_factors = int(self.V.shape[1])
        self.meta = dict(meta or {})

    @classmethod
    def load(cls, model_dir: str | Path) -> FactorizationMachinesModel:
        """Load ``model_dir/model_algo-1``."""
        arrays, meta = load_model_arrays(model_dir)
        missing = {"w0_weight", "w1_weight", "v"} - set(arrays)
        if missing or meta.get("algorithm") != "factorization-machines":
            raise ValidationError(
                f"{Path(model_dir) / 'model_algo-1'} is not a Factorization Machines model "
                f"(missing {sorted(missing) or 'its metadata'})"
            )
        return cls(
            arrays["w0_weight"], arrays["w1_weight"], arrays["v"], meta["predictor_type"], meta
        )

    def _features(self, X: Any) -> Any:
        if not isinstance(X, np.ndarray):
            X = fit_width(Dataset(X), self.feature_dim, "request").X
            data = X.data
        else:
            if X.ndim != 2 or X.shape[1] != self.feature_dim:
                width = X.shape[1] if X.ndim == 2 else X.shape
                raise DataFormatError(
                    f"request has {width} features; the model expects {self.feature_dim}"
                )
            X = np.ascontiguousarray(X, dtype=np.float32)
            data = X
        if not np.isfinite(data).all():
            raise DataFormatError("request holds NaN or infinite feature values")
        return X

    def raw(self, X: Any) -> np.ndarray:
        """The raw scores ``z(x)`` (float64) of dense or CSR rows ``feature_dim`` wide."""
        return raw_scores(self._features(X), self.w0, self.w, self.V)

    def predict_array(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(score, predicted_label)``; the label is None for a regressor."""
        z = self.raw(X)
        if self.predictor_type != "binary_classifier":
            return z, None
        p = sigmoid(z)
        return p, (p >= 0.5).astype(np.int64)

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request (see the module docstring for the shapes)."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return encode_predictions(self._records(X), accept, supported=RESPONSE_CONTENT_TYPES)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one scoring pass (the serving process's micro-batch)."""
        return predict_records_batch(
            requests,
            self._records,
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
        )

    def _records(self, X: Any) -> list[dict[str, Any]]:
        score, label = self.predict_array(X)
        if label is None:
            return [{"score": float(s)} for s in score]
        return [
            {"score": float(s), "predicted_label": int(k)}
            for s, k in zip(score, label, strict=True)
        ]
