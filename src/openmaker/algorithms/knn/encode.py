"""Response bodies built column-wise, without a Python loop over records.

The outputs of a k-NN request are a few float32 columns of the same shape for every record
(``predicted_label``; with ``verbose``, ``distances`` and ``labels``, ``k`` values each), so
every format is a fixed template per record:

* JSON / JSON Lines / CSV: the numbers are formatted by numpy in one call per column (the
  shortest text that reads back as the same float32, e.g. ``3.1179``), laid out with the
  template's literal pieces in an (n, pieces) object array, and joined once.
* RecordIO-protobuf: one ``Record`` is serialised with placeholder values; every record has
  the same bytes but for its float32 values, so the frames are that template tiled with the
  values written in as raw little-endian floats (what protobuf's packed ``repeated float``
  holds).

The output is the same document :func:`openmaker.algorithms.common.encode_predictions` writes
(same keys, separators and value order), with float32 values written at float32 precision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from openmaker.spec.channels import ContentType

Field = tuple[str, np.ndarray]


def _numbers(arr: np.ndarray) -> np.ndarray:
    """Text of each value; non-finite values as Python's json writes them."""
    values = np.asarray(arr, dtype=np.float32)
    text = values.astype(str).astype(object)
    if not np.isfinite(values).all():
        text[np.isnan(values)] = "NaN"
        text[np.isposinf(values)] = "Infinity"
        text[np.isneginf(values)] = "-Infinity"
    return text


def _layout(columns: list[str | np.ndarray], n: int) -> str:
    """Join literal pieces (str, same for every record) and value columns ((n,) arrays)."""
    merged: list[str | np.ndarray] = []
    for col in columns:
        if isinstance(col, str) and merged and isinstance(merged[-1], str):
            merged[-1] += col
        else:
            merged.append(col)
    table = np.empty((n, len(merged)), dtype=object)
    for j, col in enumerate(merged):
        table[:, j] = col
    return "".join(table.ravel().tolist())


def _json_columns(fields: Sequence[Field], row_end: str) -> list[str | np.ndarray]:
    columns: list[str | np.ndarray] = []
    for j, (name, arr) in enumerate(fields):
        columns.append(("{" if j == 0 else ", ") + json.dumps(name) + ": ")
        text = _numbers(arr)
        if arr.ndim == 1:
            columns.append(text)
            continue
        columns.append("[")
        for c in range(arr.shape[1]):
            if c:
                columns.append(", ")
            columns.append(text[:, c])
        columns.append("]")
    columns.append("}" + row_end)
    return columns


def encode_json(fields: Sequence[Field], top_key: str = "predictions") -> bytes:
    """``{"predictions": [{"predicted_label": 0.0, ...}, ...]}``."""
    n = len(fields[0][1])
    if n == 0:
        return json.dumps({top_key: []}).encode()
    body = _layout(_json_columns(fields, ", "), n)[: -len(", ")]
    return (f"{{{json.dumps(top_key)}: [" + body + "]}").encode()


def encode_jsonlines(fields: Sequence[Field]) -> bytes:
    """One ``{"predicted_label": 0.0, ...}`` object a line."""
    n = len(fields[0][1])
    if n == 0:
        return b"\n"
    return _layout(_json_columns(fields, "\n"), n).encode()


def encode_csv(fields: Sequence[Field]) -> bytes:
    """The record's values in field order, lists flattened, one record a line."""
    n = len(fields[0][1])
    if n == 0:
        return b"\n"
    columns: list[str | np.ndarray] = []
    for name, arr in fields:
        del name
        text = _numbers(arr)
        for c in range(1 if arr.ndim == 1 else arr.shape[1]):
            if columns:
                columns.append(",")
            columns.append(text if arr.ndim == 1 else text[:, c])
    columns.append("\n")
    return _layout(columns, n).encode()


def encode_recordio(fields: Sequence[Field]) -> bytes:
    """One Record per row with each field in ``label[name]`` as a Float32Tensor."""
    from openmaker.data import recordio
    from openmaker.data.record_proto import messages

    n = len(fields[0][1])
    if n == 0:
        return b""
    widths = [1 if arr.ndim == 1 else int(arr.shape[1]) for _, arr in fields]
    rec = messages().Record()
    markers = []
    for j, ((name, _), width) in enumerate(zip(fields, widths, strict=True)):
        # distinct placeholder values, so each field's packed floats can be found by content
        marker = (np.arange(width, dtype=np.float32) + 1.0) * np.float32(1.0 + 1e-3 * (j + 1))
        marker = marker + np.float32(7919.0 * (j + 1))
        rec.label[name].float32_tensor.values.extend(marker.tolist())
        markers.append(marker.astype("<f4").tobytes())
    payload = rec.SerializeToString()
    offsets = []
    for blob in markers:
        at = payload.find(blob)
        if at < 0 or payload.find(blob, at + 1) >= 0:  # pragma: no cover - defensive
            raise RuntimeError("RecordIO response template: a field's values are not unique")
        offsets.append(at)
    framed = recordio.frame(payload)
    out = np.empty((n, len(framed)), dtype=np.uint8)
    out[:] = np.frombuffer(framed, dtype=np.uint8)
    for (_, arr), width, at in zip(fields, widths, offsets, strict=True):
        values = np.ascontiguousarray(np.asarray(arr, dtype="<f4").reshape(n, width))
        out[:, 8 + at : 8 + at + 4 * width] = values.view(np.uint8).reshape(n, 4 * width)
    return out.tobytes()


def encode(fields: Sequence[Field], media: str, top_key: str = "predictions") -> bytes:
    """The body of a response of type ``media`` (a canonical first-party response type)."""
    if media == ContentType.JSON:
        return encode_json(fields, top_key)
    if media == ContentType.JSONLINES:
        return encode_jsonlines(fields)
    if media == ContentType.RECORDIO_PROTOBUF:
        return encode_recordio(fields)
    if media == ContentType.CSV:
        return encode_csv(fields)
    raise ValueError(f"no encoder for {media!r}")
