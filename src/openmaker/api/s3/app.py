"""The S3 ASGI app: routing of path-style requests, optional SigV4 auth, S3 error XML.

Routes (``<mount>`` is the mount point, for example ``/s3``)::

    GET    <mount>/                                ListBuckets
    PUT    <mount>/<bucket>                        CreateBucket
    HEAD   <mount>/<bucket>                        HeadBucket
    DELETE <mount>/<bucket>                        DeleteBucket
    GET    <mount>/<bucket>?list-type=2            ListObjectsV2 (without: ListObjects v1)
    GET    <mount>/<bucket>?location|versioning|uploads
    POST   <mount>/<bucket>?delete                 DeleteObjects
    PUT    <mount>/<bucket>/<key>                  PutObject, CopyObject (x-amz-copy-source),
                                                   UploadPart[Copy] (?partNumber&uploadId)
    GET    <mount>/<bucket>/<key>                  GetObject (ListParts with ?uploadId)
    HEAD   <mount>/<bucket>/<key>                  HeadObject
    DELETE <mount>/<bucket>/<key>                  DeleteObject (?uploadId: AbortMultipartUpload)
    POST   <mount>/<bucket>/<key>?uploads          CreateMultipartUpload
    POST   <mount>/<bucket>/<key>?uploadId=...     CompleteMultipartUpload

Sub-resources this server does not keep (ACLs, tagging, policies, lifecycle, versions...) are
answered with 501 ``NotImplemented`` rather than silently ignored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from openmaker.api import auth
from openmaker.api.s3 import buckets, listing, objects, uploads, xml
from openmaker.api.s3.context import S3Context
from openmaker.api.s3.errors import (
    AccessDenied,
    InternalError,
    InvalidArgument,
    MethodNotAllowed,
    NotImplementedOperation,
    S3Error,
)
from openmaker.api.s3.multipart import DEFAULT_MIN_PART_SIZE, Uploads
from openmaker.api.s3.protocol import (
    ClientDisconnected,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    parse_request,
    send_response,
)
from openmaker.api.s3.storage import Store
from openmaker.errors import OpenmakerError

logger = logging.getLogger(__name__)

Handler = Callable[[S3Context, Request], Awaitable[Response]]

#: S3 sub-resources that are not implemented here (any method).
UNSUPPORTED = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metadataTable",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "session",
        "tagging",
        "torrent",
        "versions",
        "website",
    }
)


class S3App:
    """An ASGI app serving the S3 subset (see the module doc). Build it with
    :func:`create_s3_app`."""

    def __init__(
        self,
        context: S3Context,
        *,
        prefix: str = "",
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.context = context
        self.prefix = prefix.rstrip("/")
        self.credentials = dict(credentials) if credentials is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = uuid.uuid4().hex[:16].upper()
        req = parse_request(scope, receive, self.prefix, request_id)
        try:
            response = await self.handle(req)
        except ClientDisconnected:
            return
        if response.status >= 300 and req.has_body and not req.body_read:
            # The body was refused unread: close rather than read it (it may be gigabytes).
            response.headers.append(("connection", "close"))
        await send_response(
            send, response, request_id, head=req.method == "HEAD", receive=req.receive
        )

    async def handle(self, req: Request) -> Response:
        """Authenticate, route and run one request; every failure becomes S3 error XML."""
        try:
            if self.credentials is not None:
                req.signed = self._authenticate(req)
            return await self._route(req)(self.context, req)
        except ClientDisconnected:
            raise
        except S3Error as exc:
            return error_response(exc.code, exc.message, exc.http_status, req, exc.fields)
        except auth.AuthError as exc:
            return error_response(exc.s3_code, exc.message, exc.http_status, req)
        except OpenmakerError as exc:
            code = "InvalidRequest" if exc.http_status < 500 else "InternalError"
            return error_response(code, exc.message, exc.http_status, req)
        except Exception:
            logger.exception("S3 %s %s failed", req.method, req.resource)
            return error_response(
                InternalError.code,
                "We encountered an internal error. Please try again.",
                InternalError.http_status,
                req,
            )

    def _authenticate(self, req: Request) -> auth.SignedRequest:
        assert self.credentials is not None
        if not auth.is_signed(req.headers, req.raw_query):
            raise AccessDenied("Access Denied: this server requires SigV4-signed requests.")
        return auth.authenticate(
            req.method, req.raw_path, req.raw_query, req.headers, None, self.credentials
        )

    def _route(self, req: Request) -> Handler:
        method, query = req.method, req.query
        if req.bucket is None:
            if method in ("GET", "HEAD"):
                return buckets.list_buckets
            raise MethodNotAllowed(
                "The specified method is not allowed against this resource.",
                Method=method,
                ResourceType="SERVICE",
            )
        self.context.check_owner(req)
        unsupported = sorted(UNSUPPORTED.intersection(query))
        if unsupported:
            raise NotImplementedOperation(
                f"This server does not implement the {unsupported[0]!r} sub-resource.",
                ArgumentName=unsupported[0],
            )
        if query.get("versionId", "null") != "null":
            raise InvalidArgument(
                "Invalid version id specified: this server does not keep object versions.",
                ArgumentName="versionId",
                ArgumentValue=query["versionId"],
            )
        handler = _bucket_route(method, query) if req.key is None else _object_route(req)
        if handler is None:
            raise MethodNotAllowed(
                "The specified method is not allowed against this resource.",
                Method=method,
                ResourceType="OBJECT" if req.key is not None else "BUCKET",
            )
        return handler


def _bucket_route(method: str, query: Mapping[str, str]) -> Handler | None:
    if method == "GET":
        if "location" in query:
            return buckets.get_bucket_location
        if "versioning" in query:
            return buckets.get_bucket_versioning
        if "uploads" in query:
            return uploads.list_multipart_uploads
        return listing.list_objects_v2 if query.get("list-type") == "2" else listing.list_objects
    if "versioning" in query or "location" in query or "uploads" in query:
        return None
    if method == "PUT":
        return buckets.create_bucket
    if method == "HEAD":
        return buckets.head_bucket
    if method == "DELETE":
        return buckets.delete_bucket
    if method == "POST" and "delete" in query:
        return buckets.delete_objects
    return None


def _object_route(req: Request) -> Handler | None:
    method, query = req.method, req.query
    if method == "PUT":
        if "uploadId" in query or "partNumber" in query:
            return uploads.upload_part
        if req.header("x-amz-copy-source") is not None:
            return objects.copy_object
        return objects.put_object
    if method == "GET" and "uploadId" in query:
        return uploads.list_parts
    if method in ("GET", "HEAD"):
        return objects.get_object
    if method == "DELETE":
        return uploads.abort_multipart_upload if "uploadId" in query else objects.delete_object
    if method == "POST":
        if "uploads" in query:
            return uploads.create_multipart_upload
        if "uploadId" in query:
            return uploads.complete_multipart_upload
    return None


def error_response(
    code: str, message: str, status: int, req: Request, fields: Mapping[str, str] | None = None
) -> Response:
    """S3's error document (``HEAD`` answers carry the status only, as S3's do)."""
    children: list[tuple[str, xml.Value]] = [("Code", code), ("Message", message)]
    children += list((fields or {}).items())
    children += [("Resource", req.resource), ("RequestId", req.request_id)]
    body = xml.document("Error", children, namespace=False)
    headers = [("content-type", "application/xml")]
    if status == 405:
        headers.append(("allow", "GET, PUT, HEAD, DELETE, POST"))
    return Response(status, headers, body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_s3_app(
    root: str | Path | None = None,
    *,
    prefix: str = "",
    credentials: Mapping[str, str] | None = None,
    region: str | None = None,
    account_id: str | None = None,
    min_part_size: int = DEFAULT_MIN_PART_SIZE,
) -> S3App:
    """The S3 server as an ASGI app.

    Args:
        root: the folder holding the buckets (default ``$OPENMAKER_HOME/s3``).
        prefix: a path prefix to strip (``"/s3"``) when the app receives the full path; a
            mount that sets the ASGI ``root_path`` (Starlette's ``Mount``, uvicorn's
            ``--root-path``) needs none.
        credentials: access key id -> secret. When given, every request must be signed
            with SigV4 (header or presigned URL) by one of them; otherwise signatures are
            not checked.
        region: the region of buckets created without a location constraint (default: the
            ``OPENMAKER_REGION`` setting).
        account_id: the owner account; requests expecting another bucket owner are refused
            (default: the ``OPENMAKER_ACCOUNT_ID`` setting).
        min_part_size: the smallest multipart part but the last (S3: 5 MiB).

    Returns:
        An ASGI application: serve it with uvicorn, or mount it into another app.
    """
    from openmaker.settings import get_settings

    settings = get_settings()
    region = region or settings.region
    store = Store(root if root is not None else settings.home / "s3", default_region=region)
    context = S3Context(
        store=store,
        uploads=Uploads(store, min_part_size=min_part_size),
        region=region,
        account_id=account_id or settings.account_id,
    )
    return S3App(context, prefix=prefix, credentials=credentials)
