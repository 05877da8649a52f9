"""Inference for IP Insights: the dot product of entity and IP embeddings (reference 8.3).

Requests: ``text/csv`` (``entity,ip`` lines), ``application/json``
(``{"instances": [{"features": ["entity_id_1", "192.168.1.2"]}, {"data": {"features":
{"values": [...]}}}]}``) or ``application/jsonlines`` (one instance a line). RecordIO is refused
(415), as by SageMaker.

Responses: ``application/json`` (the default) ``{"predictions": [{"dot_product": 2.0}, ...]}``
or ``application/jsonlines`` (one ``{"dot_product": ...}`` a line). With
``Accept: application/json;verbose=True`` (or the JSON Lines equivalent) each prediction also
carries ``"entity_embedding": [...]`` and ``"ip_embedding": [...]``.

Higher ``dot_product`` means a more usual pair; negate it for an anomaly score. An entity
never seen in training still hashes to a slot and gets a (meaningless) score, as in SageMaker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common import encode_predictions, load_model_arrays, negotiate_accept
from openmaker.algorithms.ip_insights.hashing import entity_slots
from openmaker.algorithms.ip_insights.network import IP_BUCKETS, LEVELS, Weights, encode, row_dot
from openmaker.algorithms.ip_insights.records import decode_request
from openmaker.algorithms.ip_insights.spec import RESPONSE_CONTENT_TYPES
from openmaker.errors import ValidationError

#: Pairs scored at once (bounds the temporary IP vectors of a large request).
_BLOCK = 8192


class IPInsightsModel:
    """A trained IP Insights model.

    Attributes:
        weights: the embedding tables and encoder layers.
        meta: the artifact's metadata (settings, training summary).
    """

    def __init__(self, weights: Weights, meta: dict[str, Any]) -> None:
        self.weights = weights
        self.meta = dict(meta)
        self.num_entity_vectors = int(weights.entity.shape[0])

    @property
    def vector_dim(self) -> int:
        """Embedding size."""
        return self.weights.vector_dim

    @classmethod
    def load(cls, model_dir: str | Path) -> IPInsightsModel:
        """Load ``model_algo-1`` from the folder model.tar.gz was unpacked into."""
        arrays, meta = load_model_arrays(model_dir)
        if meta.get("algorithm") != "ipinsights" or "entity_embedding" not in arrays:
            raise ValidationError(f"{model_dir}: model_algo-1 is not an IP Insights model")
        if tuple(meta.get("ip_prefix_levels", ())) != LEVELS or meta.get("ip_buckets") != (
            IP_BUCKETS
        ):
            raise ValidationError(
                f"{model_dir}: the model's IP encoder (levels {meta.get('ip_prefix_levels')}, "
                f"{meta.get('ip_buckets')} buckets) is not this version's"
            )
        weights = Weights.from_arrays(arrays, int(meta["num_ip_encoder_layers"]))
        return cls(weights, meta)

    def entity_vectors(self, entities: Any) -> np.ndarray:
        """Embeddings ``(n, vector_dim)`` of entity ids (str sequence or arrow strings)."""
        return self.weights.entity[entity_slots(entities, self.num_entity_vectors)]

    def ip_vectors(self, ips: np.ndarray) -> np.ndarray:
        """Encoded ``(n, vector_dim)`` vectors of uint32 IPv4 addresses."""
        ips = np.asarray(ips, dtype=np.uint32)
        parts = [
            encode(self.weights, ips[lo : lo + _BLOCK])[0] for lo in range(0, len(ips), _BLOCK)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.vector_dim), np.float32)

    def dot_products(self, entities: Any, ips: np.ndarray) -> np.ndarray:
        """``<entity, ip>`` of each pair (float32)."""
        return row_dot(self.entity_vectors(entities), self.ip_vectors(ips))

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request with each pair's dot product (and embeddings when verbose)."""
        _, params = negotiate_accept(accept, RESPONSE_CONTENT_TYPES)  # 415 before any work
        verbose = params.get("verbose", "").strip().lower() == "true"
        entities, ips = decode_request(body, content_type)
        e = self.entity_vectors(entities)
        v = self.ip_vectors(ips)
        dots = row_dot(e, v)
        if verbose:
            records: list[dict[str, Any]] = [
                {"dot_product": float(p), "entity_embedding": ev, "ip_embedding": iv}
                for p, ev, iv in zip(dots.tolist(), e.tolist(), v.tolist(), strict=True)
            ]
        else:
            records = [{"dot_product": float(p)} for p in dots.tolist()]
        return encode_predictions(records, accept, supported=RESPONSE_CONTENT_TYPES)
