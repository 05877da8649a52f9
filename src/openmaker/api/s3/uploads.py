"""Multipart upload operations: Create, UploadPart, UploadPartCopy, Complete, Abort,
ListParts and ListMultipartUploads (what ``upload_file`` / ``copy`` of large files use)."""

from __future__ import annotations

import base64
from urllib.parse import quote

from openmaker.api.s3 import checksums, xml
from openmaker.api.s3.bodies import body_checks, receive_bytes, receive_to_file
from openmaker.api.s3.context import (
    S3Context,
    checksum_elements,
    checksum_headers,
    fields_from_request,
    quoted,
    run,
)
from openmaker.api.s3.errors import InvalidArgument, InvalidRange, InvalidRequest, MalformedXML
from openmaker.api.s3.multipart import RequestedPart, Upload, check_part_number
from openmaker.api.s3.objects import check_copy_conditions, copy_into, parse_copy_source
from openmaker.api.s3.protocol import Request, Response, xml_response

MAX_COMPLETE_BODY = 2 * 1024 * 1024
_CHECKSUM_TYPES = ("COMPOSITE", "FULL_OBJECT")


async def create_multipart_upload(ctx: S3Context, req: Request) -> Response:
    """CreateMultipartUpload: a new upload id for the key."""
    assert req.bucket is not None and req.key is not None
    algorithm = req.header("x-amz-checksum-algorithm")
    if algorithm is not None:
        algorithm = checksums.parse_algorithm(algorithm, what="x-amz-checksum-algorithm")
    checksum_type = req.header("x-amz-checksum-type")
    if checksum_type is not None:
        checksum_type = checksum_type.strip().upper()
        if checksum_type not in _CHECKSUM_TYPES or algorithm is None:
            raise InvalidRequest(
                f"x-amz-checksum-type {checksum_type!r} needs x-amz-checksum-algorithm and must "
                "be COMPOSITE or FULL_OBJECT.",
                ArgumentName="x-amz-checksum-type",
            )
        if checksum_type == "FULL_OBJECT" and algorithm not in ("crc32", "crc32c", "crc64nvme"):
            raise InvalidRequest(
                "The FULL_OBJECT checksum type needs a CRC algorithm.",
                ArgumentName="x-amz-checksum-type",
            )
    elif algorithm is not None:
        checksum_type = "FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE"
    upload = await run(
        lambda: ctx.uploads.create(
            req.bucket or "",
            req.key or "",
            fields_from_request(req),
            checksum_algorithm=algorithm,
            checksum_type=checksum_type,
        )
    )
    headers = []
    if algorithm:
        headers = [
            ("x-amz-checksum-algorithm", checksums.display_name(algorithm)),
            ("x-amz-checksum-type", checksum_type or "COMPOSITE"),
        ]
    body = xml.document(
        "InitiateMultipartUploadResult",
        [("Bucket", req.bucket), ("Key", req.key), ("UploadId", upload.upload_id)],
    )
    return xml_response(body, headers=headers)


async def upload_part(ctx: S3Context, req: Request) -> Response:
    """UploadPart (and UploadPartCopy when ``x-amz-copy-source`` is set)."""
    assert req.bucket is not None and req.key is not None
    number = check_part_number(req.query.get("partNumber", ""))
    upload = await run(ctx.uploads.get, req.bucket, req.key, req.query["uploadId"])
    if req.header("x-amz-copy-source") is not None:
        return await _upload_part_copy(ctx, req, upload, number)
    checks = body_checks(req)
    received = await receive_to_file(ctx.store, req, checks)
    value = received.checksum.get("value") if received.checksum else None
    if value is not None and received.checksum["algorithm"] != upload.checksum_algorithm:
        value = None
    part = await run(ctx.uploads.commit_part, upload, number, received.staged, value)
    return Response(200, [("etag", quoted(part.etag)), *_part_checksum_headers(upload, value)])


async def _upload_part_copy(ctx: S3Context, req: Request, upload: Upload, number: int) -> Response:
    src_bucket, src_key = parse_copy_source(req)
    info, fh = await run(ctx.store.open_object, src_bucket, src_key)
    try:
        check_copy_conditions(req, info)
        start, length = 0, info.size
        wanted = req.header("x-amz-copy-source-range")
        if wanted is not None:
            start, end = _copy_range(wanted, info.size)
            length = end - start + 1
        algorithms = [upload.checksum_algorithm] if upload.checksum_algorithm else []
        staged = await run(ctx.store.new_staged_file, algorithms)
        await run(copy_into, fh, staged, start, length)
    finally:
        fh.close()
    value = None
    if upload.checksum_algorithm:
        digest = staged.checksum_digest(upload.checksum_algorithm)
        value = base64.b64encode(digest).decode() if digest is not None else None
    part = await run(ctx.uploads.commit_part, upload, number, staged, value)
    body = xml.document(
        "CopyPartResult",
        [("LastModified", xml.timestamp(part.last_modified)), ("ETag", quoted(part.etag))],
    )
    return xml_response(body, headers=_part_checksum_headers(upload, value))


async def complete_multipart_upload(ctx: S3Context, req: Request) -> Response:
    """CompleteMultipartUpload: assemble the listed parts into the object."""
    assert req.bucket is not None and req.key is not None
    upload_id = req.query["uploadId"]
    await run(ctx.uploads.get, req.bucket, req.key, upload_id)
    body = await receive_bytes(req, body_checks(req), limit=MAX_COMPLETE_BODY)
    root = xml.parse(body, root="CompleteMultipartUpload")
    requested = []
    for element in xml.children(root, "Part"):
        number_text = xml.child_text(element, "PartNumber")
        etag = xml.child_text(element, "ETag")
        if number_text is None or etag is None:
            raise MalformedXML(
                "The XML you provided was not well-formed or did not validate against our "
                "published schema: each Part needs a PartNumber and an ETag."
            )
        sent = {}
        for algorithm in checksums.ALGORITHMS:
            value = xml.child_text(element, f"Checksum{checksums.display_name(algorithm)}")
            if value:
                sent[algorithm] = value.strip()
        requested.append(RequestedPart(check_part_number(number_text.strip()), etag, sent))
    info = await run(ctx.uploads.complete, req.bucket, req.key, upload_id, requested)
    host = req.header("host", "localhost")
    location = f"http://{host}{req.mount}/{req.bucket}/{quote(req.key)}"
    result = xml.document(
        "CompleteMultipartUploadResult",
        [
            ("Location", location),
            ("Bucket", req.bucket),
            ("Key", req.key),
            ("ETag", quoted(info.etag)),
            *checksum_elements(info.checksum),
        ],
    )
    return xml_response(result, headers=checksum_headers(info.checksum))


async def abort_multipart_upload(ctx: S3Context, req: Request) -> Response:
    """AbortMultipartUpload: drop the upload and its parts."""
    assert req.bucket is not None and req.key is not None
    await run(ctx.uploads.abort, req.bucket, req.key, req.query["uploadId"])
    return Response(204)


async def list_parts(ctx: S3Context, req: Request) -> Response:
    """ListParts: the parts uploaded so far (``max-parts``, ``part-number-marker``)."""
    assert req.bucket is not None and req.key is not None
    upload = await run(ctx.uploads.get, req.bucket, req.key, req.query["uploadId"])
    max_parts = _bounded_int(req.query.get("max-parts"), "max-parts", 1000, cap=1000)
    marker = _bounded_int(req.query.get("part-number-marker"), "part-number-marker", 0)
    parts = [p for p in await run(ctx.uploads.parts, upload) if p.number > marker]
    page, truncated = parts[:max_parts], len(parts) > max_parts
    children: list[tuple[str, xml.Value]] = [
        ("Bucket", req.bucket),
        ("Key", req.key),
        ("UploadId", upload.upload_id),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1].number if page else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
        ("Initiator", ctx.owner),
        ("Owner", ctx.owner),
        ("StorageClass", "STANDARD"),
    ]
    if upload.checksum_algorithm:
        children.append(("ChecksumAlgorithm", checksums.display_name(upload.checksum_algorithm)))
    for part in page:
        entry: list[tuple[str, xml.Value]] = [
            ("PartNumber", part.number),
            ("LastModified", xml.timestamp(part.last_modified)),
            ("ETag", quoted(part.etag)),
            ("Size", part.size),
        ]
        if part.checksum and upload.checksum_algorithm:
            name = f"Checksum{checksums.display_name(upload.checksum_algorithm)}"
            entry.append((name, part.checksum))
        children.append(("Part", entry))
    return xml_response(xml.document("ListPartsResult", children))


async def list_multipart_uploads(ctx: S3Context, req: Request) -> Response:
    """ListMultipartUploads: uploads in progress (``prefix``, ``key-marker``,
    ``upload-id-marker``, ``max-uploads``)."""
    assert req.bucket is not None
    prefix = req.query.get("prefix", "")
    key_marker = req.query.get("key-marker", "")
    id_marker = req.query.get("upload-id-marker", "")
    max_uploads = _bounded_int(req.query.get("max-uploads"), "max-uploads", 1000, cap=1000)
    uploads = [
        u
        for u in await run(ctx.uploads.in_progress, req.bucket, prefix)
        if u.key > key_marker or (u.key == key_marker and id_marker and u.upload_id > id_marker)
    ]
    page, truncated = uploads[:max_uploads], len(uploads) > max_uploads
    children: list[tuple[str, xml.Value]] = [
        ("Bucket", req.bucket),
        ("KeyMarker", key_marker),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", page[-1].key if truncated else None),
        ("NextUploadIdMarker", page[-1].upload_id if truncated else None),
        ("Prefix", prefix),
        ("MaxUploads", max_uploads),
        ("IsTruncated", truncated),
    ]
    for upload in page:
        children.append(
            (
                "Upload",
                [
                    ("Key", upload.key),
                    ("UploadId", upload.upload_id),
                    ("Initiator", ctx.owner),
                    ("Owner", ctx.owner),
                    ("StorageClass", "STANDARD"),
                    ("Initiated", xml.timestamp(upload.initiated)),
                ],
            )
        )
    return xml_response(xml.document("ListMultipartUploadsResult", children))


def _part_checksum_headers(upload: Upload, value: str | None) -> list[tuple[str, str]]:
    if value is None or not upload.checksum_algorithm:
        return []
    return [(checksums.header_name(upload.checksum_algorithm), value)]


def _copy_range(header: str, size: int) -> tuple[int, int]:
    unit, _, spec = header.strip().partition("=")
    first, _, last = spec.partition("-")
    try:
        start, end = int(first), int(last)
    except ValueError:
        start, end = -1, -1
    if unit.strip().lower() != "bytes" or start < 0 or end < start:
        raise InvalidArgument(
            f"The x-amz-copy-source-range value {header!r} must be of the form bytes=first-last.",
            ArgumentName="x-amz-copy-source-range",
        )
    if end >= size:
        raise InvalidRange(
            "The requested range is not satisfiable", RangeRequested=header, ActualObjectSize=size
        )
    return start, end


def _bounded_int(value: str | None, name: str, default: int, *, cap: int | None = None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidArgument(
            f"Provided {name} {value!r} is not a non-negative integer.",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return number if cap is None else min(number, cap)
