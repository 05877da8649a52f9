"""S3's error codes as typed errors: each class carries the code and HTTP status S3 answers with.

The app renders any :class:`S3Error` as S3's error XML (``<Error><Code>...``); extra fields given
to the constructor (``BucketName``, ``Key``, ``ActualObjectSize``...) become elements of it.
"""

from __future__ import annotations

from typing import ClassVar

from openmaker.errors import OpenmakerError


class S3Error(OpenmakerError):
    """Root of the errors the S3 server answers with.

    Attributes:
        fields: extra elements of the error XML, in order (for example ``{"Key": "a/b"}``).
    """

    kind: ClassVar[str] = "user"
    http_status: ClassVar[int] = 400
    code: ClassVar[str] = "InvalidRequest"

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.fields = {name: str(value) for name, value in fields.items() if value is not None}


class InvalidRequest(S3Error):
    """The request is not valid for this operation."""


class InvalidArgument(S3Error):
    """A header, parameter or key is not acceptable."""

    code = "InvalidArgument"


class InvalidBucketName(S3Error):
    """The bucket name breaks S3's naming rules."""

    code = "InvalidBucketName"


class KeyTooLongError(S3Error):
    """The key is over 1024 bytes, or one of its ``/``-separated parts is too long to store."""

    code = "KeyTooLongError"


class MalformedXML(S3Error):
    """An XML request body could not be parsed or breaks its schema."""

    code = "MalformedXML"


class InvalidDigest(S3Error):
    """``Content-MD5`` or a checksum header is not a valid digest."""

    code = "InvalidDigest"


class BadDigest(S3Error):
    """The body does not match the ``Content-MD5`` or ``x-amz-checksum-*`` the client sent."""

    code = "BadDigest"


class ContentSHA256Mismatch(S3Error):
    """The body does not match ``x-amz-content-sha256``."""

    code = "XAmzContentSHA256Mismatch"


class IncompleteBody(S3Error):
    """The body is shorter than announced, or an ``aws-chunked`` body is malformed."""

    code = "IncompleteBody"


class EntityTooSmall(S3Error):
    """A multipart part other than the last is below the minimum part size."""

    code = "EntityTooSmall"


class EntityTooLarge(S3Error):
    """An XML request body is over its size limit."""

    code = "EntityTooLarge"


class InvalidPart(S3Error):
    """A part named in CompleteMultipartUpload was not uploaded, or its ETag differs."""

    code = "InvalidPart"


class InvalidPartOrder(S3Error):
    """CompleteMultipartUpload lists its parts out of ascending order."""

    code = "InvalidPartOrder"


class AccessDenied(S3Error):
    """The request is not allowed (unsigned with auth on, wrong expected bucket owner...)."""

    http_status = 403
    code = "AccessDenied"


class NoSuchBucket(S3Error):
    """The bucket does not exist."""

    http_status = 404
    code = "NoSuchBucket"


class NoSuchKey(S3Error):
    """The object does not exist."""

    http_status = 404
    code = "NoSuchKey"


class NoSuchUpload(S3Error):
    """The multipart upload does not exist (never created, completed or aborted)."""

    http_status = 404
    code = "NoSuchUpload"


class MethodNotAllowed(S3Error):
    """The HTTP method is not allowed on this resource."""

    http_status = 405
    code = "MethodNotAllowed"


class BucketAlreadyOwnedByYou(S3Error):
    """CreateBucket on a bucket that exists (every bucket here belongs to the one account)."""

    http_status = 409
    code = "BucketAlreadyOwnedByYou"


class BucketNotEmpty(S3Error):
    """DeleteBucket on a bucket that still holds objects."""

    http_status = 409
    code = "BucketNotEmpty"


class ObjectPrefixConflict(S3Error):
    """The key needs a folder where an object of the same name is stored, or the reverse.

    Objects are plain files under the store, so ``a`` and ``a/b`` cannot both exist (the
    limitation MinIO's file-system mode has too). Not an AWS code: AWS has no such limit.
    """

    http_status = 409
    code = "ObjectPrefixConflict"


class PreconditionFailed(S3Error):
    """An ``If-Match`` / ``If-Unmodified-Since`` / ``If-None-Match: *`` condition failed."""

    http_status = 412
    code = "PreconditionFailed"


class InvalidRange(S3Error):
    """The ``Range`` starts beyond the end of the object."""

    http_status = 416
    code = "InvalidRange"


class NotImplementedOperation(S3Error):
    """A sub-resource or header this server does not implement (ACLs, tagging, versioning...)."""

    http_status = 501
    code = "NotImplemented"


class InternalError(S3Error):
    """Something failed inside the server (never a user error); botocore retries it."""

    kind = "platform"
    http_status = 500
    code = "InternalError"
