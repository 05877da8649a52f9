"""Vectorised protobuf wire format for ``aialgs.data.Record``: many records at once, with numpy.

:func:`parse_records` decodes the payloads of many RecordIO records in one pass of numpy
operations (a few dozen, whatever the number of records), without protobuf. It accepts the
layout that the SageMaker SDK (``write_spmatrix_to_sparse_tensor`` and
``write_numpy_to_dense_tensor`` with float32 data), openmaker's writers and every canonical
protobuf serializer produce::

    Record {
      features["values"] = Value{float32_tensor{values: [f32], keys: [u64], shape: [u64]}}
      label["values"]    = Value{float32_tensor{values: [f32]}}          (optional)
    }

that is, in bytes (section 9.4 of the tabular reference): ``0a L`` (the features map entry)
``0a 06 "values"`` ``12 L`` (Value) ``12 L`` (Float32Tensor) then the packed ``values``
(``0a L``), ``keys`` (``12 L``) and ``shape`` (``1a L``) fields, each optional, in that order;
then optionally the label map entry ``12 L 0a 06 "values" 12 L 12 L [0a L values]``. Every
length must match its parent's exactly and the record must end where its payload ends.

Records outside that subset, or whose contents the slow decoder would refuse (keys without a
shape, as many keys as values, a key outside the shape, a dense shape that disagrees with the
values, more than one shape dimension, varints longer than 8 bytes), are flagged ``ok=False``
and left to the protobuf decoder, which either decodes them (``float64``/``int32`` tensors,
``uid``, extra map keys, fields in another order, ...) or raises the error naming the record.

`encode_csr_records` is the inverse for CSR rows: the same bytes, record for record, as
serializing each row's ``Record`` with protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: ``0a 06 "values"``: a map entry's key field holding ``"values"``.
VALUES_KEY = b"\x0a\x06values"
_VALUES_KEY_U64 = int.from_bytes(VALUES_KEY, "little")

# Field tags (field number << 3 | wire type 2).
_TAG_1 = 0x0A  # Record.features, map key, Float32Tensor.values
_TAG_2 = 0x12  # Record.label, map value, Value.float32_tensor, Float32Tensor.keys
_TAG_3 = 0x1A  # Float32Tensor.shape

#: Longest varint decoded here: 8 bytes hold 56 bits, plenty for keys and shapes.
MAX_VARINT = 8


class _Words:
    """Reads the 8 bytes at any offsets of a buffer as little-endian ``uint64`` (zeros past its
    end), and the 4 bytes at offsets as ``float32``, with one numpy gather each."""

    def __init__(self, buf: Any) -> None:
        u8 = np.frombuffer(buf, dtype=np.uint8)
        if len(u8) < 8:
            u8 = np.concatenate([u8, np.zeros(8 - len(u8), np.uint8)])
        self.u8 = u8
        self.n = len(u8)
        # Overlapping, unaligned views: element i starts at byte i.
        self.u64 = np.ndarray((self.n - 7,), dtype="<u8", buffer=u8, strides=(1,))
        self.f32 = np.ndarray((self.n - 3,), dtype="<f4", buffer=u8, strides=(1,))

    def word(self, pos: np.ndarray) -> np.ndarray:
        """The 8 bytes at each of ``pos`` (0 <= pos), zero-filled past the end of the buffer."""
        last = self.n - 8
        pos = np.minimum(pos, self.n - 1)
        w = self.u64[np.minimum(pos, last)]
        over = pos > last
        if over.any():  # near the end: read the last 8 bytes and shift the wanted ones down
            w[over] >>= (8 * (pos[over] - last)).astype(np.uint64)
        return w


def _varint(w: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the varint at the low bytes of each ``uint64`` word.

    Returns:
        ``(value int64, n_bytes int64, valid bool)``; ``valid`` is false where no byte among
        the first ``max_len`` ends the varint.
    """
    b = (w & np.uint64(0xFF)).astype(np.int64)
    value = b & 0x7F
    n_bytes = np.ones(len(w), dtype=np.int64)
    alive = b >= 0x80
    for j in range(1, max_len):
        if not alive.any():
            break
        b = ((w >> np.uint64(8 * j)) & np.uint64(0xFF)).astype(np.int64)
        value |= np.where(alive, (b & 0x7F) << (7 * j), 0)
        n_bytes += alive
        alive &= b >= 0x80
    return value, n_bytes, ~alive


def _field(
    words: _Words, pos: np.ndarray, end: np.ndarray, tag: int, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A length-delimited field with ``tag`` at ``pos`` (where ``active``), inside ``[.., end)``.

    Returns:
        ``(present, start, stop)`` of its contents; ``present`` is false where the tag differs
        or the length does not fit (``start = stop = pos`` there).
    """
    w = words.word(pos)
    length, nb, valid = _varint(w >> np.uint64(8), 4)
    start = pos + 1 + nb
    stop = start + length
    present = active & (pos < end) & ((w & np.uint64(0xFF)) == tag) & valid & (stop <= end)
    return present, np.where(present, start, pos), np.where(present, stop, pos)


def _map_entry(
    words: _Words, pos: np.ndarray, end: np.ndarray, tag: int, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A ``map<string, Value>`` entry ``{"values": Value{float32_tensor{...}}}`` at ``pos``.

    Returns:
        ``(present, tensor_start, tensor_stop, entry_stop)``; ``present`` is false where the
        entry is anything else (another key, another tensor type, an empty Value, ...).
    """
    ok, start, stop = _field(words, pos, end, tag, active)
    ok &= words.word(start) == _VALUES_KEY_U64
    ok, vstart, vstop = _field(words, start + 8, stop, _TAG_2, ok)
    ok &= vstop == stop
    ok, tstart, tstop = _field(words, vstart, vstop, _TAG_2, ok)
    ok &= tstop == vstop
    return ok, tstart, tstop, np.where(ok, stop, pos)


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + l)`` for each ``(s, l)``."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def _floats(words: _Words, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``counts[i]`` float32s from byte ``starts[i]`` for each i, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.float32)
    offsets = np.cumsum(counts) - counts
    pos = np.repeat(starts - 4 * offsets, counts) + 4 * np.arange(total, dtype=np.int64)
    return words.f32[pos]


@dataclass
class ParsedRecords:
    """What :func:`parse_records` found, per record and flattened over the ``ok`` records.

    Per record (arrays of the number of records; meaningful where ``ok``): ``ok``, ``sparse``
    (the row has keys, or is an empty sparse row: no values and a non-zero shape), ``width``
    (``shape[0]`` for a sparse row, else the number of values), ``n_values``,
    ``has_label``, ``label_width``.

    Flattened over the ``ok`` records in order: ``values`` (float32), ``keys`` (int64, sparse
    rows only), ``labels`` (float32; empty when labels were not asked for). ``value_offsets``,
    ``key_offsets`` and ``label_offsets`` (one longer than the number of records) locate a
    record's slice; a record that is not ``ok`` has an empty one.
    """

    ok: np.ndarray
    sparse: np.ndarray
    width: np.ndarray
    n_values: np.ndarray
    has_label: np.ndarray
    label_width: np.ndarray
    values: np.ndarray
    keys: np.ndarray
    labels: np.ndarray
    value_offsets: np.ndarray
    key_offsets: np.ndarray
    label_offsets: np.ndarray


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def parse_records(
    buf: Any, starts: np.ndarray, lengths: np.ndarray, *, labels: bool = True
) -> ParsedRecords:
    """Decode the ``Record`` payloads at ``buf[starts[i] : starts[i] + lengths[i]]``.

    Args:
        buf: the bytes holding the payloads (``bytes``, ``bytearray``, ``memoryview``).
        starts: int64 byte offsets of the payloads.
        lengths: int64 payload lengths.
        labels: gather the label values (they are checked either way).

    Returns:
        The decoded records; those outside the supported subset have ``ok`` false.
    """
    words = _Words(buf)
    starts = np.asarray(starts, dtype=np.int64)
    end = starts + np.asarray(lengths, dtype=np.int64)
    n = len(starts)

    # features["values"] = Value{float32_tensor{values, keys, shape}}
    ok, tstart, tstop, fstop = _map_entry(words, starts, end, _TAG_1, end > starts)
    _, vstart, vstop = _field(words, tstart, tstop, _TAG_1, ok)
    has_keys, kstart, kstop = _field(words, vstop, tstop, _TAG_2, ok)
    has_shape, sstart, sstop = _field(words, kstop, tstop, _TAG_3, ok)
    ok &= sstop == tstop
    n_bytes = vstop - vstart
    ok &= (n_bytes & 3) == 0
    n_values = n_bytes >> 2

    # label["values"] = Value{float32_tensor{values}}, optional
    at_label = ok & (fstop < end)
    has_label, lstart, lstop, estop = _map_entry(words, fstop, end, _TAG_2, at_label)
    _, lvstart, lvstop = _field(words, lstart, lstop, _TAG_1, has_label)
    has_label &= (lvstop == lstop) & (((lvstop - lvstart) & 3) == 0)
    ok &= ~at_label | has_label
    ok &= np.where(has_label, estop, fstop) == end
    label_width = np.where(has_label, (lvstop - lvstart) >> 2, 0)

    # shape: no dimension, or exactly one varint filling the field
    shape_len = sstop - sstart
    shape0, nb, valid = _varint(words.word(sstart), MAX_VARINT)
    one_dim = has_shape & (shape_len > 0)
    ok &= ~one_dim | (valid & (nb == shape_len))
    shape0 = np.where(one_dim, shape0, 0)

    # keys: a packed run of varints; the last byte of the field must end one
    key_len = np.where(ok & has_keys, kstop - kstart, 0)
    with_keys = key_len > 0
    last = words.u8[np.where(with_keys, kstop - 1, 0)]
    ok &= ~with_keys | (last < 0x80)
    key_len = np.where(ok, key_len, 0)
    key_pos = _segments(kstart, key_len)
    ends = words.u8[key_pos] < 0x80  # the last byte of each key
    key_ends = np.flatnonzero(ends)
    key_first = np.zeros_like(key_ends)  # the first byte of each key
    key_first[1:] = key_ends[:-1] + 1
    ends_before = _offsets(ends)  # keys ended before each key byte
    key_offsets = _offsets(key_len)
    n_keys = ends_before[key_offsets[1:]] - ends_before[key_offsets[:-1]]
    keys, _, _ = _varint(words.word(key_pos[key_first]), MAX_VARINT)
    key_record = np.repeat(np.arange(n, dtype=np.int64), n_keys)
    too_long = (key_ends - key_first + 1) > MAX_VARINT
    if too_long.any():
        ok[key_record[too_long]] = False

    # the checks of the protobuf decoder (see recordio._Accumulator.add)
    sparse = (n_keys > 0) | ((shape0 > 0) & one_dim & (n_values == 0))
    ok &= np.where(sparse, one_dim & (n_keys == n_values), n_keys == 0)
    ok &= ~one_dim | sparse | (shape0 == n_values)
    if len(keys):
        outside = keys >= shape0[key_record]
        if outside.any():
            ok[key_record[outside]] = False
        keys = keys[ok[key_record]]

    width = np.where(sparse, shape0, n_values)
    n_values = np.where(ok, n_values, 0)
    label_width = np.where(ok, label_width, 0)
    values = _floats(words, vstart, n_values)
    label_values = _floats(words, lvstart, label_width) if labels else np.zeros(0, dtype=np.float32)
    return ParsedRecords(
        ok=ok,
        sparse=sparse & ok,
        width=width,
        n_values=n_values,
        has_label=has_label & ok,
        label_width=label_width,
        values=values,
        keys=keys,
        labels=label_values,
        value_offsets=_offsets(n_values),
        key_offsets=_offsets(np.where(sparse & ok, n_values, 0)),
        label_offsets=_offsets(label_width) if labels else np.zeros(n + 1, dtype=np.int64),
    )


# --- encoding ---------------------------------------------------------------------------------


def varint_size(v: np.ndarray) -> np.ndarray:
    """Bytes of the varint encoding of each non-negative ``v``."""
    v = np.asarray(v, dtype=np.uint64)
    size = np.ones(v.shape, dtype=np.int64)
    for j in range(1, 10):
        more = v >= np.uint64(1 << (7 * j))
        if not more.any():
            break
        size += more
    return size


class _Writer:
    """Scatters bytes, 8-byte words and float32s into a zeroed buffer at any offsets."""

    def __init__(self, n: int) -> None:
        self.u8 = np.zeros(max(n, 8), dtype=np.uint8)
        self.n = n
        self.u64 = np.ndarray((len(self.u8) - 7,), dtype="<u8", buffer=self.u8, strides=(1,))
        self.f32 = np.ndarray((len(self.u8) - 3,), dtype="<f4", buffer=self.u8, strides=(1,))

    def varint(self, pos: np.ndarray, v: np.ndarray, size: np.ndarray | None = None) -> np.ndarray:
        """Write the varint of each ``v`` at ``pos``; returns the offsets after them."""
        v = np.asarray(v, dtype=np.uint64)
        if size is None:
            size = varint_size(v)
        top = int(size.max()) if len(size) else 0
        for j in range(top):
            sel = size > j if j else slice(None)
            b = (v[sel] >> np.uint64(7 * j)) & np.uint64(0x7F)
            if j < top - 1:
                b |= np.where(size[sel] > j + 1, np.uint64(0x80), np.uint64(0))
            self.u8[pos[sel] + j] = b.astype(np.uint8)
        return pos + size

    def field(self, pos: np.ndarray, tag: int, length: np.ndarray) -> np.ndarray:
        """Write a length-delimited field's tag and length; returns where its contents go."""
        self.u8[pos] = tag
        return self.varint(pos + 1, length)

    def constant(self, pos: np.ndarray, data: bytes) -> np.ndarray:
        """Write ``data`` at each of ``pos``; returns the offsets after them."""
        size = len(data)
        if size < 8:
            for j, b in enumerate(data):
                self.u8[pos + j] = b
        else:  # whole words, the last one overlapping the one before: nothing past the end
            for j in [*range(0, size - 7, 8), size - 8]:
                self.u64[pos + j] = int.from_bytes(data[j : j + 8], "little")
        return pos + size


def encode_csr_records(
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    width: int,
    labels: np.ndarray | None,
    *,
    header: int = 0,
    align: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serialized ``Record`` payloads for CSR rows, byte for byte what protobuf writes.

    Each row becomes ``features["values"] = Float32Tensor{values: the row's data, keys: its
    column indices, shape: [width]}`` (``values`` and ``keys`` left out for a row with no
    entries, as protobuf leaves out empty packed fields) and, when ``labels`` (float32, shape
    ``(n, k)``, ``k >= 1``) is given, ``label["values"] = Float32Tensor{values: labels[i]}``.

    Args:
        data, indices, indptr: the CSR arrays (indices sorted within rows if the keys should be).
        width: the number of columns, written as the shape.
        labels: the labels, or ``None``.
        header: zero bytes left before each payload (room for a frame header).
        align: each record (header + payload) is zero-padded to a multiple of this.

    Returns:
        ``(out, starts, lengths)``: the records back to back (uint8), each record's offset in
        ``out`` (where its header goes) and each payload's length.
    """
    n = len(indptr) - 1
    indptr = np.asarray(indptr, dtype=np.int64)
    counts = np.diff(indptr)
    keys = np.asarray(indices, dtype=np.uint64)
    key_size = varint_size(keys)
    has = counts > 0
    rows = np.flatnonzero(has)
    key_bytes = np.zeros(n, dtype=np.int64)
    if len(keys):
        key_bytes[rows] = np.add.reduceat(key_size, indptr[rows])
    val_bytes = 4 * counts
    shape = bytes([_TAG_3]) + _varint_bytes(len(_varint_bytes(width))) + _varint_bytes(width)

    def field(inner: np.ndarray) -> np.ndarray:  # tag + length varint + contents
        return 1 + varint_size(inner) + inner

    tensor = np.where(has, field(val_bytes) + field(key_bytes), 0) + len(shape)
    value = field(tensor)
    entry = len(VALUES_KEY) + field(value)
    label = b""
    if labels is not None:
        label = _label_prefix(labels.shape[1])
    lengths = field(entry) + (0 if labels is None else len(label) + 4 * labels.shape[1])
    stride = header + lengths
    stride += -stride % align

    starts = np.cumsum(stride) - stride
    out = _Writer(int(stride.sum()))
    pos = out.field(starts + header, _TAG_1, entry)
    pos = out.constant(pos, VALUES_KEY)
    pos = out.field(pos, _TAG_2, value)
    pos = out.field(pos, _TAG_2, tensor)
    if len(keys):
        p = out.field(pos[rows], _TAG_1, val_bytes[rows])
        first = np.cumsum(counts) - counts  # each row's first entry
        out.f32[np.repeat(p - 4 * first[rows], counts[rows]) + 4 * np.arange(len(keys))] = data
        p = out.field(p + val_bytes[rows], _TAG_2, key_bytes[rows])
        key_pos = np.cumsum(key_size) - key_size  # each key's offset among all key bytes
        out.varint(np.repeat(p - key_pos[indptr[rows]], counts[rows]) + key_pos, keys, key_size)
        pos[rows] = p + key_bytes[rows]
    pos = out.constant(pos, shape)
    if labels is not None:
        pos = out.constant(pos, label)
        for j in range(labels.shape[1]):
            out.f32[pos + 4 * j] = labels[:, j]
    return out.u8[: out.n], starts, lengths


def _label_prefix(k: int) -> bytes:
    """The bytes of ``label["values"] = Float32Tensor{values: [k floats]}`` before the floats."""
    vals = 4 * k
    tensor = bytes([_TAG_1]) + _varint_bytes(vals)
    value = bytes([_TAG_2]) + _varint_bytes(len(tensor) + vals) + tensor
    entry = VALUES_KEY + bytes([_TAG_2]) + _varint_bytes(len(value) + vals) + value
    return bytes([_TAG_2]) + _varint_bytes(len(entry) + vals) + entry


def _varint_bytes(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)
