"""Inference for PCA: the projection of each record on the components (reference 4.3).

Requests: ``text/csv`` (features only), ``application/json``, ``application/jsonlines``
(dense or sparse instances), ``application/x-recordio-protobuf`` and ``application/x-npy``.
Responses: ``{"projections": [{"projection": [...]}, ...]}`` (JSON, the default),
``{"projection": [...]}`` a line (JSON Lines), ``label['projection']`` per record (RecordIO) or
the projection's values comma-separated, one record a line (CSV, an openmaker extension).

``projection = (x - mean) · v`` (``mean`` is zero when the model was trained with
``subtract_mean=false``): no scaling by the singular values, components largest variance first.
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
    negotiate_accept,
    predict_records_batch,
)
from openmaker.algorithms.pca.spec import REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES
from openmaker.errors import DataFormatError, ValidationError


class PCAModel:
    """A trained PCA model.

    Attributes:
        mean: what is subtracted before projecting, shape (d,).
        components: shape (d, k), one component per column, largest variance first.
        singular_values: shape (k,), descending.
        meta: the artifact's metadata (settings, ``num_records``, ``total_variance``...).
    """

    def __init__(
        self,
        mean: np.ndarray,
        components: np.ndarray,
        singular_values: np.ndarray,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.components = np.asarray(components, dtype=np.float64)
        self.singular_values = np.asarray(singular_values, dtype=np.float64).reshape(-1)
        self.meta = dict(meta or {})
        if self.components.shape != (self.mean.shape[0], self.singular_values.shape[0]):
            raise ValidationError(
                f"inconsistent PCA model: mean {self.mean.shape}, v {self.components.shape}, "
                f"s {self.singular_values.shape}"
            )
        self._mean_v = self.mean @ self.components

    @property
    def feature_dim(self) -> int:
        """Number of input features."""
        return int(self.mean.shape[0])

    @property
    def num_components(self) -> int:
        """Number of components (projection length)."""
        return int(self.components.shape[1])

    @classmethod
    def load(cls, model_dir: str | Path) -> PCAModel:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into."""
        arrays, meta = load_model_arrays(model_dir)
        missing = {"mean", "v", "s"} - set(arrays)
        if missing or meta.get("algorithm", "pca") != "pca":
            raise ValidationError(f"{model_dir}: model_algo-1 is not a PCA model")
        return cls(arrays["mean"], arrays["v"], arrays["s"], meta)

    def project(self, X: Any) -> np.ndarray:
        """Projections of the rows of ``X`` (dense or CSR), shape (n, k), float64.

        Raises:
            DataFormatError: wrong width, NaN or infinity.
        """
        import scipy.sparse as sp

        d = self.feature_dim
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
            if X.shape[1] > d:
                raise DataFormatError(
                    f"a record has feature index {X.shape[1] - 1}; the model has {d} features"
                )
            if X.shape[1] < d:
                X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
            values = X.data
        else:
            X = np.asarray(X, dtype=np.float64)
            if X.ndim == 1:
                X = X.reshape(1, -1)
            if X.shape[1] != d:
                raise DataFormatError(f"records have {X.shape[1]} features; the model has {d}")
            values = X
        if values.size and not np.isfinite(values).all():
            raise DataFormatError("a record holds NaN or an infinite value")
        return np.asarray(X @ self.components) - self._mean_v

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with the projection of every record."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return encode_predictions(
            self._records(X), accept, top_key="projections", supported=RESPONSE_CONTENT_TYPES
        )

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one projection (the serving process's micro-batch)."""
        return predict_records_batch(
            requests,
            self._records,
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
            top_key="projections",
        )

    def _records(self, X: Any) -> list[dict[str, Any]]:
        return [{"projection": row} for row in self.project(X).tolist()]
