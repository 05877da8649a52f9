"""Deterministic hashing: entity ids to embedding slots, IP prefixes to buckets.

Both are stable across processes, machines and Python versions (Python's ``hash()`` is
salted per process and would give every run a different model):

* an entity id (its UTF-8 bytes, white space trimmed) goes to slot
  ``blake2b-64(id) mod num_entity_vectors`` (little-endian 64-bit digest);
* an IP prefix goes to bucket ``splitmix64(prefix + salt) mod buckets`` (vectorised).

Distinct ids are hashed once per batch (arrow's dictionary encoding finds them), so the
cost follows the number of distinct entities, not the number of rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15


def entity_hash(entity: str) -> int:
    """The unsigned 64-bit hash of one entity id."""
    digest = hashlib.blake2b(entity.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def entity_slots(entities: Any, num_entity_vectors: int) -> np.ndarray:
    """The embedding slot (int64 in ``[0, num_entity_vectors)``) of every entity id.

    Args:
        entities: a ``pyarrow`` string array or a sequence of ``str`` (already trimmed).
        num_entity_vectors: size of the hash space.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = (
        entities
        if isinstance(entities, pa.Array | pa.ChunkedArray)
        else pa.array(list(entities), type=pa.string())
    )
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct: Sequence[str] = encoded.dictionary.to_pylist()
    hashes = np.fromiter((entity_hash(e) for e in distinct), dtype=np.uint64, count=len(distinct))
    slots = (hashes % np.uint64(num_entity_vectors)).astype(np.int64)
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return slots[indices]


def mix64(x: np.ndarray, salt: int = 0) -> np.ndarray:
    """splitmix64's finaliser of ``x + salt`` (uint64 in, uint64 out, wrapping arithmetic)."""
    offset = np.uint64((salt * _GOLDEN) % (1 << 64))
    z = np.asarray(x, dtype=np.uint64) + offset
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))
