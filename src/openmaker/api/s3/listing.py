"""ListObjectsV2 and ListObjects (v1): prefix, delimiter and common prefixes, pagination by
continuation token / start-after (v2) or marker (v1), ``max-keys`` (at most 1000), and
``encoding-type=url`` (botocore asks for it and decodes the keys it gets back).

A page counts keys and common prefixes together, as S3 does. The continuation token is the
last key or common prefix returned, base64-encoded, so a listing resumes after it even if
objects are added or removed in between.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from urllib.parse import quote

from openmaker.api.s3 import xml
from openmaker.api.s3.context import S3Context, decode_token, encode_token, quoted, run
from openmaker.api.s3.errors import InvalidArgument
from openmaker.api.s3.protocol import Request, Response, xml_response
from openmaker.api.s3.storage import ObjectInfo

MAX_KEYS = 1000


async def list_objects_v2(ctx: S3Context, req: Request) -> Response:
    """ListObjectsV2."""
    assert req.bucket is not None
    q = req.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    token, start_after = q.get("continuation-token"), q.get("start-after", "")
    after = decode_token(token) if token is not None else start_after
    max_keys = _max_keys(q.get("max-keys"))
    url = _encoding(q)
    entries, last = await run(_page, ctx, req.bucket, prefix, delimiter, after, max_keys)
    truncated = last is not None
    owner = ctx.owner if q.get("fetch-owner", "").lower() == "true" else None
    children: list[tuple[str, xml.Value]] = [
        ("Name", req.bucket),
        ("Prefix", url(prefix)),
        ("Delimiter", url(delimiter) or None),
        ("MaxKeys", max_keys),
        ("KeyCount", len(entries)),
        ("EncodingType", "url" if q.get("encoding-type") == "url" else None),
        ("IsTruncated", truncated),
        ("ContinuationToken", token),
        ("NextContinuationToken", encode_token(last) if last is not None else None),
        ("StartAfter", url(start_after) or None),
    ]
    children += _entries_xml(entries, url, owner)
    return xml_response(xml.document("ListBucketResult", children))


async def list_objects(ctx: S3Context, req: Request) -> Response:
    """ListObjects (v1)."""
    assert req.bucket is not None
    q = req.query
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    max_keys = _max_keys(q.get("max-keys"))
    url = _encoding(q)
    entries, last = await run(_page, ctx, req.bucket, prefix, delimiter, marker, max_keys)
    truncated = last is not None
    children: list[tuple[str, xml.Value]] = [
        ("Name", req.bucket),
        ("Prefix", url(prefix)),
        ("Marker", url(marker)),
        ("NextMarker", url(last) if last is not None else None),
        ("MaxKeys", max_keys),
        ("Delimiter", url(delimiter) or None),
        ("EncodingType", "url" if q.get("encoding-type") == "url" else None),
        ("IsTruncated", truncated),
    ]
    children += _entries_xml(entries, url, ctx.owner)
    return xml_response(xml.document("ListBucketResult", children))


def _page(
    ctx: S3Context, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
) -> tuple[list[tuple[str, ObjectInfo | None]], str | None]:
    """Up to ``max_keys`` entries ``(key, info)`` / ``(common prefix, None)``, and the last
    name of the page when more follow (``None`` when the listing is complete)."""
    found = list(
        itertools.islice(ctx.store.iter_entries(bucket, prefix, delimiter, after), max_keys + 1)
    )
    last = found[max_keys - 1][0] if max_keys and len(found) > max_keys else None
    entries: list[tuple[str, ObjectInfo | None]] = []
    for name, is_prefix in found[:max_keys]:
        if is_prefix:
            entries.append((name, None))
        elif (info := ctx.store.describe(bucket, name)) is not None:
            entries.append((name, info))
    return entries, last


def _entries_xml(
    entries: list[tuple[str, ObjectInfo | None]],
    url: Callable[[str], str],
    owner: list[tuple[str, str]] | None,
) -> list[tuple[str, xml.Value]]:
    contents: list[tuple[str, xml.Value]] = []
    prefixes: list[tuple[str, xml.Value]] = []
    for name, info in entries:
        if info is None:
            prefixes.append(("CommonPrefixes", [("Prefix", url(name))]))
            continue
        item: list[tuple[str, xml.Value]] = [
            ("Key", url(name)),
            ("LastModified", xml.timestamp(info.last_modified)),
            ("ETag", quoted(info.etag)),
            ("Size", info.size),
            ("StorageClass", "STANDARD"),
        ]
        if info.checksum:
            item.append(("ChecksumAlgorithm", info.checksum["algorithm"].upper()))
            item.append(("ChecksumType", info.checksum.get("type", "FULL_OBJECT")))
        if owner is not None:
            item.append(("Owner", owner))
        contents.append(("Contents", item))
    return contents + prefixes


def _encoding(query: dict[str, str]) -> Callable[[str], str]:
    encoding = query.get("encoding-type")
    if encoding is None:
        return lambda value: value
    if encoding != "url":
        raise InvalidArgument(
            f"Invalid Encoding Method specified in Request: {encoding!r} (only 'url').",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return lambda value: quote(value, safe="/")


def _max_keys(value: str | None) -> int:
    if value is None or value == "":
        return MAX_KEYS
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidArgument(
            f"Provided max-keys {value!r} is not a non-negative integer.",
            ArgumentName="max-keys",
            ArgumentValue=value,
        )
    return min(number, MAX_KEYS)
