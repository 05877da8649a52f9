"""What every S3 handler works with: the stores, the server's identity, and shared helpers."""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio.to_thread

from openmaker.api.s3 import checksums
from openmaker.api.s3.errors import AccessDenied, InvalidArgument
from openmaker.api.s3.multipart import Uploads
from openmaker.api.s3.protocol import Request
from openmaker.api.s3.storage import ObjectFields, ObjectInfo, Store

T = TypeVar("T")

MAX_USER_METADATA = 2048
#: Representation headers kept with an object and sent back with it.
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)


@dataclass(frozen=True)
class S3Context:
    """The stores and the identity the server answers as.

    Attributes:
        store: buckets and objects.
        uploads: multipart uploads.
        region: the region reported for buckets created without a location constraint.
        account_id: the account every bucket belongs to (``x-amz-expected-bucket-owner``).
    """

    store: Store
    uploads: Uploads
    region: str
    account_id: str

    @property
    def owner(self) -> list[tuple[str, str]]:
        """The ``<Owner>`` of every bucket and object (a canonical-user-like id)."""
        canonical = hashlib.sha256(f"openmaker:{self.account_id}".encode()).hexdigest()
        return [("ID", canonical), ("DisplayName", "openmaker")]

    def check_owner(self, req: Request) -> None:
        """Refuse a request whose ``x-amz-expected-bucket-owner`` is another account.

        Raises:
            AccessDenied: as S3 does for a bucket owned by someone else.
        """
        for header in ("x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"):
            expected = req.header(header)
            if expected is not None and expected.strip() != self.account_id:
                raise AccessDenied("Access Denied", BucketName=req.bucket)


async def run(fn: Callable[..., T], *args: object) -> T:
    """Run blocking file-system work in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: fn(*args))


def quoted(etag: str) -> str:
    """An ETag as sent on the wire (in double quotes)."""
    return f'"{etag}"'


def http_date(epoch: float) -> str:
    """An HTTP date (``Last-Modified``)."""
    return email.utils.formatdate(epoch, usegmt=True)


def fields_from_request(req: Request) -> ObjectFields:
    """Content type, user metadata and representation headers of an upload.

    Raises:
        InvalidArgument: user metadata over 2 KB (S3's ``MetadataTooLarge`` limit).
    """
    metadata = {
        name.removeprefix("x-amz-meta-"): value
        for name, value in req.headers.items()
        if name.startswith("x-amz-meta-")
    }
    size = sum(len(k) + len(v) for k, v in metadata.items())
    if size > MAX_USER_METADATA:
        raise InvalidArgument(
            f"Your metadata headers exceed the maximum allowed metadata size: {size} bytes "
            f"of x-amz-meta-* headers, the limit is {MAX_USER_METADATA}.",
            ArgumentName="x-amz-meta-*",
        )
    headers = {}
    for name in STORED_HEADERS:
        value = req.header(name)
        if name == "content-encoding" and value is not None:
            # aws-chunked is the transfer framing of this request, not of the object.
            tokens = [t.strip() for t in value.split(",") if t.strip().lower() != "aws-chunked"]
            value = ",".join(tokens) or None
        if value is not None:
            headers[name] = value
    return ObjectFields(
        content_type=req.header("content-type") or "binary/octet-stream",
        metadata=metadata,
        headers=headers,
    )


def object_headers(info: ObjectInfo, *, checksum_mode: bool) -> list[tuple[str, str]]:
    """The headers describing an object in GetObject / HeadObject answers."""
    headers = [
        ("content-type", info.content_type),
        ("etag", quoted(info.etag)),
        ("last-modified", http_date(info.last_modified)),
        ("accept-ranges", "bytes"),
    ]
    headers += list(info.headers.items())
    headers += [(f"x-amz-meta-{name}", value) for name, value in info.metadata.items()]
    if info.parts:
        headers.append(("x-amz-mp-parts-count", str(info.parts)))
    if checksum_mode and info.checksum:
        headers += checksum_headers(info.checksum)
    return headers


def checksum_headers(checksum: dict[str, str]) -> list[tuple[str, str]]:
    """``x-amz-checksum-<algorithm>`` and ``x-amz-checksum-type`` of a stored checksum."""
    if not checksum:
        return []
    return [
        (checksums.header_name(checksum["algorithm"]), checksum["value"]),
        ("x-amz-checksum-type", checksum.get("type", "FULL_OBJECT")),
    ]


def checksum_elements(checksum: dict[str, str]) -> list[tuple[str, str]]:
    """``<ChecksumCRC32>`` and ``<ChecksumType>`` elements of a stored checksum."""
    if not checksum:
        return []
    return [
        (f"Checksum{checksums.display_name(checksum['algorithm'])}", checksum["value"]),
        ("ChecksumType", checksum.get("type", "FULL_OBJECT")),
    ]


def encode_token(last: str) -> str:
    """A continuation token resuming a listing after ``last`` (a key, prefix or bucket)."""
    return base64.urlsafe_b64encode(f"v1:{last}".encode()).decode()


def decode_token(token: str) -> str:
    """The name a continuation token resumes after.

    Raises:
        InvalidArgument: the token was not made by :func:`encode_token`.
    """
    try:
        text = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError):
        text = ""
    if not text.startswith("v1:"):
        raise InvalidArgument(
            "The continuation token provided is incorrect", ArgumentName="continuation-token"
        )
    return text[3:]
