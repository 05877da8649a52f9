"""Inference requests and responses of the first-party algorithms (reference section 0.3).

Responses: JSON ``{"<top>": [{...per record...}]}`` (``predictions`` for most algorithms,
``scores`` for RCF, ``projections`` for PCA), JSON Lines (one per-record object a line),
RecordIO-protobuf (each field in ``Record.label[field]`` as a Float32Tensor) and CSV (the
record's fields in order, lists flattened, one record a line — an openmaker extension where
SageMaker does not document CSV).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openmaker.errors import UnsupportedContentTypeError, ValidationError
from openmaker.spec.channels import ContentType, parse_content_type

FIRST_PARTY_REQUEST_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
    ContentType.NPY,
)
FIRST_PARTY_ACCEPT_TYPES: tuple[str, ...] = (
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
    ContentType.CSV,
)


def decode_features(
    body: bytes, content_type: str, supported: Sequence[str] = FIRST_PARTY_REQUEST_TYPES
) -> Any:
    """The feature matrix of a request (dense ndarray or CSR), labels ignored.

    Raises:
        UnsupportedContentTypeError: (415) the type is not in ``supported``.
        DataFormatError: (400) the body is malformed; the message says where.
    """
    from openmaker.data import decode_request

    try:
        media, params = parse_content_type(content_type or ContentType.CSV)
    except UnsupportedContentTypeError:
        raise UnsupportedContentTypeError(content_type, supported) from None
    if media not in supported:
        raise UnsupportedContentTypeError(content_type, supported)
    return decode_request(body, media, params).X


def negotiate_accept(
    accept: str | None,
    supported: Sequence[str] = FIRST_PARTY_ACCEPT_TYPES,
) -> tuple[str, dict[str, str]]:
    """The response type for an Accept header: ``None`` / ``*/*`` mean the first supported.

    Returns:
        (canonical media type, parameters such as ``{"verbose": "true"}``).
    """
    if not accept or accept.strip() in ("*/*", ""):
        return supported[0], {}
    for option in accept.split(","):
        option = option.strip()
        if option.split(";")[0].strip() == "*/*":
            return supported[0], {}
        try:
            media, params = parse_content_type(option)
        except UnsupportedContentTypeError:
            continue
        if media in supported:
            return media, params
    raise UnsupportedContentTypeError(accept, supported)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def encode_predictions(
    records: Sequence[Mapping[str, Any]],
    accept: str | None,
    *,
    top_key: str = "predictions",
    supported: Sequence[str] = FIRST_PARTY_ACCEPT_TYPES,
) -> tuple[bytes, str]:
    """Encode per-record outputs in the negotiated response type.

    Args:
        records: one mapping per input row, e.g. ``{"score": 0.4, "predicted_label": 0}``.
        accept: the request's Accept header.
        top_key: the JSON top-level key.
        supported: the algorithm's accepted response types (first = default).
    """
    media, _ = negotiate_accept(accept, supported)
    rows = [{k: _plain(v) for k, v in r.items()} for r in records]
    if media == ContentType.JSON:
        return json.dumps({top_key: rows}).encode(), media
    if media == ContentType.JSONLINES:
        return ("\n".join(json.dumps(r) for r in rows) + "\n").encode(), media
    if media == ContentType.RECORDIO_PROTOBUF:
        from openmaker.data import encode_recordio_outputs

        return encode_recordio_outputs(rows), media
    if media == ContentType.CSV:
        lines = []
        for r in rows:
            cells: list[str] = []
            for v in r.values():
                cells.extend(repr(float(x)) for x in (v if isinstance(v, list) else [v]))
            lines.append(",".join(cells))
        return ("\n".join(lines) + "\n").encode(), media
    raise UnsupportedContentTypeError(media, supported)  # pragma: no cover


# --- micro-batching ------------------------------------------------------------------------


def predict_batch(
    requests: Sequence[tuple[bytes, str, str | None]],
    *,
    decode: Callable[[bytes, str], Any],
    predict_rows: Callable[[Any], Any],
    encode: Callable[[Any, str | None], tuple[bytes, str]],
    check_accept: Callable[[str | None], object] | None = None,
) -> list[tuple[bytes, str]]:
    """Answer several requests with one call of ``predict_rows`` (the serving micro-batch).

    Each body is decoded to a feature matrix (1-line CSV bodies of the same content type and
    delimiter are decoded together, with one parser call), the matrices are stacked, predicted
    at once and the per-row outputs cut back per request and encoded with each request's
    Accept. The answers are the ones ``predict`` gives each request alone (row-wise models;
    BLAS-based models may differ in the last bits).

    Args:
        requests: ``(body, content_type, accept)`` tuples.
        decode: ``(body, content_type) -> X``: one request's features (2-D ndarray or CSR),
            raising the model's 400/415 errors.
        predict_rows: ``X -> outputs``, one output per row (ndarray or sequence).
        encode: ``(outputs of one request, accept) -> (body, content type)``.
        check_accept: raises for an unsupported Accept before any work.

    Raises:
        OpenmakerError: any request fails, or the matrices cannot be stacked (different
            widths, dtypes, dense and sparse mixed). The caller (the serving process) then
            predicts the requests one by one, so each gets its own answer or error.
    """
    if check_accept is not None:
        for accept in {accept for _, _, accept in requests}:
            check_accept(accept)
    X = _one_line_csv(requests, decode)
    if X is not None:  # the common serving batch: one row a request, parsed together
        outputs = predict_rows(X)
        if len(outputs) != len(requests):
            raise ValidationError(
                f"predict_rows returned {len(outputs)} outputs for {len(requests)} rows"
            )
        return [encode(outputs[i : i + 1], req[2]) for i, req in enumerate(requests)]
    blocks = _decode_all(requests, decode)
    X = _stack(blocks)
    outputs = predict_rows(X)
    sizes = [int(b.shape[0]) for b in blocks]
    if len(outputs) != sum(sizes):
        raise ValidationError(f"predict_rows returned {len(outputs)} outputs for {sum(sizes)} rows")
    answers = []
    lo = 0
    for (_, _, accept), n in zip(requests, sizes, strict=True):
        answers.append(encode(outputs[lo : lo + n], accept))
        lo += n
    return answers


def _one_line_csv(
    requests: Sequence[tuple[bytes, str, str | None]], decode: Callable[[bytes, str], Any]
) -> Any:
    """The matrix of a batch whose requests are all 1-line numeric CSV bodies of one content
    type (one row each, in order), parsed with one numpy call; None for any other batch."""
    from openmaker.data.csv import sniff_delimiter

    content_type = requests[0][1]
    if not content_type or content_type.split(";", 1)[0].strip().lower() != ContentType.CSV:
        return None
    lines = []
    for body, ctype, _ in requests:
        line = body.rstrip(b"\r\n")
        if ctype != content_type or b"\n" in line or not line.strip():
            return None
        lines.append(line)
    delimiter = sniff_delimiter(lines[0].decode("utf-8", "replace"))
    return _numeric_lines(lines, delimiter, content_type, decode)


def _decode_all(
    requests: Sequence[tuple[bytes, str, str | None]], decode: Callable[[bytes, str], Any]
) -> list[Any]:
    from openmaker.data.csv import SMALL_BODY_BYTES, sniff_delimiter

    blocks: list[Any] = [None] * len(requests)
    # 1-line CSV bodies: one parser call per (content type, delimiter) group, in pieces small
    # enough for the parser's exact per-line path.
    groups: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
    for i, (body, content_type, _) in enumerate(requests):
        line = body.rstrip(b"\r\n")
        media = content_type.split(";", 1)[0].strip().lower() if content_type else ""
        if media == ContentType.CSV and line.strip() and b"\n" not in line:
            text = line.decode("utf-8", "replace")
            groups.setdefault((content_type, sniff_delimiter(text)), []).append((i, line))
    for (content_type, delimiter), members in groups.items():
        start = 0
        while start < len(members):
            size, end = 0, start
            while end < len(members) and (
                end == start or size + len(members[end][1]) < SMALL_BODY_BYTES
            ):
                size += len(members[end][1]) + 1
                end += 1
            piece = members[start:end]
            if len(piece) > 1:
                X = _numeric_lines([line for _, line in piece], delimiter, content_type, decode)
                if X is None:
                    try:
                        X = decode(b"\n".join(line for _, line in piece), content_type)
                    except Exception:  # decoded one by one below: the bad one raises alone
                        X = None
                # every line is one row, or the joint parse does not stand for the parts
                if X is not None and getattr(X, "ndim", 0) == 2 and X.shape[0] == len(piece):
                    for row, (i, _) in enumerate(piece):
                        blocks[i] = X[row : row + 1]
            start = end
    for i, (body, content_type, _) in enumerate(requests):
        if blocks[i] is None:
            blocks[i] = decode(body, content_type)
    return blocks


def _numeric_lines(
    lines: list[bytes], delimiter: str, content_type: str, decode: Callable[[bytes, str], Any]
) -> Any:
    """1-line CSV bodies of plain numbers, parsed together by numpy (C), or None.

    The first line is also decoded by the model's own ``decode``: the numpy rows are used only
    when that row is the same (values, width and dtype), so the answers cannot change; anything
    else (quotes, empty cells, null tokens, other widths, a model that reads CSV otherwise)
    returns None and takes the model's parser. The joint parse is :func:`openmaker.data.csv.
    plain_numbers`, the one CSV request bodies of plain numbers take.
    """
    import numpy as np

    from openmaker.data.csv import plain_numbers

    try:
        first = decode(lines[0], content_type)
    except Exception:
        return None
    if not isinstance(first, np.ndarray) or first.ndim != 2 or first.shape[0] != 1:
        return None
    X = plain_numbers(b"\n".join(lines), delimiter, first.shape[1], first.dtype)
    if X is None or X.shape[0] != len(lines) or not np.array_equal(X[:1], first, equal_nan=True):
        return None
    return X


def _stack(blocks: list[Any]) -> Any:
    import numpy as np
    import scipy.sparse as sp

    if all(isinstance(b, np.ndarray) and b.ndim == 2 for b in blocks):
        if len({(b.shape[1], b.dtype) for b in blocks}) == 1:
            return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    elif all(sp.issparse(b) for b in blocks) and len({b.shape[1] for b in blocks}) == 1:
        return sp.vstack(blocks, format="csr")
    raise ValidationError("the requests of a batch have different feature widths, types or layouts")


def predict_records_batch(
    requests: Sequence[tuple[bytes, str, str | None]],
    records: Callable[[Any], Sequence[Mapping[str, Any]]],
    *,
    request_types: Sequence[str] = FIRST_PARTY_REQUEST_TYPES,
    response_types: Sequence[str] = FIRST_PARTY_ACCEPT_TYPES,
    top_key: str = "predictions",
) -> list[tuple[bytes, str]]:
    """:func:`predict_batch` for a first-party model: ``records(X)`` gives one mapping per row.

    A model whose ``predict`` is ``encode_predictions(records(decode_features(body)), accept)``
    gets its ``predict_batch`` from this with the same arguments.
    """
    return predict_batch(
        requests,
        decode=lambda body, content_type: decode_features(body, content_type, request_types),
        predict_rows=records,
        encode=lambda rows, accept: encode_predictions(
            rows, accept, top_key=top_key, supported=response_types
        ),
        check_accept=lambda accept: negotiate_accept(accept, response_types),
    )
