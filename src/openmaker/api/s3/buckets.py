"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
GetBucketVersioning (never enabled here) and DeleteObjects."""

from __future__ import annotations

from openmaker.api.s3 import xml
from openmaker.api.s3.bodies import body_checks, receive_bytes
from openmaker.api.s3.context import S3Context, decode_token, encode_token, run
from openmaker.api.s3.errors import InvalidArgument, MalformedXML, S3Error
from openmaker.api.s3.protocol import Request, Response, xml_response

MAX_DELETE_KEYS = 1000
MAX_SMALL_BODY = 2 * 1024 * 1024


async def list_buckets(ctx: S3Context, req: Request) -> Response:
    """ListBuckets (``prefix``, ``max-buckets``, ``continuation-token``, ``bucket-region``)."""
    prefix = req.query.get("prefix", "")
    region = req.query.get("bucket-region")
    after = ""
    token = req.query.get("continuation-token")
    if token:
        after = decode_token(token)
    limit = _max_buckets(req.query.get("max-buckets"))
    buckets = [
        b
        for b in await run(ctx.store.list_buckets)
        if b.name.startswith(prefix) and b.name > after and (region is None or b.region == region)
    ]
    page = buckets[:limit] if limit else buckets
    truncated = limit is not None and len(buckets) > limit
    body = xml.document(
        "ListAllMyBucketsResult",
        [
            ("Owner", ctx.owner),
            (
                "Buckets",
                [
                    (
                        "Bucket",
                        [
                            ("Name", b.name),
                            ("CreationDate", xml.timestamp(b.created)),
                            ("BucketRegion", b.region),
                        ],
                    )
                    for b in page
                ],
            ),
            ("ContinuationToken", encode_token(page[-1].name) if truncated else None),
            ("Prefix", prefix or None),
        ],
    )
    return xml_response(body)


async def create_bucket(ctx: S3Context, req: Request) -> Response:
    """CreateBucket, with the region of ``CreateBucketConfiguration`` when given."""
    assert req.bucket is not None
    ctx.store.bucket_dir(req.bucket)  # validate the name before reading the body
    body = await receive_bytes(req, body_checks(req), limit=MAX_SMALL_BODY)
    region = None
    if body.strip():
        config = xml.parse(body, root="CreateBucketConfiguration")
        region = xml.child_text(config, "LocationConstraint") or None
    info = await run(ctx.store.create_bucket, req.bucket, region or ctx.region)
    return Response(200, [("location", f"/{info.name}")])


async def head_bucket(ctx: S3Context, req: Request) -> Response:
    """HeadBucket: 200 with the bucket's region, 404 when it does not exist."""
    assert req.bucket is not None
    info = await run(ctx.store.get_bucket, req.bucket)
    return Response(
        200, [("x-amz-bucket-region", info.region), ("x-amz-access-point-alias", "false")]
    )


async def delete_bucket(ctx: S3Context, req: Request) -> Response:
    """DeleteBucket: only an empty bucket."""
    assert req.bucket is not None
    await run(ctx.store.delete_bucket, req.bucket)
    return Response(204)


async def get_bucket_location(ctx: S3Context, req: Request) -> Response:
    """GetBucketLocation: empty for us-east-1, as S3 answers."""
    assert req.bucket is not None
    info = await run(ctx.store.get_bucket, req.bucket)
    region = None if info.region == "us-east-1" else info.region
    return xml_response(
        xml.document("LocationConstraint", [])
        if region is None
        else (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{xml.NAMESPACE}">'
            f"{region}</LocationConstraint>".encode()
        )
    )


async def get_bucket_versioning(ctx: S3Context, req: Request) -> Response:
    """GetBucketVersioning: versioning is never enabled here (an empty configuration)."""
    assert req.bucket is not None
    await run(ctx.store.get_bucket, req.bucket)
    return xml_response(xml.document("VersioningConfiguration", []))


async def delete_objects(ctx: S3Context, req: Request) -> Response:
    """DeleteObjects: up to 1000 keys; each is reported deleted or with its own error."""
    assert req.bucket is not None
    await run(ctx.store.get_bucket, req.bucket)
    body = await receive_bytes(req, body_checks(req), limit=MAX_SMALL_BODY)
    root = xml.parse(body, root="Delete")
    quiet = (xml.child_text(root, "Quiet") or "").strip().lower() == "true"
    keys = []
    for element in xml.children(root, "Object"):
        key = xml.child_text(element, "Key")
        if key is None:
            raise MalformedXML("Each Object of a DeleteObjects request needs a Key.")
        keys.append(key)
    if not keys or len(keys) > MAX_DELETE_KEYS:
        raise MalformedXML(
            f"The XML you provided was not well-formed or did not validate against our "
            f"published schema: DeleteObjects takes 1 to {MAX_DELETE_KEYS} keys, got {len(keys)}."
        )
    results: list[tuple[str, xml.Value]] = []
    for key in keys:
        try:
            await run(ctx.store.delete_object, req.bucket, key)
        except S3Error as exc:
            results.append(("Error", [("Key", key), ("Code", exc.code), ("Message", exc.message)]))
        else:
            if not quiet:
                results.append(("Deleted", [("Key", key)]))
    return xml_response(xml.document("DeleteResult", results))


def _max_buckets(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 10000:
        raise InvalidArgument(
            f"max-buckets must be between 1 and 10000 (got {value!r}).",
            ArgumentName="max-buckets",
        )
    return number
