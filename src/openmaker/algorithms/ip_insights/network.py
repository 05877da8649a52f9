"""The IP Insights network in numpy: entity embeddings, the IP encoder, their dot product.

* **Entity**: ``E[slot(entity)]``, a row of the ``(num_entity_vectors, vector_dim)`` table
  (slots from :func:`~openmaker.algorithms.ip_insights.hashing.entity_slots`).
* **IP encoder** (SageMaker's architecture is UNCONFIRMED; this is openmaker's, built on the
  prefix structure of IPv4 as the reference describes):

  1. ``h0 = P8[a] + P16[a.b] + P24[a.b.c] + P32[a.b.c.d]``: one embedding per prefix of the
     address at the octet boundaries. The /8 and /16 tables are indexed by the prefix itself
     (256 and 65,536 rows); the /24 and /32 prefixes are hashed into :data:`IP_BUCKETS` rows
     each (splitmix64, a different salt per level). Addresses of one subnet share their
     /8-/24 rows, so an entity's compatibility with a subnet is learnt from all of its
     addresses, and the /32 row adds what is specific to one address.
  2. ``num_ip_encoder_layers`` fully connected layers, each a residual ReLU block
     ``h <- h + relu(h W + b)`` (``W``: ``vector_dim x vector_dim``): they let the prefixes
     interact while keeping the plain sum as a path (0 layers: the sum alone).

* **Score**: ``S = <E[entity], encoder(ip)>``; ``sigmoid(S)`` is the probability that the pair
  is real rather than a negative sample.

The model size is ``(num_entity_vectors + 256 + 65,536 + 2 x IP_BUCKETS) x vector_dim +
num_ip_encoder_layers x (vector_dim + 1) x vector_dim`` float32 values: linear in
``vector_dim x num_entity_vectors``, as SageMaker documents, plus a fixed IP part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openmaker.algorithms.ip_insights.hashing import mix64

#: Prefix lengths (bits) embedded by the IP encoder.
LEVELS: tuple[int, ...] = (8, 16, 24, 32)
#: Rows of a prefix table when the prefix space is larger (the /24 and /32 levels).
IP_BUCKETS = 1 << 16


def level_rows(bits: int) -> int:
    """Rows of the table of the ``/bits`` prefixes."""
    return min(1 << bits, IP_BUCKETS)


def level_indices(ips: np.ndarray, bits: int) -> np.ndarray:
    """Row of each address's ``/bits`` prefix in its table (int64)."""
    prefix = np.asarray(ips, dtype=np.uint64) >> np.uint64(32 - bits)
    rows = level_rows(bits)
    if (1 << bits) <= rows:
        return prefix.astype(np.int64)
    return (mix64(prefix, salt=bits) % np.uint64(rows)).astype(np.int64)


def segment_sum(indices: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the gradient ``rows`` sharing an index: ``(distinct indices, summed rows)``.

    A sparse (distinct x n) 0/1 matrix times the rows: one C loop, several times faster than
    ``np.add.at`` or a sort with ``np.add.reduceat``.
    """
    import scipy.sparse as sp

    uniq, inverse = np.unique(indices, return_inverse=True)
    n = len(indices)
    M = sp.csr_matrix(
        (np.ones(n, dtype=rows.dtype), (inverse.reshape(-1), np.arange(n))),
        shape=(len(uniq), n),
    )
    return uniq, np.asarray(M @ rows, dtype=rows.dtype)


@dataclass
class Weights:
    """Every trainable array.

    Attributes:
        entity: ``(num_entity_vectors, vector_dim)`` entity embeddings.
        levels: one ``(level_rows(bits), vector_dim)`` table per prefix length in ``LEVELS``.
        layers: ``(W, b)`` of each encoder layer, ``(d, d)`` and ``(d,)``.
    """

    entity: np.ndarray
    levels: list[np.ndarray]
    layers: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def vector_dim(self) -> int:
        """Embedding size."""
        return int(self.entity.shape[1])

    @classmethod
    def initial(
        cls, num_entity_vectors: int, vector_dim: int, num_layers: int, rng: np.random.Generator
    ) -> Weights:
        """Random initial weights: scores start small (variance about ``1 / vector_dim``)."""
        d = vector_dim
        scale = np.float32(1.0 / np.sqrt(d))
        entity = _normal(rng, (num_entity_vectors, d), scale)
        # four prefix rows are summed: each gets half the scale so the sum has the entity's
        levels = [_normal(rng, (level_rows(b), d), scale / 2) for b in LEVELS]
        layers = [
            (_normal(rng, (d, d), scale), np.zeros(d, dtype=np.float32)) for _ in range(num_layers)
        ]
        return cls(entity, levels, layers)

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays for the artifact."""
        out = {"entity_embedding": self.entity}
        for bits, table in zip(LEVELS, self.levels, strict=True):
            out[f"ip_prefix_{bits}"] = table
        for i, (W, b) in enumerate(self.layers):
            out[f"ip_layer_{i}_weight"] = W
            out[f"ip_layer_{i}_bias"] = b
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], num_layers: int) -> Weights:
        """The inverse of :meth:`arrays`."""
        levels = [np.asarray(arrays[f"ip_prefix_{b}"], dtype=np.float32) for b in LEVELS]
        layers = [
            (
                np.asarray(arrays[f"ip_layer_{i}_weight"], dtype=np.float32),
                np.asarray(arrays[f"ip_layer_{i}_bias"], dtype=np.float32),
            )
            for i in range(num_layers)
        ]
        return cls(np.asarray(arrays["entity_embedding"], dtype=np.float32), levels, layers)


def _normal(rng: np.random.Generator, shape: tuple[int, int], scale: np.float32) -> np.ndarray:
    out = rng.standard_normal(shape, dtype=np.float32)
    out *= scale
    return out


@dataclass
class EncoderCache:
    """What the backward pass of :func:`encode` needs."""

    indices: list[np.ndarray]
    inputs: list[np.ndarray]
    active: list[np.ndarray]


def encode(w: Weights, ips: np.ndarray, *, keep: bool = False) -> tuple[np.ndarray, EncoderCache]:
    """IP vectors ``(n, vector_dim)`` float32 of uint32 addresses (cache empty unless ``keep``)."""
    indices = [level_indices(ips, b) for b in LEVELS]
    h = w.levels[0][indices[0]]
    for table, idx in zip(w.levels[1:], indices[1:], strict=True):
        h += table[idx]
    inputs: list[np.ndarray] = []
    active: list[np.ndarray] = []
    for W, b in w.layers:
        z = h @ W
        z += b
        mask = z > 0
        if keep:
            inputs.append(h)
            active.append(mask)
        z *= mask
        h = h + z
    return h, EncoderCache(indices if keep else [], inputs, active)


@dataclass
class Gradients:
    """Gradients of one batch: sparse rows for the tables, dense for the layers."""

    entity: tuple[np.ndarray, np.ndarray]
    levels: list[tuple[np.ndarray, np.ndarray]]
    layers: list[tuple[np.ndarray, np.ndarray]]


def encode_backward(
    w: Weights, cache: EncoderCache, grad: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """Back-propagate ``dLoss/dv`` through the encoder.

    Returns:
        ``(level gradients, layer gradients)``: per prefix table ``(rows, summed gradient
        rows)``; per layer ``(dW, db)``.
    """
    g = grad
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    for (W, _b), h, mask in zip(
        reversed(w.layers), reversed(cache.inputs), reversed(cache.active), strict=True
    ):
        dz = g * mask
        layers.append((h.T @ dz, dz.sum(axis=0)))
        g = g + dz @ W.T
    layers.reverse()
    levels = [segment_sum(idx, g) for idx in cache.indices]
    return levels, layers


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two ``(n, d)`` arrays."""
    return np.einsum("ij,ij->i", a, b)
