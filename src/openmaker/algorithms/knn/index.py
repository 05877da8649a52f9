"""The faiss index: building, (de)serialising and searching (with a full-probe fallback).

* ``faiss.Flat``: ``IndexFlatL2`` (``L2``) or ``IndexFlatIP`` (``INNER_PRODUCT`` and ``COSINE``
  on unit-norm vectors): exact search.
* ``faiss.IVFFlat``: ``IndexIVFFlat`` over ``nlist`` k-means centroids (spherical k-means for
  ``COSINE``).
* ``faiss.IVFPQ``: ``IndexIVFPQ`` with ``m`` sub-quantizers of ``nbits`` bits (8, fewer when
  the sample has under 256 points) on the residuals; ``L2`` only.

Training uses a fixed k-means seed, so the same sample gives the same index bytes. The index
is stored with faiss's own serialisation (``faiss.serialize_index``), what ``faiss.read_index``
reads back.

Searching an IVF index probes ``nprobe`` lists (``SearchParametersIVF``, so concurrent
requests never share a mutable setting). A query whose probed lists hold fewer than ``k``
points is searched again with every list probed, so every answer has exactly ``k`` neighbours.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from openmaker.errors import require

#: Seed of faiss's k-means (IVF centroids and PQ codebooks).
KMEANS_SEED = 20180913


def faiss_module() -> Any:
    """``faiss``, or MissingExtraError naming the ``knn`` extra."""
    return require("faiss", "knn")


def auto_nlist(n_points: int) -> int:
    """``faiss_index_ivf_nlists=auto``: ``sqrt`` of the number of sampled points (at least 1)."""
    return max(1, round(math.sqrt(n_points)))


def default_nprobe(nlist: int) -> int:
    """Lists probed per query by default: ``ceil(sqrt(nlist))`` (``nlist`` at most)."""
    return max(1, min(nlist, math.ceil(math.sqrt(nlist))))


def pq_nbits(n_points: int) -> int:
    """Bits per PQ sub-quantizer: 8, or ``floor(log2(n))`` when fewer than 256 points."""
    return max(1, min(8, math.floor(math.log2(max(n_points, 2)))))


def _kmeans_params(cp: Any, *, spherical: bool = False) -> None:
    cp.seed = KMEANS_SEED
    # faiss prints a warning to stderr per k-means run on small samples; openmaker logs the
    # index settings itself
    cp.min_points_per_centroid = 1
    cp.spherical = spherical


def build_index(
    X: np.ndarray,
    *,
    index_type: str,
    metric: str,
    nlist: int = 1,
    pq_m: int = 0,
    nbits: int = 8,
) -> Any:
    """Train (IVF) and fill an index with the rows of ``X`` (ids 0..n-1 in row order).

    Args:
        X: (n, d) float32 index vectors (already normalised for ``COSINE``).
        index_type: ``faiss.Flat``, ``faiss.IVFFlat`` or ``faiss.IVFPQ``.
        metric: ``L2``, ``INNER_PRODUCT`` or ``COSINE``.
        nlist: IVF lists.
        pq_m: IVFPQ sub-quantizers (divides ``d``).
        nbits: IVFPQ bits per sub-quantizer.
    """
    faiss = faiss_module()
    X = np.ascontiguousarray(X, dtype=np.float32)
    d = int(X.shape[1])
    inner = metric != "L2"
    faiss_metric = faiss.METRIC_INNER_PRODUCT if inner else faiss.METRIC_L2
    if index_type == "faiss.Flat":
        index = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
    else:
        quantizer = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
        if index_type == "faiss.IVFFlat":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss_metric)
        elif index_type == "faiss.IVFPQ":
            index = faiss.IndexIVFPQ(quantizer, d, nlist, pq_m, nbits)
            _kmeans_params(index.pq.cp)
        else:
            raise ValueError(f"unknown index_type {index_type!r}")
        _kmeans_params(index.cp, spherical=metric == "COSINE")
        index.train(X)
    index.add(X)
    return index


def serialize(index: Any) -> bytes:
    """The index in faiss's binary format."""
    return faiss_module().serialize_index(index).tobytes()


def deserialize(data: bytes) -> Any:
    """An index from :func:`serialize`'s bytes."""
    faiss = faiss_module()
    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def nlist_of(index: Any) -> int:
    """Lists of an IVF index; 0 for a flat one."""
    return int(getattr(index, "nlist", 0) or 0)


def search(index: Any, Q: np.ndarray, k: int, nprobe: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest stored vectors of each query: ``(scores, ids)``, (n, k) each.

    ``scores`` are faiss's: squared L2 distances (ascending) or inner products (descending).
    """
    Q = np.ascontiguousarray(Q, dtype=np.float32)
    nlist = nlist_of(index)
    if not nlist:
        return index.search(Q, k)
    D, ids = index.search(Q, k, params=_ivf_params(max(1, nprobe)))
    short = np.flatnonzero(ids[:, -1] < 0)
    if short.size and nprobe < nlist:
        D2, I2 = index.search(Q[short], k, params=_ivf_params(nlist))
        D[short], ids[short] = D2, I2
    return D, ids


@functools.lru_cache(maxsize=64)
def _ivf_params(nprobe: int) -> Any:
    """Search parameters probing ``nprobe`` lists, built once per value (faiss only reads
    them, so concurrent searches may share one)."""
    return faiss_module().SearchParametersIVF(nprobe=nprobe)
