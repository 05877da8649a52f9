"""Inference for K-Means: each record's closest cluster and its distance (reference 3.3).

Requests: ``text/csv`` (features only), ``application/json``, ``application/jsonlines``
(dense or sparse instances), ``application/x-recordio-protobuf`` and ``application/x-npy``.
Responses: ``{"predictions": [{"closest_cluster": 1.0, "distance_to_cluster": 3.0}, ...]}``
(JSON, the default), one such object a line (JSON Lines), ``label['closest_cluster']`` and
``label['distance_to_cluster']`` per record (RecordIO), or ``closest_cluster,
distance_to_cluster`` a line (CSV, e.g. ``1.0,3.0``). The cluster index is sent as a float, as
SageMaker does.

``distance_to_cluster`` is the plain Euclidean distance ``‖x - c‖`` (not squared): SageMaker's
documentation calls it the Euclidean distance to the nearest centre.
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
from openmaker.algorithms.kmeans.distance import is_sparse, nearest, row_sq_norms
from openmaker.algorithms.kmeans.spec import REQUEST_CONTENT_TYPES, RESPONSE_CONTENT_TYPES
from openmaker.errors import DataFormatError, ValidationError

_BLOCK_ROWS = 8192


class KMeansModel:
    """A trained K-Means model.

    Attributes:
        centers: (k, feature_dim) cluster centres, float64 (stored as float32).
        weights: (k,) training records per cluster (refinement pass).
        meta: the artifact's metadata (settings, ``num_records``, ``train_msd``...).
    """

    def __init__(
        self,
        centers: np.ndarray,
        weights: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.centers = np.asarray(centers, dtype=np.float64)
        if self.centers.ndim != 2 or self.centers.shape[0] < 1:
            raise ValidationError(f"inconsistent K-Means model: centers {self.centers.shape}")
        k = self.centers.shape[0]
        self.weights = (
            np.ones(k) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        )
        if self.weights.shape != (k,):
            raise ValidationError(
                f"inconsistent K-Means model: centers {self.centers.shape}, "
                f"weights {self.weights.shape}"
            )
        self.meta = dict(meta or {})
        self._shift = self.centers.mean(axis=0)

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(self.centers.shape[0])

    @property
    def feature_dim(self) -> int:
        """Number of input features."""
        return int(self.centers.shape[1])

    @classmethod
    def load(cls, model_dir: str | Path) -> KMeansModel:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into."""
        arrays, meta = load_model_arrays(model_dir)
        if "centers" not in arrays or meta.get("algorithm", "kmeans") != "kmeans":
            raise ValidationError(f"{model_dir}: model_algo-1 is not a K-Means model")
        return cls(arrays["centers"], arrays.get("weights"), meta)

    def _checked(self, X: Any) -> Any:
        import scipy.sparse as sp

        d = self.feature_dim
        if is_sparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
            if X.shape[1] > d:
                raise DataFormatError(
                    f"a record has feature index {X.shape[1] - 1}; the model has {d} features"
                )
            if X.shape[1] < d:
                X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
            values = X.data
        else:
            X = np.asarray(X)
            if X.dtype not in (np.float32, np.float64):
                X = X.astype(np.float64)
            if X.ndim == 1:
                X = X.reshape(1, -1)
            if X.ndim != 2 or X.shape[1] != d:
                raise DataFormatError(f"records have {X.shape[1]} features; the model has {d}")
            values = X
        if values.size and not np.isfinite(values).all():
            raise DataFormatError("a record holds NaN or an infinite value")
        return X

    def assign(self, X: Any, *, search_dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
        """``(closest cluster, Euclidean distance)`` of each row of ``X`` (dense or CSR).

        Args:
            X: the rows.
            search_dtype: arithmetic of the nearest-centre search over dense rows (float32 is
                about twice as fast on large inputs); the reported distance is always computed
                in float64 from the difference to the chosen centre.

        Raises:
            DataFormatError: wrong width, NaN or infinity.
        """
        X = self._checked(X)
        labels, d2 = nearest(X, self.centers, dtype=search_dtype, shift=self._shift)
        if not is_sparse(X):
            # the reported distance from the difference itself (exact, not the expansion),
            # in blocks so no (n, d) float64 temporary is made for a large X
            for lo in range(0, len(labels), _BLOCK_ROWS):
                hi = lo + _BLOCK_ROWS
                diff = X[lo:hi] - self.centers[labels[lo:hi]]
                d2[lo:hi] = np.einsum("ij,ij->i", diff, diff)
        return labels, np.sqrt(d2)

    def distances(self, X: Any) -> np.ndarray:
        """Euclidean distances from each row to every centre, shape (n, k)."""
        X = self._checked(X)
        C = self.centers - self._shift
        if is_sparse(X):
            x_sq = row_sq_norms(X)
            cross = np.asarray(X @ self.centers.T)
            C = self.centers
        else:
            X = X - self._shift
            x_sq = np.einsum("ij,ij->i", X, X)
            cross = X @ C.T
        d2 = x_sq[:, None] - 2.0 * cross + np.einsum("ij,ij->i", C, C)[None, :]
        return np.sqrt(np.maximum(d2, 0.0))

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with each record's closest cluster and distance to it."""
        negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        return encode_predictions(self._records(X), accept, supported=RESPONSE_CONTENT_TYPES)

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one search (the serving process's micro-batch)."""
        return predict_records_batch(
            requests,
            self._records,
            request_types=REQUEST_CONTENT_TYPES,
            response_types=RESPONSE_CONTENT_TYPES,
        )

    def _records(self, X: Any) -> list[dict[str, float]]:
        labels, dist = self.assign(X)
        return [
            {"closest_cluster": float(c), "distance_to_cluster": float(v)}
            for c, v in zip(labels.tolist(), dist.tolist(), strict=True)
        ]
