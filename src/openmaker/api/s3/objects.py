"""Object operations: PutObject, GetObject (ranges, conditions), HeadObject, DeleteObject and
CopyObject. Bodies stream from and to disk in 1 MiB slices through worker threads."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from typing import BinaryIO
from urllib.parse import unquote

import anyio.to_thread

from openmaker.api.s3 import xml
from openmaker.api.s3.bodies import body_checks, receive_to_file
from openmaker.api.s3.context import (
    S3Context,
    checksum_elements,
    checksum_headers,
    fields_from_request,
    http_date,
    object_headers,
    quoted,
    run,
)
from openmaker.api.s3.errors import (
    InvalidArgument,
    InvalidRange,
    InvalidRequest,
    NotImplementedOperation,
    PreconditionFailed,
)
from openmaker.api.s3.protocol import Request, Response, xml_response
from openmaker.api.s3.storage import COPY_BUFFER, ObjectFields, ObjectInfo, StagedFile

_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


async def put_object(ctx: S3Context, req: Request) -> Response:
    """PutObject: store the body as the object (atomically, replacing any previous one)."""
    assert req.bucket is not None and req.key is not None
    await run(ctx.store.object_path, req.bucket, req.key)  # fail before reading the body
    fields = fields_from_request(req)
    if_none_match = _if_none_match_star(req)
    received = await receive_to_file(ctx.store, req, body_checks(req))
    info = await run(
        lambda: ctx.store.commit(
            req.bucket or "",
            req.key or "",
            received.staged,
            fields,
            checksum=received.checksum,
            if_none_match=if_none_match,
        )
    )
    return Response(200, [("etag", quoted(info.etag)), *checksum_headers(info.checksum)])


async def get_object(ctx: S3Context, req: Request) -> Response:
    """GetObject and HeadObject: the object's headers, and for GET its bytes (or a range)."""
    assert req.bucket is not None and req.key is not None
    info, fh = await run(ctx.store.open_object, req.bucket, req.key)
    try:
        not_modified = _check_conditions(req, info)
        if not_modified:
            fh.close()
            return Response(
                304, [("etag", quoted(info.etag)), ("last-modified", http_date(info.last_modified))]
            )
        part = req.query.get("partNumber")
        if part is not None and not (part == "1" and info.parts == 0):
            raise NotImplementedOperation(
                "GetObject/HeadObject with partNumber is only supported for partNumber=1 of an "
                "object uploaded in one piece.",
                ArgumentName="partNumber",
            )
        byte_range = parse_range(req.header("range"), info.size)
        checksum_mode = (req.header("x-amz-checksum-mode") or "").upper() == "ENABLED"
        headers = object_headers(info, checksum_mode=checksum_mode and byte_range is None)
        overrides = {
            header: req.query[param]
            for param, header in _RESPONSE_OVERRIDES.items()
            if param in req.query
        }
        headers = [(n, v) for n, v in headers if n not in overrides] + list(overrides.items())
        status, start, length = 200, 0, info.size
        if byte_range is not None:
            start, end = byte_range
            status, length = 206, end - start + 1
            headers.append(("content-range", f"bytes {start}-{end}/{info.size}"))
        if req.method == "HEAD":
            fh.close()
            return Response(status, headers, length=length)
        return Response(status, headers, _stream(fh, start, length), length=length)
    except BaseException:
        fh.close()
        raise


async def delete_object(ctx: S3Context, req: Request) -> Response:
    """DeleteObject: 204 whether or not the key existed (as in S3)."""
    assert req.bucket is not None and req.key is not None
    await run(ctx.store.delete_object, req.bucket, req.key)
    return Response(204)


async def copy_object(ctx: S3Context, req: Request) -> Response:
    """CopyObject: copy another object (``x-amz-copy-source``), its metadata too unless
    ``x-amz-metadata-directive: REPLACE``."""
    assert req.bucket is not None and req.key is not None
    await run(ctx.store.object_path, req.bucket, req.key)
    src_bucket, src_key = parse_copy_source(req)
    directive = (req.header("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise InvalidArgument(
            f"Unknown metadata directive {directive!r}: use COPY or REPLACE.",
            ArgumentName="x-amz-metadata-directive",
        )
    if (src_bucket, src_key) == (req.bucket, req.key) and directive == "COPY":
        raise InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes."
        )
    info, fh = await run(ctx.store.open_object, src_bucket, src_key)
    try:
        check_copy_conditions(req, info)
        if directive == "COPY":
            fields = ObjectFields(info.content_type, dict(info.metadata), dict(info.headers))
        else:
            fields = fields_from_request(req)
        staged = await run(ctx.store.new_staged_file)
        await run(copy_into, fh, staged, 0, info.size)
    finally:
        fh.close()
    checksum = info.checksum if info.checksum.get("type") == "FULL_OBJECT" else {}
    new = await run(
        lambda: ctx.store.commit(
            req.bucket or "",
            req.key or "",
            staged,
            fields,
            checksum=checksum,
            if_none_match=_if_none_match_star(req),
        )
    )
    body = xml.document(
        "CopyObjectResult",
        [
            ("LastModified", xml.timestamp(new.last_modified)),
            ("ETag", quoted(new.etag)),
            *checksum_elements(new.checksum),
        ],
    )
    return xml_response(body)


# --- helpers shared with multipart (UploadPartCopy) ---------------------------------------------


def parse_copy_source(req: Request) -> tuple[str, str]:
    """The bucket and key of ``x-amz-copy-source`` (``[/]bucket/key[?versionId=...]``).

    Raises:
        InvalidArgument: the header is malformed or names a version.
    """
    raw = req.header("x-amz-copy-source") or ""
    source, _, version = raw.partition("?")
    bucket, _, key = unquote(source).lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidArgument(
            f"Copy Source must mention the source bucket and key: sourcebucket/sourcekey "
            f"(got {raw!r}).",
            ArgumentName="x-amz-copy-source",
        )
    if version and version not in ("versionId=null", "versionId="):
        raise InvalidArgument(
            "This server does not keep object versions; copy sources cannot name one.",
            ArgumentName="x-amz-copy-source",
        )
    return bucket, key


def check_copy_conditions(req: Request, info: ObjectInfo) -> None:
    """The ``x-amz-copy-source-if-*`` conditions (all failures are 412 for copies)."""
    match = req.header("x-amz-copy-source-if-match")
    none_match = req.header("x-amz-copy-source-if-none-match")
    modified = _parse_http_date(req.header("x-amz-copy-source-if-modified-since"))
    unmodified = _parse_http_date(req.header("x-amz-copy-source-if-unmodified-since"))
    failed = None
    if match is not None and not _etag_matches(match, info.etag):
        failed = "x-amz-copy-source-If-Match"
    elif match is None and unmodified is not None and int(info.last_modified) > unmodified:
        failed = "x-amz-copy-source-If-Unmodified-Since"
    elif none_match is not None and _etag_matches(none_match, info.etag):
        failed = "x-amz-copy-source-If-None-Match"
    elif none_match is None and modified is not None and int(info.last_modified) <= modified:
        failed = "x-amz-copy-source-If-Modified-Since"
    if failed:
        raise PreconditionFailed(
            "At least one of the pre-conditions you specified did not hold", Condition=failed
        )


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` of a ``Range: bytes=...`` header, or ``None`` for the
    whole object. Malformed and multi-range headers are ignored, as S3 does.

    Raises:
        InvalidRange: the range starts at or beyond the end of the object.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first.strip() == "":
            suffix = int(last)
            if suffix < 0:
                return None
            if suffix == 0 or size == 0:
                raise _invalid_range(header, size)
            return max(0, size - suffix), size - 1
        start = int(first)
        end = int(last) if last.strip() else None
    except ValueError:
        return None
    if start < 0 or (end is not None and end < start):
        return None
    if start >= size:
        raise _invalid_range(header, size)
    return start, size - 1 if end is None else min(end, size - 1)


def _invalid_range(header: str, size: int) -> InvalidRange:
    return InvalidRange(
        "The requested range is not satisfiable", RangeRequested=header, ActualObjectSize=size
    )


def copy_into(fh: BinaryIO, staged: StagedFile, start: int, length: int) -> None:
    """Copy ``length`` bytes of an open object from ``start`` into a staged file."""
    fh.seek(start)
    while length > 0:
        chunk = fh.read(min(COPY_BUFFER, length))
        if not chunk:
            break
        staged.write(chunk)
        length -= len(chunk)


async def _stream(fh: BinaryIO, start: int, length: int) -> AsyncIterator[bytes]:
    try:
        await anyio.to_thread.run_sync(fh.seek, start)
        while length > 0:
            chunk = await anyio.to_thread.run_sync(fh.read, min(COPY_BUFFER, length))
            if not chunk:
                break  # truncated underneath us; the client sees a short body
            length -= len(chunk)
            yield chunk
    finally:
        fh.close()


def _check_conditions(req: Request, info: ObjectInfo) -> bool:
    """GET/HEAD conditions: raises 412 for failed If-Match / If-Unmodified-Since; returns
    ``True`` for 304 (If-None-Match / If-Modified-Since)."""
    match = req.header("if-match")
    none_match = req.header("if-none-match")
    modified = _parse_http_date(req.header("if-modified-since"))
    unmodified = _parse_http_date(req.header("if-unmodified-since"))
    if match is not None:
        if not _etag_matches(match, info.etag):
            raise PreconditionFailed(
                "At least one of the pre-conditions you specified did not hold",
                Condition="If-Match",
            )
    elif unmodified is not None and int(info.last_modified) > unmodified:
        raise PreconditionFailed(
            "At least one of the pre-conditions you specified did not hold",
            Condition="If-Unmodified-Since",
        )
    if none_match is not None:
        return _etag_matches(none_match, info.etag)
    return modified is not None and int(info.last_modified) <= modified


def _if_none_match_star(req: Request) -> bool:
    value = req.header("if-none-match")
    if value is None:
        return False
    if value.strip() != "*":
        raise NotImplementedOperation(
            "Conditional writes only support If-None-Match: *.", ArgumentName="If-None-Match"
        )
    return True


def _etag_matches(header: str, etag: str) -> bool:
    wanted = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in wanted or etag in wanted


def _parse_http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None
