"""RecordIO-protobuf (``application/x-recordio-protobuf``): framing, decoding and encoding.

Framing (dmlc-core RecordIO, section 9.1 of the tabular reference): each record is
``uint32 magic 0xCED7230A | uint32 (cflag << 29 | length) | payload | zero padding to 4 bytes``,
little-endian. ``cflag`` 1/2/3 mark the first/middle/last part of a record that the dmlc writer
split where the magic appeared inside the payload; the parts are joined with the magic put back.

Payloads are ``aialgs.data.Record`` messages. Two decoders exist:

* a vectorised one for runs of records that share one layout and differ only in the bytes of
  their (fixed-width) float values: dense ``Float32Tensor``/``Float64Tensor`` features under
  ``"values"`` with an optional dense label, exactly what the SageMaker SDK writes. A run is
  checked byte for byte against a template record parsed with protobuf, then sliced with numpy;
* the protobuf classes (:mod:`openmaker.data.record_proto`) for everything else (sparse
  tensors, ``Int32Tensor``, varying widths, extra fields).

Record indices in error messages are 0-based and count logical records (a multi-part record
counts once).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_MASK = (1 << 29) - 1
_HEADER = struct.Struct("<II")

# Runs shorter than this are decoded with protobuf; the template check is not worth it.
_MIN_FAST_RUN = 4


def _padded(length: int) -> int:
    return (length + 3) & ~3


# --- framing ----------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    """One RecordIO frame around ``payload`` (cflag 0, as the SageMaker SDK writes)."""
    pad = _padded(len(payload)) - len(payload)
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\x00" * pad


@dataclass
class _Run:
    """``count`` consecutive cflag-0 frames of one payload ``length``, starting at ``start``."""

    start: int
    count: int
    length: int

    @property
    def stride(self) -> int:
        return 8 + _padded(self.length)


def _scan(
    buf: bytes | bytearray | memoryview, pos: int, final: bool, source: str | None, index: int
) -> tuple[list[_Run | bytes], int, int]:
    """Split ``buf[pos:]`` into complete records.

    Returns:
        (pieces, new_pos, new_index): each piece is a :class:`_Run` of frames or one joined
        multi-part payload; ``new_pos`` is where the first incomplete record starts.

    Raises:
        DataFormatError: bad magic, a stray continuation part, or (when ``final``) a record
            cut short by the end of the data.
    """
    n = len(buf)
    pieces: list[_Run | bytes] = []
    while pos < n:
        if pos + 8 > n:
            break
        magic, lrec = _HEADER.unpack_from(buf, pos)
        if magic != MAGIC:
            raise DataFormatError(
                f"bad RecordIO magic 0x{magic:08X} at byte offset {pos} (expected 0x{MAGIC:08X}); "
                "the data is not recordio-protobuf or is corrupt",
                source=source,
                record=index,
            )
        cflag, length = lrec >> 29, lrec & LENGTH_MASK
        if cflag == 0:
            stride = 8 + _padded(length)
            k = (n - pos) // stride
            if k == 0:
                if final and pos + 8 + length <= n:  # unpadded last record: accept it
                    pieces.append(_Run(pos, 1, length))
                    pos, index = n, index + 1
                break
            if k > 1:
                hdr = np.ndarray((k, 2), dtype="<u4", buffer=buf, offset=pos, strides=(stride, 4))
                ok = (hdr[:, 0] == MAGIC) & (hdr[:, 1] == lrec)
                k = k if bool(ok.all()) else int(np.argmin(ok))
            pieces.append(_Run(pos, k, length))
            pos += k * stride
            index += k
            continue
        if cflag != 1:
            raise DataFormatError(
                f"RecordIO continuation part (cflag {cflag}) without a first part at byte "
                f"offset {pos}",
                source=source,
                record=index,
            )
        joined = _join_parts(buf, pos, source, index)
        if joined is None:
            break
        payload, pos = joined
        pieces.append(payload)
        index += 1
    if final and pos < n:
        raise DataFormatError(
            f"truncated record: {n - pos} bytes left at the end of the data, a record header "
            "says more follow",
            source=source,
            record=index,
        )
    return pieces, pos, index


def _join_parts(
    buf: bytes | bytearray | memoryview, pos: int, source: str | None, index: int
) -> tuple[bytes, int] | None:
    """Join a multi-part record starting at ``pos``; ``None`` when it is incomplete."""
    n = len(buf)
    parts: list[bytes] = []
    while True:
        if pos + 8 > n:
            return None
        magic, lrec = _HEADER.unpack_from(buf, pos)
        if magic != MAGIC:
            raise DataFormatError(
                f"bad RecordIO magic 0x{magic:08X} inside a multi-part record at byte offset {pos}",
                source=source,
                record=index,
            )
        cflag, length = lrec >> 29, lrec & LENGTH_MASK
        if parts and cflag not in (2, 3):
            raise DataFormatError(
                f"multi-part record interrupted by a part with cflag {cflag} at byte offset {pos}",
                source=source,
                record=index,
            )
        end = pos + 8 + length
        if end > n:
            return None
        parts.append(bytes(buf[pos + 8 : end]))
        if cflag == 3:
            return MAGIC_BYTES.join(parts), pos + 8 + _padded(length)
        # The dmlc writer pads only after the last part.
        pos = end


def iter_payloads(
    data: bytes | bytearray | memoryview, source: str | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(record_index, payload)`` for every record in ``data`` (multi-part records joined)."""
    pieces, _, _ = _scan(data, 0, True, source, 0)
    index = 0
    for piece in pieces:
        if isinstance(piece, _Run):
            for i in range(piece.count):
                start = piece.start + i * piece.stride + 8
                yield index, bytes(data[start : start + piece.length])
                index += 1
        else:
            yield index, piece
            index += 1


# --- decoding ---------------------------------------------------------------------------------


@dataclass
class _Template:
    """The byte layout shared by a run of dense records."""

    payload: np.ndarray  # uint8, the template record's payload
    feat: tuple[int, int, str]  # (start, stop, numpy dtype) of the packed feature values
    label: tuple[int, int, str] | None


_DTYPES = {"float32_tensor": "<f4", "float64_tensor": "<f8"}


def _dense_tensor(value: Any) -> tuple[str, Any] | None:
    kind = value.WhichOneof("value")
    if kind not in _DTYPES:
        return None
    tensor = getattr(value, kind)
    if len(tensor.keys) or len(tensor.shape) or not len(tensor.values):
        return None
    return kind, tensor


def _template(payload: bytes) -> _Template | None:
    """A template for the vectorised decoder, or ``None`` when ``payload`` does not fit one."""
    msgs = _messages()
    rec = msgs.Record()
    try:
        rec.ParseFromString(payload)
    except Exception:
        return None
    if list(rec.features) != ["values"] or len(rec.label) > 1:
        return None
    if rec.HasField("uid") or rec.HasField("metadata") or rec.HasField("configuration"):
        return None
    feat = _dense_tensor(rec.features["values"])
    if feat is None:
        return None
    label = None
    if len(rec.label):
        if list(rec.label) != ["values"]:
            return None
        label = _dense_tensor(rec.label["values"])
        if label is None:
            return None
    if rec.SerializeToString() != payload:  # not the canonical layout: decode with protobuf
        return None
    only_features = msgs.Record()
    only_features.features["values"].CopyFrom(rec.features["values"])
    fstop = len(only_features.SerializeToString())
    fdtype = _DTYPES[feat[0]]
    fstart = fstop - np.dtype(fdtype).itemsize * len(feat[1].values)
    lspan = None
    if label is not None:
        ldtype = _DTYPES[label[0]]
        lstart = len(payload) - np.dtype(ldtype).itemsize * len(label[1].values)
        lspan = (lstart, len(payload), ldtype)
    return _Template(np.frombuffer(payload, dtype=np.uint8), (fstart, fstop, fdtype), lspan)


def _fast_run(buf: bytes | bytearray | memoryview, run: _Run, tmpl: _Template) -> Dataset | None:
    """Decode a run with numpy, or ``None`` when some record differs from the template."""
    rows = np.ndarray(
        (run.count, run.length), dtype=np.uint8, buffer=buf, offset=run.start + 8,
        strides=(run.stride, 1),
    )  # fmt: skip
    fstart, fstop, fdtype = tmpl.feat
    fixed = [(0, fstart), (fstop, tmpl.label[0] if tmpl.label else run.length)]
    for a, b in fixed:
        if b > a and not (rows[:, a:b] == tmpl.payload[a:b]).all():
            return None
    X = np.ascontiguousarray(rows[:, fstart:fstop]).view(fdtype)
    X = X.astype(np.float32, copy=False) if fdtype == "<f4" else X.astype(np.float32)
    y = None
    if tmpl.label is not None:
        lstart, lstop, ldtype = tmpl.label
        y = np.ascontiguousarray(rows[:, lstart:lstop]).view(ldtype).astype(np.float32)
        if y.shape[1] == 1:
            y = y.ravel()
    return Dataset(X=np.ascontiguousarray(X, dtype=np.float32), y=y)


def _messages() -> Any:
    from openmaker.data.record_proto import messages

    return messages()


def _tensor_arrays(value: Any) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """(values as float32, keys as int64, shape) of a numeric ``Value``; ``None`` for bytes."""
    kind = value.WhichOneof("value")
    if kind is None or kind == "bytes":
        return None
    tensor = getattr(value, kind)
    vals = np.array(tensor.values, dtype=np.float32)
    keys = np.array(tensor.keys, dtype=np.int64)
    return vals, keys, list(tensor.shape)


class _Accumulator:
    """Collects records decoded one by one and builds a dense or CSR dataset."""

    def __init__(self, source: str | None, keep_labels: bool) -> None:
        self.source = source
        self.keep_labels = keep_labels
        self.values: list[np.ndarray] = []
        self.keys: list[np.ndarray | None] = []
        self.width = 0
        self.sparse = False
        self.labels: list[np.ndarray | None] = []

    def add(self, payload: bytes, index: int) -> None:
        rec = _messages().Record()
        try:
            rec.ParseFromString(payload)
        except Exception as exc:
            raise DataFormatError(
                f"record is not a valid aialgs.data.Record protobuf message ({exc})",
                source=self.source,
                record=index,
            ) from None
        if "values" not in rec.features:
            raise DataFormatError(
                'record has no features["values"] tensor', source=self.source, record=index
            )
        feat = _tensor_arrays(rec.features["values"])
        if feat is None:
            raise DataFormatError(
                'features["values"] is a Bytes value; only numeric tensors are supported here',
                source=self.source,
                record=index,
            )
        vals, keys, shape = feat
        # A sparse row with no non-zeros has no keys either; its shape still gives the width.
        if len(keys) or (shape and not len(vals) and int(np.prod(shape)) > 0):
            if not shape:
                raise DataFormatError(
                    "sparse tensor (keys given) without a shape", source=self.source, record=index
                )
            if len(keys) != len(vals):
                raise DataFormatError(
                    f"sparse tensor has {len(keys)} keys but {len(vals)} values",
                    source=self.source,
                    record=index,
                )
            width = int(np.prod(shape))
            if len(keys) and (keys.max() >= width or keys.min() < 0):
                raise DataFormatError(
                    f"sparse tensor key {int(keys.max())} is outside its shape {shape}",
                    source=self.source,
                    record=index,
                )
            self.sparse = True
            self.keys.append(keys)
        else:
            width = int(np.prod(shape)) if shape else len(vals)
            if width != len(vals):
                raise DataFormatError(
                    f"dense tensor has {len(vals)} values but shape {shape}",
                    source=self.source,
                    record=index,
                )
            self.keys.append(None)
        if not self.sparse and self.values and width != self.width:
            raise DataFormatError(
                f"record has {width} features, earlier records have {self.width}",
                source=self.source,
                record=index,
            )
        self.width = max(self.width, width)
        self.values.append(vals)
        label = None
        if self.keep_labels:
            if "values" in rec.label:
                lab = _tensor_arrays(rec.label["values"])
                if lab is None:
                    raise DataFormatError(
                        'label["values"] is not a numeric tensor', source=self.source, record=index
                    )
                label = lab[0]
            if self.labels and (label is None) != (self.labels[0] is None):
                raise DataFormatError(
                    "some records have a label and others do not", source=self.source, record=index
                )
        self.labels.append(label)

    def build(self) -> Dataset:
        n = len(self.values)
        if self.sparse:
            import scipy.sparse as sp

            cols = [
                k if k is not None else np.arange(len(v))
                for k, v in zip(self.keys, self.values, strict=True)
            ]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum([len(v) for v in self.values], out=indptr[1:])
            X: Any = sp.csr_matrix(
                (
                    np.concatenate(self.values) if n else np.zeros(0, np.float32),
                    np.concatenate(cols) if n else np.zeros(0, np.int64),
                    indptr,
                ),
                shape=(n, self.width),
                dtype=np.float32,
            )
            X.sort_indices()
        else:
            X = np.stack(self.values) if n else np.zeros((0, self.width), np.float32)
        y = None
        if n and self.labels[0] is not None:
            widths = {len(lab) for lab in self.labels}  # type: ignore[arg-type]
            if len(widths) != 1:
                raise DataFormatError(
                    f"records have labels of different lengths {sorted(widths)}",
                    source=self.source,
                )
            y = np.stack(self.labels)  # type: ignore[arg-type]
            if y.shape[1] == 1:
                y = y.ravel()
        return Dataset(X=X, y=y)


def _decode_pieces(
    buf: bytes | bytearray | memoryview,
    pieces: list[_Run | bytes],
    index: int,
    source: str | None,
    keep_labels: bool,
) -> list[Dataset]:
    out: list[Dataset] = []
    acc = _Accumulator(source, keep_labels)

    def flush() -> None:
        nonlocal acc
        if acc.values:
            out.append(acc.build())
            acc = _Accumulator(source, keep_labels)

    for piece in pieces:
        if isinstance(piece, _Run) and piece.count >= _MIN_FAST_RUN:
            first = bytes(buf[piece.start + 8 : piece.start + 8 + piece.length])
            tmpl = _template(first)
            ds = _fast_run(buf, piece, tmpl) if tmpl is not None else None
            if ds is not None:
                flush()
                out.append(ds if keep_labels else Dataset(X=ds.X))
                index += piece.count
                continue
        if isinstance(piece, _Run):
            for i in range(piece.count):
                start = piece.start + i * piece.stride + 8
                acc.add(bytes(buf[start : start + piece.length]), index)
                index += 1
        else:
            acc.add(piece, index)
            index += 1
    flush()
    return out


def _merge(parts: list[Dataset], source: str | None) -> Dataset | None:
    from openmaker.data.dataset import concat

    if not parts:
        return None
    if len({p.y is None for p in parts}) > 1:
        raise DataFormatError("some records have a label and others do not", source=source)
    if not any(p.is_sparse for p in parts) and len({p.n_features for p in parts}) > 1:
        raise DataFormatError(
            f"records have different numbers of features {sorted({p.n_features for p in parts})}",
            source=source,
        )
    ys = [p.y for p in parts if p.y is not None]
    if ys and len({1 if y.ndim == 1 else y.shape[1] for y in ys}) > 1:
        raise DataFormatError("records have labels of different lengths", source=source)
    return concat(parts)


def decode_bytes(
    data: bytes | memoryview, source: str | None = None, *, keep_labels: bool = True
) -> Dataset | None:
    """Decode a whole recordio-protobuf buffer; ``None`` when it holds no records."""
    pieces, _, _ = _scan(data, 0, True, source, 0)
    return _merge(_decode_pieces(data, pieces, 0, source, keep_labels), source)


def iter_file(
    fh: IO[bytes],
    source: str | None,
    *,
    keep_labels: bool = True,
    target_rows: int = 10_000,
) -> Iterator[Dataset]:
    """Stream a recordio-protobuf file object, yielding decoded blocks of whole records.

    Reads ``fh`` in chunks sized to hold roughly ``target_rows`` records, so memory is bounded
    by the batch, not the file.
    """
    chunk = 1 << 16
    buf = b""
    pos = 0
    index = 0
    sized = False
    while True:
        data = fh.read(chunk)
        final = not data
        buf = buf[pos:] + data if pos < len(buf) else data
        pos = 0
        start_index = index
        pieces, pos, index = _scan(buf, 0, final, source, index)
        if pieces:
            if not sized and index > start_index:
                per_record = max(1, pos // (index - start_index))
                chunk = int(min(max(per_record * target_rows, 1 << 16), 1 << 27))
                sized = True
            merged = _merge(_decode_pieces(buf, pieces, start_index, source, keep_labels), source)
            if merged is not None:
                yield merged
        elif not final and len(buf) - pos >= chunk:
            chunk *= 2  # one record larger than the chunk: read more before scanning again
        if final:
            return


# --- encoding ---------------------------------------------------------------------------------


def _dense_template(width: int, label_width: int) -> tuple[bytes, int, int]:
    """The payload of an all-zero dense record, and where its feature/label values start."""
    msgs = _messages()
    rec = msgs.Record()
    rec.features["values"].float32_tensor.values.extend([0.0] * width)
    fstop = len(rec.SerializeToString())
    if label_width:
        rec.label["values"].float32_tensor.values.extend([0.0] * label_width)
    payload = rec.SerializeToString()
    return payload, fstop - 4 * width, len(payload) - 4 * label_width


def encode_dense(X: np.ndarray, y: np.ndarray | None = None) -> bytes:
    """Frames for dense rows, byte-identical to the SDK's ``write_numpy_to_dense_tensor`` with
    float32 data (``features["values"]`` and ``label["values"]`` as ``Float32Tensor``)."""
    X = np.asarray(X, dtype="<f4")
    n, width = X.shape
    if n == 0:
        return b""
    labels = None
    if y is not None:
        labels = np.asarray(y, dtype="<f4").reshape(n, -1)
    lw = 0 if labels is None else labels.shape[1]
    if width == 0:
        return b"".join(
            _encode_generic(X[i], None, None if labels is None else labels[i]) for i in range(n)
        )
    payload, fstart, lstart = _dense_template(width, lw)
    length = len(payload)
    stride = 8 + _padded(length)
    out = np.zeros((n, stride), dtype=np.uint8)
    out[:, :8] = np.frombuffer(_HEADER.pack(MAGIC, length), dtype=np.uint8)
    out[:, 8 : 8 + length] = np.frombuffer(payload, dtype=np.uint8)
    out[:, 8 + fstart : 8 + fstart + 4 * width] = X.view(np.uint8).reshape(n, 4 * width)
    if labels is not None:
        out[:, 8 + lstart : 8 + lstart + 4 * lw] = np.ascontiguousarray(labels).view(np.uint8)
    return out.tobytes()


def _encode_generic(
    values: np.ndarray, keys: np.ndarray | None, label: np.ndarray | None, shape: int | None = None
) -> bytes:
    rec = _messages().Record()
    tensor = rec.features["values"].float32_tensor
    tensor.values.extend(np.asarray(values, dtype=np.float32).tolist())
    if keys is not None:
        tensor.keys.extend(np.asarray(keys, dtype=np.uint64).tolist())
        tensor.shape.append(int(shape or 0))
    if label is not None:
        rec.label["values"].float32_tensor.values.extend(
            np.asarray(label, dtype=np.float32).ravel().tolist()
        )
    return frame(rec.SerializeToString())


def encode_sparse(X: Any, y: np.ndarray | None = None) -> bytes:
    """Frames for CSR rows, like the SDK's ``write_spmatrix_to_sparse_tensor``: each row's
    non-zeros as ``values``, their column indices as ``keys`` and ``shape = [n_cols]``."""
    import scipy.sparse as sp

    m = sp.csr_matrix(X, dtype=np.float32)
    m.sort_indices()
    n, width = m.shape
    labels = None if y is None else np.asarray(y, dtype=np.float32).reshape(n, -1)
    out = []
    for i in range(n):
        a, b = m.indptr[i], m.indptr[i + 1]
        out.append(
            _encode_generic(
                m.data[a:b], m.indices[a:b], None if labels is None else labels[i], width
            )
        )
    return b"".join(out)


def encode_dataset(ds: Dataset) -> bytes:
    """Frames for every row of a dataset (weights are not part of the format and are dropped)."""
    if ds.is_sparse:
        return encode_sparse(ds.X, ds.y)
    return encode_dense(ds.X, ds.y)


# --- generic records --------------------------------------------------------------------------


def _value_dict(value: Any) -> dict[str, Any]:
    kind = value.WhichOneof("value")
    if kind == "bytes":
        b = value.bytes
        return {"value": list(b.value), "content_type": b.content_type or None}
    if kind is None:
        return {"values": np.zeros(0, np.float32), "keys": np.zeros(0, np.uint64), "shape": []}
    tensor = getattr(value, kind)
    dtype = {"float32_tensor": np.float32, "float64_tensor": np.float64, "int32_tensor": np.int32}
    return {
        "values": np.array(tensor.values, dtype=dtype[kind]),
        "keys": np.array(tensor.keys, dtype=np.uint64),
        "shape": list(tensor.shape),
    }


def read_records(
    body_or_file: bytes | bytearray | memoryview | IO[bytes],
) -> Iterator[dict[str, Any]]:
    """Decode every record into plain Python.

    Each record becomes ``{"features": {name: tensor}, "label": {name: tensor}, "uid": ...,
    "metadata": ..., "configuration": ...}``, where a numeric tensor is ``{"values": ndarray,
    "keys": ndarray[uint64], "shape": [int]}`` and a ``Bytes`` value is ``{"value": [bytes],
    "content_type": str | None}``. Unset string fields are ``None``.

    Args:
        body_or_file: the bytes, or a binary file object read to its end.

    Raises:
        DataFormatError: naming the record index of a corrupt record.
    """
    if isinstance(body_or_file, bytes | bytearray | memoryview):
        data = body_or_file
    else:
        data = body_or_file.read()
    msgs = _messages()
    for index, payload in iter_payloads(data):
        rec = msgs.Record()
        try:
            rec.ParseFromString(payload)
        except Exception as exc:
            raise DataFormatError(
                f"record is not a valid aialgs.data.Record protobuf message ({exc})", record=index
            ) from None
        yield {
            "features": {k: _value_dict(v) for k, v in rec.features.items()},
            "label": {k: _value_dict(v) for k, v in rec.label.items()},
            "uid": rec.uid if rec.HasField("uid") else None,
            "metadata": rec.metadata if rec.HasField("metadata") else None,
            "configuration": rec.configuration if rec.HasField("configuration") else None,
        }


def encode_outputs(rows: Iterable[Any]) -> bytes:
    """Response records: each key of each row into ``label[key]`` as a ``Float32Tensor`` with
    empty keys; ``features`` stays empty (section 0.3 of the tabular reference)."""
    msgs = _messages()
    out = []
    for row in rows:
        rec = msgs.Record()
        for key, value in row.items():
            vals = np.asarray(value, dtype=np.float32).ravel().tolist()
            rec.label[key].float32_tensor.values.extend(vals)
        out.append(frame(rec.SerializeToString()))
    return b"".join(out)
