"""Inference for k-NN: the label of each record from its ``k`` nearest sampled points.

The artifact (reference section 5.5), in the folder ``model.tar.gz`` unpacks to:

* ``model_algo-1``: the faiss index, in faiss's own serialisation (``faiss.read_index`` opens
  it);
* ``model_algo-1.labels``: the indexed points' labels, raw little-endian float32, in index
  order;
* ``model_algo-1.json``: metadata, SageMaker's keys (``k``, ``predictor_type``,
  ``dimension_reduction`` {type, seed, target_dim, input_dim}, ``normalize``, ``version``)
  plus openmaker's (``feature_dim``, ``index_dim``, ``index_type``, ``index_metric``,
  ``nprobe``...). ``k``, ``predictor_type`` and ``nprobe`` may be edited there to change how
  the model answers, as SageMaker allows for the first two.

Requests: ``text/csv``, ``application/json``, ``application/jsonlines`` (dense or sparse
instances), ``application/x-recordio-protobuf``, ``application/x-npy``. Responses:
``{"predictions": [{"predicted_label": 0.0}, ...]}`` (JSON, the default), one object a line
(JSON Lines), ``label['predicted_label']`` (RecordIO) or one value a line (CSV). With
``verbose=true`` in the Accept header (``application/json; verbose=true``) each record also
gets ``distances`` (the ``k`` distances, nearest first) and ``labels`` (the matching neighbour
labels). ``predict_batch`` answers several requests with one search (the serving process's
micro-batch), each answer the one ``predict`` gives that request alone.

``distances`` are, by ``index_metric``: ``L2`` the Euclidean distance (not squared);
``COSINE`` the cosine distance ``1 - cos``; ``INNER_PRODUCT`` the inner product itself, largest
(nearest) first. With a dimension reduction they are measured in the reduced space, and with
``faiss.IVFPQ`` they are the index's approximations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common import decode_features, negotiate_accept
from openmaker.algorithms.common import predict_batch as answer_batch
from openmaker.algorithms.knn import index as faiss_index
from openmaker.algorithms.knn.encode import encode
from openmaker.algorithms.knn.projection import Embedding, Projection
from openmaker.algorithms.knn.spec import (
    PREDICTOR_TYPES,
    REQUEST_CONTENT_TYPES,
    RESPONSE_CONTENT_TYPES,
)
from openmaker.algorithms.knn.vote import LabelCodes, classify, regress
from openmaker.errors import AlgorithmError, DataFormatError, ValidationError

INDEX_FILE = "model_algo-1"
LABELS_FILE = "model_algo-1.labels"
META_FILE = "model_algo-1.json"
FORMAT_VERSION = "1.0"

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def _verbose(params: dict[str, str]) -> bool:
    raw = params.get("verbose")
    if raw is None:
        return False
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(f"Accept parameter verbose={raw!r} is not valid; allowed: true, false")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class KNNModel:
    """A trained k-NN model: a faiss index of sampled points and their labels.

    Args:
        index: the faiss index (ids 0..ntotal-1).
        labels: (ntotal,) labels of the indexed points.
        meta: the metadata (see the module docstring); ``k`` and ``predictor_type`` required.

    Raises:
        ValidationError: inconsistent parts (labels vs index size, ``k`` out of range, unknown
            ``predictor_type``).
    """

    def __init__(self, index: Any, labels: np.ndarray, meta: dict[str, Any]) -> None:
        self.index = index
        self.labels = np.ascontiguousarray(labels, dtype=np.float32).reshape(-1)
        self.meta = dict(meta)
        ntotal = int(index.ntotal)
        if len(self.labels) != ntotal:
            raise ValidationError(
                f"inconsistent k-NN model: {ntotal} indexed points but {len(self.labels)} labels"
            )
        k = self.meta.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= ntotal:
            raise ValidationError(
                f"{META_FILE}: k={k!r} is not valid; allowed: an integer in [1, {ntotal}] "
                "(the number of indexed points)"
            )
        if self.meta.get("predictor_type") not in PREDICTOR_TYPES:
            raise ValidationError(
                f"{META_FILE}: predictor_type={self.meta.get('predictor_type')!r} is not valid; "
                f"allowed: {', '.join(PREDICTOR_TYPES)}"
            )
        self.k = k
        self.predictor_type: str = self.meta["predictor_type"]
        self.metric: str = self.meta.get("index_metric", "L2")
        self.feature_dim = int(self.meta.get("feature_dim", index.d))
        reduction = self.meta.get("dimension_reduction")
        self.embedding = Embedding(
            feature_dim=self.feature_dim,
            index_dim=int(index.d),
            projection=Projection.from_meta(reduction) if reduction else None,
            normalize=bool(self.meta.get("normalize", False)),
        )
        nlist = faiss_index.nlist_of(index)
        self.nprobe = int(self.meta.get("nprobe", faiss_index.default_nprobe(nlist or 1)))
        self._codes: LabelCodes | None = None

    # --- persistence -----------------------------------------------------------------------
    @classmethod
    def load(cls, model_dir: str | Path) -> KNNModel:
        """Load the three ``model_algo-1*`` files from the folder model.tar.gz unpacked into."""
        root = Path(model_dir)
        for name in (INDEX_FILE, LABELS_FILE, META_FILE):
            if not (root / name).exists():
                raise ValidationError(f"{root / name} not found: not a k-NN model")
        try:
            meta = json.loads((root / META_FILE).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{root / META_FILE}: not valid JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise ValidationError(f"{root / META_FILE}: expected a JSON object")
        try:
            index = faiss_index.deserialize((root / INDEX_FILE).read_bytes())
        except RuntimeError as exc:
            raise ValidationError(f"{root / INDEX_FILE}: not a faiss index ({exc})") from None
        labels = np.fromfile(root / LABELS_FILE, dtype="<f4")
        return cls(index, labels, meta)

    def save(self, model_dir: str | Path) -> None:
        """Write the three ``model_algo-1*`` files (each atomically)."""
        root = Path(model_dir)
        _write_atomic(root / INDEX_FILE, faiss_index.serialize(self.index))
        _write_atomic(root / LABELS_FILE, self.labels.astype("<f4").tobytes())
        meta = {**self.meta, "k": self.k, "predictor_type": self.predictor_type}
        text = json.dumps(meta, sort_keys=True, indent=1) + "\n"
        _write_atomic(root / META_FILE, text.encode())

    # --- properties ------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        """Number of indexed (sampled) points."""
        return int(self.index.ntotal)

    @property
    def label_codes(self) -> LabelCodes:
        """The distinct labels and each indexed point's class code (computed once)."""
        if self._codes is None:
            self._codes = LabelCodes(self.labels)
        return self._codes

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct labels of the indexed points."""
        return self.label_codes.classes

    # --- inference -------------------------------------------------------------------------
    def checked(self, X: Any) -> Any:
        """``X`` as float32 rows ``feature_dim`` wide (dense or CSR).

        Raises:
            DataFormatError: wrong width, a sparse index beyond ``feature_dim``, NaN or infinity.
        """
        d = self.feature_dim
        if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
            import scipy.sparse as sp

            X = sp.csr_matrix(X, dtype=np.float32)
            if X.shape[1] > d:
                raise DataFormatError(
                    f"a record has feature index {X.shape[1] - 1}; the model has {d} features "
                    f"(indices 0..{d - 1})"
                )
            if X.shape[1] < d:
                X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
            values = X.data
        else:
            X = np.asarray(X)
            if X.ndim == 1:
                X = X.reshape(1, -1)
            if X.ndim != 2 or X.shape[1] != d:
                raise DataFormatError(f"records have {X.shape[-1]} features; the model has {d}")
            X = np.ascontiguousarray(X, dtype=np.float32)
            values = X
        if values.size and not np.isfinite(values).all():
            raise DataFormatError("a record holds NaN or an infinite value")
        return X

    def kneighbors(self, X: Any, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest indexed points of each row: ``(distances, ids)``, (n, k) each.

        Distances follow ``index_metric`` (see the module docstring), nearest first; ``ids``
        are positions in the index (row order of the sample).

        Raises:
            DataFormatError: see :meth:`checked`.
            ValidationError: ``k`` outside [1, number of indexed points].
        """
        k = self.k if k is None else int(k)
        if not 1 <= k <= self.n_points:
            raise ValidationError(f"k={k} is not valid; allowed: [1, {self.n_points}]")
        Q = self.embedding(self.checked(X))
        scores, ids = faiss_index.search(self.index, Q, k, self.nprobe)
        if ids.size and ids.min() < 0:
            raise AlgorithmError(f"the index returned fewer than k={k} neighbours")
        if self.metric == "L2":
            np.maximum(scores, 0.0, out=scores)
            dist = np.sqrt(scores, out=scores)
        elif self.metric == "COSINE":
            dist = np.subtract(np.float32(1.0), scores, out=scores)
        else:
            dist = scores
        return dist, ids

    def predict_from_neighbours(self, ids: np.ndarray) -> np.ndarray:
        """Predicted labels (float32) from the neighbour ids: vote or mean."""
        if self.predictor_type == "classifier":
            return classify(self.label_codes.codes[ids], self.label_codes)
        return regress(self.labels[ids])

    def predict_array(self, X: Any) -> np.ndarray:
        """Predicted labels (float32) of the rows of ``X`` (dense or CSR)."""
        _, ids = self.kneighbors(X)
        return self.predict_from_neighbours(ids)

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request: ``predicted_label`` per record (+ neighbours when verbose)."""
        media, verbose = _response_type(accept)  # 415 before any work
        X = decode_features(body, content_type, REQUEST_CONTENT_TYPES)
        dist, ids = self.kneighbors(X)
        pred = self.predict_from_neighbours(ids)
        return encode(_fields(pred, dist, self.labels[ids] if verbose else None), media), media

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several requests with one search (the serving process's micro-batch).

        Each answer is what :meth:`predict` gives that request alone, verbose or not.
        """
        return answer_batch(
            requests,
            decode=lambda body, ct: decode_features(body, ct, REQUEST_CONTENT_TYPES),
            predict_rows=self._output_rows,
            encode=self._encode_rows,
            check_accept=_response_type,
        )

    def _output_rows(self, X: Any) -> np.ndarray:
        """(n, 1 + 2k) float32: the predicted label, the k distances, the k neighbour labels."""
        dist, ids = self.kneighbors(X)
        pred = self.predict_from_neighbours(ids)
        return np.column_stack([pred, dist, self.labels[ids]]).astype(np.float32, copy=False)

    def _encode_rows(self, rows: np.ndarray, accept: str | None) -> tuple[bytes, str]:
        media, verbose = _response_type(accept)
        k = self.k
        labels = rows[:, 1 + k :] if verbose else None
        return encode(_fields(rows[:, 0], rows[:, 1 : 1 + k], labels), media), media


def _response_type(accept: str | None) -> tuple[str, bool]:
    """The response media type and whether ``verbose=true`` was asked (415 / 400 otherwise)."""
    media, params = negotiate_accept(accept, RESPONSE_CONTENT_TYPES)
    return media, _verbose(params)


def _fields(
    pred: np.ndarray, dist: np.ndarray, labels: np.ndarray | None
) -> list[tuple[str, np.ndarray]]:
    """The response columns: ``predicted_label``, then ``distances`` and ``labels`` (verbose,
    when ``labels`` is given)."""
    fields = [("predicted_label", pred)]
    if labels is not None:
        fields += [("distances", dist), ("labels", labels)]
    return fields
