"""RecordIO-protobuf (``application/x-recordio-protobuf``): framing, decoding and encoding.

Framing (dmlc-core RecordIO, section 9.1 of the tabular reference): each record is
``uint32 magic 0xCED7230A | uint32 (cflag << 29 | length) | payload | zero padding to 4 bytes``,
little-endian. ``cflag`` 1/2/3 mark the first/middle/last part of a record that the dmlc writer
split where the magic appeared inside the payload; the parts are joined with the magic put back.

Payloads are ``aialgs.data.Record`` messages. Three decoders exist:

* a vectorised one for runs of records that share one layout and differ only in the bytes of
  their (fixed-width) float values: dense ``Float32Tensor``/``Float64Tensor`` features under
  ``"values"`` with an optional dense label, exactly what the SageMaker SDK writes. A run is
  checked byte for byte against a template record parsed with protobuf, then sliced with numpy;
* a vectorised parser of the protobuf wire format (:mod:`openmaker.data.recordio_sparse`) for
  ``Float32Tensor`` records of any length, sparse (``keys`` + ``shape``, what
  ``write_spmatrix_to_sparse_tensor`` writes) or dense, with an optional float32 label;
* the protobuf classes (:mod:`openmaker.data.record_proto`) for everything else
  (``Float64Tensor``/``Int32Tensor`` rows of varying widths, ``uid``, extra map keys, fields in
  another order, multi-part records) and for every record the others refuse, so that malformed
  input gets the same error naming the record whichever decoder met it first.

All three feed one accumulator that applies the same checks in record order, so the result
(and the error, for bad input) does not depend on which decoder read which record.

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
from openmaker.data.recordio_sparse import ParsedRecords, encode_csr_records, parse_records
from openmaker.errors import DataFormatError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_MASK = (1 << 29) - 1
_HEADER = struct.Struct("<II")

# Runs shorter than this are decoded with protobuf; the template check is not worth it.
_MIN_FAST_RUN = 4
# Frames of one length in a row from which the scan stops looking for headers by their magic.
_MIN_STRIDED_RUN = 64


def _padded(length: int) -> int:
    return (length + 3) & ~3


# --- framing ----------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    """One RecordIO frame around ``payload`` (cflag 0, as the SageMaker SDK writes)."""
    pad = _padded(len(payload)) - len(payload)
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\x00" * pad


@dataclass
class _Run:
    """``count`` consecutive cflag-0 frames of one payload ``length``, starting at ``start``
    (so one ``stride`` apart)."""

    start: int
    count: int
    length: int

    @property
    def stride(self) -> int:
        return 8 + _padded(self.length)


@dataclass
class _Frames:
    """Consecutive complete cflag-0 frames: each one's header offset and payload length."""

    starts: np.ndarray  # int64
    lengths: np.ndarray  # int64

    def payload(self, i: int, buf: bytes | bytearray | memoryview) -> bytes:
        start = int(self.starts[i]) + 8
        return bytes(buf[start : start + int(self.lengths[i])])


def _strided_run(
    buf: bytes | bytearray | memoryview, pos: int, stride: int, lrec: int, k: int
) -> int:
    """How many of the ``k`` frames that fit from ``pos`` at ``stride`` bytes apart have the
    header ``(MAGIC, lrec)``, counted up to the first that does not. Looks in windows that grow
    4x, so a short run costs little and a long one a few passes."""
    done, window = 0, 64
    while done < k:
        m = min(k - done, window)
        hdr = np.ndarray(
            (m, 2), dtype="<u4", buffer=buf, offset=pos + done * stride, strides=(stride, 4)
        )
        ok = (hdr[:, 0] == MAGIC) & (hdr[:, 1] == lrec)
        if not ok.all():
            return done + int(np.argmin(ok))
        done += m
        window *= 4
    return k


def _chain(buf: bytes | bytearray | memoryview, pos: int) -> _Frames:
    """The complete cflag-0 frames that follow each other from ``pos`` (a valid header of one).

    Frames of one length (dense rows) are found by checking their headers at a fixed stride.
    Otherwise it finds every magic number at a 4-byte step from ``pos`` with numpy, then
    follows the lengths from one header to the next. A magic that sits inside a payload (a
    float or a key can spell it) is skipped over because no header points at it; the walk
    stops at the first frame that is incomplete, is a multi-part frame, or is followed by
    something other than a
    header (the caller reports that).
    """
    lrec0 = _HEADER.unpack_from(buf, pos)[1]
    stride = 8 + _padded(lrec0)
    k = (len(buf) - pos) // stride
    run = _strided_run(buf, pos, stride, lrec0, k)
    if run == k or run >= _MIN_STRIDED_RUN:  # frames of one length (dense rows): no search
        return _Frames(pos + stride * np.arange(run, dtype=np.int64), np.full(run, lrec0))
    n_words = (len(buf) - pos) // 4
    words = np.frombuffer(buf, dtype="<u4", count=n_words, offset=pos)
    cand = np.flatnonzero(words == MAGIC)
    cand = cand[cand + 1 < n_words]  # the header must be whole
    lrec = words[cand + 1]
    lengths = (lrec & LENGTH_MASK).astype(np.int64)
    nxt = cand + 2 + ((lengths + 3) >> 2)  # word index of the next header
    good = ((lrec >> 29) == 0) & (nxt <= n_words)
    ok = good.copy()
    ok[:-1] &= nxt[:-1] == cand[1:]
    ok[-1] = False
    breaks = np.flatnonzero(~ok)
    spans = []
    i = 0
    while True:
        j = int(breaks[np.searchsorted(breaks, i)])  # frames i..j-1 lead to frame j
        if not good[j]:
            spans.append((i, j))
            break
        spans.append((i, j + 1))
        after = int(np.searchsorted(cand, nxt[j]))
        if after == len(cand) or cand[after] != nxt[j]:
            break
        i = after  # the magic numbers between j and there were inside frame j's payload
    idx = np.concatenate([np.arange(a, b) for a, b in spans]) if len(spans) > 1 else None
    sel = slice(spans[0][0], spans[0][1]) if idx is None else idx
    return _Frames(pos + 4 * cand[sel].astype(np.int64), lengths[sel])


def _scan(
    buf: bytes | bytearray | memoryview, pos: int, final: bool, source: str | None, index: int
) -> tuple[list[_Frames | bytes], int, int]:
    """Split ``buf[pos:]`` into complete records.

    Returns:
        (pieces, new_pos, new_index): each piece is a :class:`_Frames` of consecutive frames or
        one joined multi-part payload; ``new_pos`` is where the first incomplete record starts.

    Raises:
        DataFormatError: bad magic, a stray continuation part, or (when ``final``) a record
            cut short by the end of the data.
    """
    n = len(buf)
    pieces: list[_Frames | bytes] = []
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
            if pos + 8 + _padded(length) > n:
                if final and pos + 8 + length <= n:  # unpadded last record: accept it
                    pieces.append(_Frames(np.array([pos]), np.array([length])))
                    pos, index = n, index + 1
                break
            frames = _chain(buf, pos)
            pieces.append(frames)
            pos = int(frames.starts[-1]) + 8 + _padded(int(frames.lengths[-1]))
            index += len(frames.starts)
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
        if isinstance(piece, _Frames):
            for i in range(len(piece.starts)):
                yield index, piece.payload(i, data)
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
    """Collects decoded records, one by one (protobuf) or in blocks (vectorised parser), and
    builds a dense or CSR dataset.

    The checks are those of a record-by-record decoder: a block is added only up to its first
    record that would fail a check against the records before it (see :meth:`add_block`).
    """

    def __init__(self, source: str | None, keep_labels: bool) -> None:
        self.source = source
        self.keep_labels = keep_labels
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.width = 0
        self.sparse = False
        self.has_label: bool | None = None  # whether the first record has a label
        # Segments of rows, in order: flat values, values per row, which rows are sparse,
        # flat keys of the sparse rows, flat labels and label widths per row.
        self.values: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.row_sparse: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.label_widths: list[np.ndarray] = []

    def add(self, payload: bytes, index: int) -> None:
        """Add one record decoded with protobuf.

        Raises:
            DataFormatError: naming ``index`` when the record is malformed or disagrees with
                the records before it.
        """
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
        sparse = bool(len(keys) or (shape and not len(vals) and int(np.prod(shape)) > 0))
        if sparse:
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
        else:
            width = int(np.prod(shape)) if shape else len(vals)
            if width != len(vals):
                raise DataFormatError(
                    f"dense tensor has {len(vals)} values but shape {shape}",
                    source=self.source,
                    record=index,
                )
        self.sparse = self.sparse or sparse
        if not self.sparse and self.n and width != self.width:
            raise DataFormatError(
                f"record has {width} features, earlier records have {self.width}",
                source=self.source,
                record=index,
            )
        label = None
        if self.keep_labels:
            if "values" in rec.label:
                lab = _tensor_arrays(rec.label["values"])
                if lab is None:
                    raise DataFormatError(
                        'label["values"] is not a numeric tensor', source=self.source, record=index
                    )
                label = lab[0]
            if self.n and (label is not None) != self.has_label:
                raise DataFormatError(
                    "some records have a label and others do not", source=self.source, record=index
                )
        self._append(
            vals,
            np.array([len(vals)]),
            np.array([sparse]),
            keys if sparse else keys[:0],
            width,
            label,
        )

    def _append(
        self,
        values: np.ndarray,
        counts: np.ndarray,
        row_sparse: np.ndarray,
        keys: np.ndarray,
        width: int,
        labels: np.ndarray | None,
        label_widths: np.ndarray | None = None,
    ) -> None:
        if not self.n:
            self.has_label = labels is not None
        self.n += len(counts)
        self.width = max(self.width, width)
        self.values.append(values)
        self.counts.append(counts)
        self.row_sparse.append(row_sparse)
        self.keys.append(keys)
        if labels is not None:
            self.labels.append(labels)
            self.label_widths.append(
                np.array([len(labels)]) if label_widths is None else label_widths
            )

    def add_block(self, parsed: ParsedRecords, a: int, b: int) -> int:
        """Add records ``a..b-1`` of ``parsed`` (all ``ok``) up to the first one that disagrees
        with the records before it (a dense width that differs while no row so far is sparse,
        a label where the first record has none or the reverse).

        Returns:
            The index (in ``parsed``) of that record, which the caller decodes with protobuf to
            raise the error, or ``b`` when every record was added.
        """
        sparse = parsed.sparse[a:b]
        width = parsed.width[a:b]
        stop = b - a
        sparse_so_far = np.logical_or.accumulate(sparse) | self.sparse
        ref = self.width if self.n else int(width[0])
        bad = ~sparse_so_far & (width != ref)
        if not self.n:
            bad[0] = False
        if self.keep_labels:
            first = self.has_label if self.n else bool(parsed.has_label[a])
            bad |= parsed.has_label[a:b] != first
        if bad.any():
            stop = int(np.argmax(bad))
            if stop == 0:
                return a
        b = a + stop
        sparse = sparse[:stop]
        v = parsed.value_offsets
        k = parsed.key_offsets
        lo = parsed.label_offsets
        labels = None
        if self.keep_labels and bool(parsed.has_label[a]):
            labels = parsed.labels[lo[a] : lo[b]]
        self.sparse = self.sparse or bool(sparse.any())
        self._append(
            parsed.values[v[a] : v[b]],
            parsed.n_values[a:b],
            sparse,
            parsed.keys[k[a] : k[b]],
            int(width[:stop].max()),
            labels,
            parsed.label_width[a:b],
        )
        return b

    def take(self) -> Dataset:
        """The dataset of the records added so far; the accumulator starts over."""
        ds = self._build()
        self._reset()
        return ds

    def _build(self) -> Dataset:
        n = self.n
        values = np.concatenate(self.values) if n else np.zeros(0, np.float32)
        counts = np.concatenate(self.counts)
        if self.sparse:
            import scipy.sparse as sp

            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            X: Any = sp.csr_matrix(
                (values, self._columns(indptr), indptr), shape=(n, self.width), dtype=np.float32
            )
            X.sort_indices()
        else:
            X = values.reshape(n, self.width)
        y = None
        if n and self.has_label and self.keep_labels:
            widths = np.concatenate(self.label_widths)
            distinct = np.unique(widths)
            if len(distinct) != 1:
                raise DataFormatError(
                    f"records have labels of different lengths {distinct.tolist()}",
                    source=self.source,
                )
            y = np.concatenate(self.labels).reshape(n, int(distinct[0]))
            if y.shape[1] == 1:
                y = y.ravel()
        return Dataset(X=X, y=y)

    def _columns(self, indptr: np.ndarray) -> np.ndarray:
        """Column indices: the keys of sparse rows, ``0..len-1`` for dense ones."""
        row_sparse = np.concatenate(self.row_sparse)
        keys = np.concatenate(self.keys)
        if row_sparse.all():
            return keys
        counts = np.diff(indptr)
        cols = np.arange(int(indptr[-1]), dtype=np.int64) - np.repeat(indptr[:-1], counts)
        cols[np.repeat(row_sparse, counts)] = keys
        return cols


_PARSE_CHUNK = 1 << 18  # records per call of the vectorised parser: bounds its temporaries
# Runs of one length above this many are checked for sparse tensors in one vectorised parse
# (~0.3 ms a call) before their templates are tried (~10 us each, with protobuf).
_MIN_PRECHECK_RUNS = 32
# Fewer records than this are decoded with protobuf (~20 us each): the vectorised parser's fixed
# cost (~0.3 ms a call) only pays from here on (a one-record request body, say).
_MIN_VECTOR_RECORDS = 16


def _decode_frames(
    buf: bytes | bytearray | memoryview,
    frames: _Frames,
    index: int,
    acc: _Accumulator,
    out: list[Dataset],
    vectorised: bool,
) -> None:
    """Decode consecutive frames in order: runs of one length that fit a dense template with
    :func:`_fast_run` (each its own part of ``out``), the others into ``acc``."""
    lengths = frames.lengths
    n = len(lengths)
    bounds = np.flatnonzero(lengths[1:] != lengths[:-1]) + 1
    gstart = np.concatenate([[0], bounds])
    gstop = np.concatenate([bounds, [n]])
    big = np.flatnonzero(gstop - gstart >= _MIN_FAST_RUN)
    if vectorised and len(big) > _MIN_PRECHECK_RUNS:
        # The template needs a dense tensor: skip runs whose first record parses as sparse
        # (one vectorised parse for many runs; a few runs are cheaper to try one by one).
        first = gstart[big]
        parsed = parse_records(buf, frames.starts[first] + 8, lengths[first], labels=False)
        big = big[~parsed.sparse]
    pos = 0
    for g in big.tolist():
        a, b = int(gstart[g]), int(gstop[g])
        run = _Run(int(frames.starts[a]), b - a, int(lengths[a]))
        tmpl = _template(frames.payload(a, buf))
        ds = _fast_run(buf, run, tmpl) if tmpl is not None else None
        if ds is None:
            continue
        _decode_records(buf, frames, pos, a, index, acc, vectorised)
        if acc.n:
            out.append(acc.take())
        out.append(ds if acc.keep_labels else Dataset(X=ds.X))
        pos = b
    _decode_records(buf, frames, pos, n, index, acc, vectorised)


def _decode_records(
    buf: bytes | bytearray | memoryview,
    frames: _Frames,
    a: int,
    b: int,
    index: int,
    acc: _Accumulator,
    vectorised: bool,
) -> None:
    """Add frames ``a..b-1`` (record ``index`` is frame 0) to ``acc``, vectorised where the
    parser can, with protobuf for the rest."""
    if not vectorised or b - a < _MIN_VECTOR_RECORDS:
        for i in range(a, b):
            acc.add(frames.payload(i, buf), index + i)
        return
    for c0 in range(a, b, _PARSE_CHUNK):
        c1 = min(b, c0 + _PARSE_CHUNK)
        parsed = parse_records(
            buf, frames.starts[c0:c1] + 8, frames.lengths[c0:c1], labels=acc.keep_labels
        )
        slow = np.flatnonzero(~parsed.ok).tolist()
        i = 0
        for j in [*slow, c1 - c0]:
            while i < j:
                i = acc.add_block(parsed, i, j)
                if i < j:  # disagrees with the records before it: protobuf says why
                    acc.add(frames.payload(c0 + i, buf), index + c0 + i)
                    i += 1
            if j < c1 - c0:
                acc.add(frames.payload(c0 + j, buf), index + c0 + j)
            i = j + 1


def _decode_pieces(
    buf: bytes | bytearray | memoryview,
    pieces: list[_Frames | bytes],
    index: int,
    source: str | None,
    keep_labels: bool,
    vectorised: bool = True,
) -> list[Dataset]:
    out: list[Dataset] = []
    acc = _Accumulator(source, keep_labels)
    for piece in pieces:
        if isinstance(piece, _Frames):
            _decode_frames(buf, piece, index, acc, out, vectorised)
            index += len(piece.starts)
        else:
            acc.add(piece, index)
            index += 1
    if acc.n:
        out.append(acc.take())
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
    data: bytes | bytearray | memoryview,
    source: str | None = None,
    *,
    keep_labels: bool = True,
    vectorised: bool = True,
) -> Dataset | None:
    """Decode a whole recordio-protobuf buffer; ``None`` when it holds no records.

    Args:
        data: the RecordIO frames.
        source: the file it came from, named in errors.
        keep_labels: decode ``label["values"]`` into ``Dataset.y``.
        vectorised: parse ``Float32Tensor`` records with the vectorised wire-format parser;
            ``False`` decodes them one by one with protobuf (the reference the vectorised
            parser is tested against, ~30x slower). The result is the same.

    Raises:
        DataFormatError: naming ``source`` and the record index of a malformed record.
    """
    pieces, _, _ = _scan(data, 0, True, source, 0)
    return _merge(_decode_pieces(data, pieces, 0, source, keep_labels, vectorised), source)


def iter_file(
    fh: IO[bytes],
    source: str | None,
    *,
    keep_labels: bool = True,
    target_rows: int = 10_000,
    vectorised: bool = True,
) -> Iterator[Dataset]:
    """Stream a recordio-protobuf file object, yielding decoded blocks of whole records.

    Reads ``fh`` in chunks sized to hold roughly ``target_rows`` records, so memory is bounded
    by the batch, not the file. ``vectorised`` is as for :func:`decode_bytes`.
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
            parts = _decode_pieces(buf, pieces, start_index, source, keep_labels, vectorised)
            merged = _merge(parts, source)
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
    non-zeros as ``values``, their column indices as ``keys`` and ``shape = [n_cols]``, and
    ``label["values"]`` when ``y`` is given. Byte-identical to serializing each row's
    ``Record`` with protobuf, built with numpy for all rows at once."""
    import scipy.sparse as sp

    m = sp.csr_matrix(X, dtype=np.float32)
    m.sort_indices()
    n, width = m.shape
    if n == 0:
        return b""
    labels = None if y is None else np.asarray(y, dtype=np.float32).reshape(n, -1)
    if labels is not None and labels.shape[1] == 0:  # an empty label tensor: leave it to protobuf
        return b"".join(
            _encode_generic(m.data[a:b], m.indices[a:b], labels[i], width)
            for i, (a, b) in enumerate(zip(m.indptr[:-1], m.indptr[1:], strict=True))
        )
    out, starts, lengths = encode_csr_records(
        m.data, m.indices, m.indptr, width, labels, header=8, align=4
    )
    header = out.view("<u4")
    header[starts // 4] = MAGIC
    header[starts // 4 + 1] = lengths
    return out.tobytes()


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
