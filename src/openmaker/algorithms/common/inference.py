"""Inference requests and responses of the first-party algorithms (reference section 0.3).

Responses: JSON ``{"<top>": [{...per record...}]}`` (``predictions`` for most algorithms,
``scores`` for RCF, ``projections`` for PCA), JSON Lines (one per-record object a line),
RecordIO-protobuf (each field in ``Record.label[field]`` as a Float32Tensor) and CSV (the
record's fields in order, lists flattened, one record a line — an openmaker extension where
SageMaker does not document CSV).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from openmaker.errors import UnsupportedContentTypeError
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
