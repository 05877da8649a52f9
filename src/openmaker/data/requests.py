"""Inference payloads: decoding request bodies into features, encoding recordio responses.

Request bodies carry features only; any label they hold is ignored. The forms follow
SageMaker's first-party algorithms and XGBoost (sections 0.3 and 2.7 of the tabular
reference):

* ``text/csv``: one row per line, no label column; the delimiter is sniffed from the first
  line (a letter or digit falls back to ``,``); empty fields are NaN.
* ``text/libsvm``: ``[label] index:value ...``; a first token without ``:`` is ignored.
* ``application/x-recordio-protobuf``: Records with ``features["values"]``, dense or sparse.
* ``application/json``: ``{"instances": [...]}`` where an instance is
  ``{"features": [...]}``, ``{"data": {"features": {"values": [...]}}}`` or, sparse,
  ``{"data": {"features": {"keys": [...], "shape": [n], "values": [...]}}}``; also a bare
  list of rows (or one bare row of numbers).
* ``application/jsonlines``: one instance (any of the forms above) per line.
* ``application/x-npy``: a numpy ``.npy`` array, 1-D (one row) or 2-D.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from numbers import Real
from typing import IO, Any

import numpy as np

from openmaker import json_input
from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.spec.channels import ContentType, parse_content_type

#: The widest sparse row a request may declare: what a CSR matrix's 64-bit indices address.
MAX_SPARSE_WIDTH = 2**63 - 1

REQUEST_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.LIBSVM,
    ContentType.RECORDIO_PROTOBUF,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.NPY,
)


def decode_request(
    body: bytes, content_type: str, params: Mapping[str, str] | None = None
) -> Dataset:
    """Decode an inference request body into features (``y`` and ``weights`` are ``None``).

    Sparse forms (libsvm, sparse recordio or JSON) give a CSR matrix; the caller pads it to
    the model's width (see :func:`openmaker.data.dataset.fit_width`).

    Raises:
        UnsupportedContentTypeError: for a content type not in :data:`REQUEST_CONTENT_TYPES`.
        DataFormatError: for a malformed body, naming the line (text) or the record/instance
            index (binary, JSON).
    """
    try:
        canonical, ct_params = parse_content_type(content_type)
    except UnsupportedContentTypeError:
        raise UnsupportedContentTypeError(content_type, REQUEST_CONTENT_TYPES) from None
    if canonical not in REQUEST_CONTENT_TYPES:
        raise UnsupportedContentTypeError(content_type, REQUEST_CONTENT_TYPES)
    merged = {**ct_params, **(params or {})}
    if isinstance(body, str):
        body = body.encode("utf-8")
    ds = _DECODERS[canonical](bytes(body), merged)
    if ds.n_rows == 0:
        raise DataFormatError("request body contains no records")
    return ds


def _csv(body: bytes, params: Mapping[str, str]) -> Dataset:
    from openmaker.data import csv

    delimiter = params.get("delimiter") or None
    return Dataset(X=csv.parse_bytes(body, delimiter))


def _libsvm(body: bytes, params: Mapping[str, str]) -> Dataset:
    from openmaker.data import libsvm

    block = libsvm.parse_block(body, None, inference=True)
    return libsvm.block_to_dataset(block, keep_labels=False)


def _recordio(body: bytes, params: Mapping[str, str]) -> Dataset:
    from openmaker.data import recordio

    ds = recordio.decode_bytes(body, keep_labels=False)
    return ds if ds is not None else Dataset(X=np.zeros((0, 0), np.float32))


#: The dtype kinds an .npy request may hold: booleans, integers, floats.
_NPY_KINDS = frozenset("biuf")


def _npy(body: bytes, params: Mapping[str, str]) -> Dataset:
    """A ``.npy`` body, checked against its header before anything is allocated: the header
    may declare any shape and dtype, and ``np.load`` allocates what it declares."""
    from numpy.lib import format as npy_format

    stream = io.BytesIO(body)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise DataFormatError(f"not a readable .npy array: {exc}") from None
    if dtype.kind not in _NPY_KINDS or dtype.hasobject or dtype.fields is not None:
        raise DataFormatError(
            f"the .npy array has dtype {dtype}; expected booleans, integers or floats"
        )
    if len(shape) not in (1, 2):
        raise DataFormatError(f"expected a 1-D or 2-D array, got shape {shape}")
    if int(np.prod(shape, dtype=object)) * dtype.itemsize != len(body) - stream.tell():
        raise DataFormatError(
            f"the .npy header declares shape {shape} of {dtype} ("
            f"{int(np.prod(shape, dtype=object)) * dtype.itemsize} bytes), but "
            f"{len(body) - stream.tell()} bytes follow it"
        )
    arr = np.frombuffer(body, dtype=dtype, offset=stream.tell())
    arr = arr.reshape(shape, order="F" if fortran else "C")
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    return Dataset(X=np.ascontiguousarray(arr, dtype=np.float32))


# --- JSON -------------------------------------------------------------------------------------


class _Rows:
    """Rows collected from JSON instances, dense or sparse."""

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.keys: list[np.ndarray | None] = []
        self.width: int | None = None
        self.sparse_width = 0
        self.sparse = False

    def add_dense(self, values: Any, where: dict[str, Any]) -> None:
        row = _numbers(values, where, "features")
        if not self.sparse and self.width is not None and len(row) != self.width:
            raise DataFormatError(
                f"instance has {len(row)} features, earlier instances have {self.width}", **where
            )
        self.width = len(row) if self.width is None else self.width
        self.values.append(row)
        self.keys.append(None)

    def add_sparse(self, tensor: Mapping[str, Any], where: dict[str, Any]) -> None:
        values = _numbers(tensor.get("values", []), where, "values")
        keys = _numbers(tensor.get("keys", []), where, "keys", np.float64)  # exact to 2**53
        shape = tensor.get("shape")
        if not isinstance(shape, list) or not shape or not all(_is_int(s) for s in shape):
            raise DataFormatError("sparse features need a 'shape' list of integers", **where)
        width = math.prod(shape)
        if width > MAX_SPARSE_WIDTH:
            raise DataFormatError(
                f"sparse 'shape' declares more than {MAX_SPARSE_WIDTH} features", **where
            )
        if len(keys) != len(values):
            raise DataFormatError(f"{len(keys)} keys but {len(values)} values", **where)
        if len(keys) and (
            (keys < 0).any() or (keys >= width).any() or (keys != np.floor(keys)).any()
        ):
            raise DataFormatError(f"keys must be integers in [0, {width})", **where)
        self.sparse = True
        self.sparse_width = max(self.sparse_width, width)
        self.values.append(values)
        self.keys.append(keys.astype(np.int64))

    def build(self) -> Dataset:
        n = len(self.values)
        if not self.sparse:
            if n == 0:
                return Dataset(X=np.zeros((0, 0), np.float32))
            return Dataset(X=np.ascontiguousarray(np.stack(self.values)))
        import scipy.sparse as sp

        width = max(self.sparse_width, self.width or 0)
        cols = [
            k if k is not None else np.arange(len(v))
            for k, v in zip(self.keys, self.values, strict=True)
        ]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(v) for v in self.values], out=indptr[1:])
        X = sp.csr_matrix(
            (np.concatenate(self.values), np.concatenate(cols), indptr),
            shape=(n, width),
            dtype=np.float32,
        )
        X.sort_indices()
        return Dataset(X=X)


def _is_number(x: Any) -> bool:
    return (isinstance(x, Real) and not isinstance(x, bool)) or x is None


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


#: The number types ``json.loads`` produces; a list of only these needs no per-value check.
_PLAIN_NUMBERS = frozenset({float, int})


def _numbers(values: Any, where: dict[str, Any], what: str, dtype: Any = np.float32) -> np.ndarray:
    try:
        if isinstance(values, list) and set(map(type, values)) <= _PLAIN_NUMBERS:
            return np.array(values, dtype=dtype)
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            raise DataFormatError(f"{what!r} must be a list of numbers", **where)
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)
    except OverflowError:  # an integer beyond a double: not a number a model takes
        raise DataFormatError(f"{what!r} holds an integer out of range", **where) from None


def _add_instance(rows: _Rows, inst: Any, where: dict[str, Any]) -> None:
    if isinstance(inst, list):
        rows.add_dense(inst, where)
        return
    if not isinstance(inst, dict):
        raise DataFormatError("an instance must be an object or a list of numbers", **where)
    if "features" in inst:
        feats = inst["features"]
    elif isinstance(inst.get("data"), dict) and "features" in inst["data"]:
        feats = inst["data"]["features"]
    else:
        raise DataFormatError(
            "instance has no 'features' (expected {\"features\": [...]} or "
            '{"data": {"features": {"values": [...]}}})',
            **where,
        )
    if isinstance(feats, dict):
        if feats.get("keys"):
            rows.add_sparse(feats, where)
        elif "shape" in feats and not feats.get("values"):
            rows.add_sparse(feats, where)  # an all-zero sparse row
        else:
            rows.add_dense(feats.get("values"), where)
    else:
        rows.add_dense(feats, where)


def _json(body: bytes, params: Mapping[str, str]) -> Dataset:
    doc = json_input.loads(body)
    rows = _Rows()
    if isinstance(doc, dict) and "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise DataFormatError("'instances' must be a list")
    elif isinstance(doc, dict):
        instances = [doc]
    elif isinstance(doc, list) and doc and all(_is_number(v) for v in doc):
        instances = [doc]  # one bare row
    elif isinstance(doc, list):
        instances = doc
    else:
        raise DataFormatError("expected an object with 'instances' or a list of rows")
    for i, inst in enumerate(instances):
        _add_instance(rows, inst, {"record": i})
    return rows.build()


def _jsonlines(body: bytes, params: Mapping[str, str]) -> Dataset:
    rows = _Rows()
    for lineno, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        doc = json_input.loads(raw, line=lineno)
        where = {"line": lineno}
        if isinstance(doc, dict) and isinstance(doc.get("instances"), list):
            for inst in doc["instances"]:
                _add_instance(rows, inst, where)
        else:
            _add_instance(rows, doc, where)
    return rows.build()


_DECODERS = {
    ContentType.CSV: _csv,
    ContentType.LIBSVM: _libsvm,
    ContentType.RECORDIO_PROTOBUF: _recordio,
    ContentType.JSON: _json,
    ContentType.JSONLINES: _jsonlines,
    ContentType.NPY: _npy,
}


# --- responses --------------------------------------------------------------------------------


def encode_recordio_outputs(rows: Sequence[Mapping[str, float | Sequence[float]]]) -> bytes:
    """Encode per-record outputs as recordio-protobuf, the first-party response format.

    Each key of a row becomes ``Record.label[key]``, a ``Float32Tensor`` with the value(s) and
    empty keys; ``features`` stays empty. ``[{"score": 0.3}, {"score": 0.9}]`` gives two
    records whose ``label["score"].float32_tensor.values`` are ``[0.3]`` and ``[0.9]``.
    """
    from openmaker.data import recordio

    return recordio.encode_outputs(rows)


def read_records(
    body_or_file: bytes | bytearray | memoryview | IO[bytes],
) -> Iterator[dict[str, Any]]:
    """Decode recordio-protobuf into plain dicts.

    See :func:`openmaker.data.recordio.read_records` for the shape of each record.
    """
    from openmaker.data import recordio

    return recordio.read_records(body_or_file)
