"""AWS Signature Version 4 verification, for the API server's ``--auth`` mode and the S3 app.

:func:`verify` recomputes the signature of a request from the secret of the access key it
names and compares it with the one sent, exactly as AWS does: canonical request (method, URI,
sorted query, signed headers, payload hash), string to sign, signing key derived from the
secret, date, region and service of the credential scope. Both forms are accepted:

* the ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``
  header, with the date in ``X-Amz-Date`` (or ``Date``) no more than 15 minutes away from now;
* presigned URLs (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
  ``X-Amz-SignedHeaders``, ``X-Amz-Signature`` in the query), valid until they expire.

The payload hash is ``x-amz-content-sha256`` when the client sent it (S3 always does; it may
be ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` marker), else the SHA-256 of ``body``. When the
header holds a hex digest and ``body`` is given, the body must match it. A server that streams
the body (S3 uploads) passes ``body=None`` and checks the digest itself as the bytes arrive;
for ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` bodies :meth:`SignedRequest.chunk_verifier` checks
each chunk's signature.

URIs follow botocore: S3 signs the path exactly as sent; other services sign the path with dot
segments removed and percent-encoded once more. Pass the path as it came on the wire (still
percent-encoded: the ASGI ``raw_path``). The region and service are taken from the credential
scope and not checked against the server's own.

Errors are :class:`AuthError` subclasses; each has ``code`` (the AWS JSON protocol's code,
for example ``InvalidSignatureException``) and ``s3_code`` (S3's, ``SignatureDoesNotMatch``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import quote, unquote

from openmaker.errors import OpenmakerError

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MAX_CLOCK_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AUTH_PART = re.compile(r"(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)")

Query = str | Mapping[str, str] | Iterable[tuple[str, str]]


# --- errors ----------------------------------------------------------------------------------


class AuthError(OpenmakerError):
    """A request failed authentication.

    Attributes:
        code: the error code of AWS JSON services (SageMaker).
        s3_code: the error code S3 uses for the same failure.
    """

    kind: ClassVar[str] = "user"
    http_status: ClassVar[int] = 403
    code: ClassVar[str] = "AccessDeniedException"
    s3_code: ClassVar[str] = "AccessDenied"


class MissingAuthenticationError(AuthError):
    """The request carries no signature at all."""

    code = "MissingAuthenticationTokenException"
    s3_code = "AccessDenied"


class MalformedAuthorizationError(AuthError):
    """The signature is present but incomplete or unreadable (bad credential scope, no date)."""

    http_status = 400
    code = "IncompleteSignatureException"
    s3_code = "AuthorizationHeaderMalformed"


class InvalidAccessKeyError(AuthError):
    """The access key id is not one the server knows."""

    code = "UnrecognizedClientException"
    s3_code = "InvalidAccessKeyId"


class SignatureMismatchError(AuthError):
    """The signature differs from the one computed with the access key's secret."""

    code = "InvalidSignatureException"
    s3_code = "SignatureDoesNotMatch"


class RequestTimeSkewedError(AuthError):
    """The request's date is more than 15 minutes away from the server's clock."""

    code = "InvalidSignatureException"
    s3_code = "RequestTimeTooSkewed"


class PresignedUrlExpiredError(AuthError):
    """A presigned URL is used after ``X-Amz-Date + X-Amz-Expires``."""

    code = "InvalidSignatureException"
    s3_code = "AccessDenied"


class PayloadHashMismatchError(AuthError):
    """The body's SHA-256 differs from ``x-amz-content-sha256``."""

    http_status = 400
    code = "InvalidSignatureException"
    s3_code = "XAmzContentSHA256Mismatch"


# --- the signed request ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    """What a verified request was signed with.

    Attributes:
        access_key: the access key id.
        amz_date: the request timestamp (``YYYYMMDDTHHMMSSZ``).
        scope: the credential scope (``<date>/<region>/<service>/aws4_request``).
        region: the region of the scope.
        service: the service of the scope (``s3``, ``sagemaker``...).
        signature: the (verified) request signature, the seed of chunk signatures.
        payload_hash: the payload hash that was signed (a hex digest or a marker).
        presigned: whether the signature came in the query string.
    """

    access_key: str
    amz_date: str
    scope: str
    region: str
    service: str
    signature: str
    payload_hash: str
    presigned: bool
    signing_key: bytes

    def chunk_verifier(self) -> ChunkSignatureVerifier:
        """A checker for the chunk signatures of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``
        body, seeded with this request's signature."""
        return ChunkSignatureVerifier(self)


class ChunkSignatureVerifier:
    """Checks ``chunk-signature`` values in order, each chained to the previous one."""

    def __init__(self, request: SignedRequest) -> None:
        self._request = request
        self._previous = request.signature

    def verify_chunk(self, payload_sha256: str, signature: str) -> None:
        """Check one chunk's signature, given the SHA-256 hex digest of its data.

        Raises:
            SignatureMismatchError: the chunk was not signed with the request's key.
        """
        r = self._request
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                r.amz_date,
                r.scope,
                self._previous,
                EMPTY_SHA256,
                payload_sha256,
            ]
        )
        self._check(string_to_sign, signature, "chunk")

    def verify_trailer(self, trailer: bytes, signature: str) -> None:
        """Check the trailing headers' signature (``name:value\\n`` lines, in order).

        Raises:
            SignatureMismatchError: the trailer was not signed with the request's key.
        """
        r = self._request
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                r.amz_date,
                r.scope,
                self._previous,
                hashlib.sha256(trailer).hexdigest(),
            ]
        )
        self._check(string_to_sign, signature, "trailer")

    def _check(self, string_to_sign: str, signature: str, what: str) -> None:
        expected = _hmac(self._request.signing_key, string_to_sign).hex()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise SignatureMismatchError(
                f"The {what} signature we calculated does not match the signature you provided."
            )
        self._previous = expected


# --- verification ----------------------------------------------------------------------------


def verify(
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> str:
    """Verify a SigV4-signed request; returns its access key id.

    Args:
        method: the HTTP method.
        path: the request path as sent (percent-encoded), without the query.
        query: the raw query string, or its (decoded) name/value pairs.
        headers: the request headers (any case; repeated headers joined with ``,``).
        body: the request body, or ``None`` when the caller checks a streamed body itself.
        credentials: access key id -> secret access key.
        now: the server's clock (default: the current time).

    Raises:
        AuthError: the subclass says what is wrong (see the module doc).
    """
    return authenticate(method, path, query, headers, body, credentials, now=now).access_key


def authenticate(
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> SignedRequest:
    """Like :func:`verify`, but returns the whole :class:`SignedRequest`."""
    lower = {name.lower(): value for name, value in headers.items()}
    pairs = _query_pairs(query)
    now = _as_utc(now) if now is not None else datetime.now(UTC)
    query_names = {name for name, _ in pairs}
    if "X-Amz-Signature" in query_names or "X-Amz-Algorithm" in query_names:
        fields = _presigned_fields(pairs)
        presigned = True
    elif "authorization" in lower:
        fields = _header_fields(lower)
        presigned = False
    else:
        raise MissingAuthenticationError("Request is missing Authentication Token")

    access_key, date_stamp, region, service = _parse_credential(fields["credential"])
    amz_date = fields["date"]
    request_time = _parse_amz_date(amz_date)
    if amz_date[:8] != date_stamp:
        raise MalformedAuthorizationError(
            f"The credential date {date_stamp} does not match the request date {amz_date[:8]}."
        )
    _check_time(request_time, now, fields.get("expires"), amz_date)

    secret = credentials.get(access_key)
    if secret is None:
        raise InvalidAccessKeyError(
            "The AWS Access Key Id you provided does not exist in our records."
        )
    signed_headers = fields["signed_headers"].split(";")
    if "host" not in signed_headers:
        raise MalformedAuthorizationError("The host header must be signed (SignedHeaders).")
    payload_hash = _payload_hash(lower, body, service, presigned)

    canonical = "\n".join(
        [
            method.upper(),
            _canonical_uri(path, service),
            _canonical_query(p for p in pairs if p[0] != "X-Amz-Signature"),
            "".join(f"{h}:{_trimall(lower.get(h, ''))}\n" for h in signed_headers),
            fields["signed_headers"],
            payload_hash,
        ]
    )
    scope = f"{date_stamp}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = signing_key(secret, date_stamp, region, service)
    expected = _hmac(key, string_to_sign).hex()
    if not hmac.compare_digest(expected, fields["signature"].lower()):
        raise SignatureMismatchError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )
    return SignedRequest(
        access_key=access_key,
        amz_date=amz_date,
        scope=scope,
        region=region,
        service=service,
        signature=expected,
        payload_hash=payload_hash,
        presigned=presigned,
        signing_key=key,
    )


def signing_key(secret: str, date_stamp: str, region: str, service: str) -> bytes:
    """The SigV4 signing key: ``HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
    "aws4_request")``."""
    key = _hmac(f"AWS4{secret}".encode(), date_stamp)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def is_signed(headers: Mapping[str, str], query: Query) -> bool:
    """Whether the request carries a SigV4 signature (header or query)."""
    if any(name.lower() == "authorization" for name in headers):
        return True
    return any(name in ("X-Amz-Signature", "X-Amz-Algorithm") for name, _ in _query_pairs(query))


# --- helpers ---------------------------------------------------------------------------------


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _query_pairs(query: Query) -> list[tuple[str, str]]:
    if isinstance(query, str):
        pairs = []
        for piece in query.split("&"):
            if piece:
                name, _, value = piece.partition("=")
                pairs.append((unquote(name), unquote(value)))
        return pairs
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]
    return [(str(k), str(v)) for k, v in query]


def _canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _canonical_uri(path: str, service: str) -> str:
    path = path or "/"
    if service == "s3":
        return path
    return quote(_remove_dot_segments(path), safe="/~")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4 plus the removal of empty segments, as botocore does it.
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment and segment != ".":
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def _as_utc(moment: datetime) -> datetime:
    # A naive time (RFC 5322's "-0000" zone, or a caller's naive clock) is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _trimall(value: str) -> str:
    return " ".join(value.split())


def _header_fields(lower: Mapping[str, str]) -> dict[str, str]:
    header = lower["authorization"].strip()
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise MalformedAuthorizationError(
            f"Unsupported authorization type {algorithm!r}: only {ALGORITHM} (SigV4) is accepted."
        )
    parts = dict(_AUTH_PART.findall(rest))
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if not parts.get(p)]
    if missing:
        raise MalformedAuthorizationError(
            f"Authorization header requires {', '.join(missing)} parameter(s)."
        )
    if "x-amz-date" in lower:
        date = lower["x-amz-date"].strip()
    elif "date" in lower:
        try:
            parsed = parsedate_to_datetime(lower["date"])
            date = _as_utc(parsed).strftime(_TIMESTAMP)
        except (TypeError, ValueError):
            raise MalformedAuthorizationError(f"Bad Date header {lower['date']!r}.") from None
    else:
        raise MalformedAuthorizationError("Authorization requires an X-Amz-Date or Date header.")
    return {
        "credential": parts["Credential"],
        "signed_headers": parts["SignedHeaders"],
        "signature": parts["Signature"],
        "date": date,
    }


def _presigned_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params = dict(pairs)
    needed = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ]
    missing = [name for name in needed if not params.get(name)]
    if missing:
        raise MalformedAuthorizationError(
            f"Query-string authentication requires {', '.join(missing)}."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise MalformedAuthorizationError(
            f"X-Amz-Algorithm {params['X-Amz-Algorithm']!r} is not supported; use {ALGORITHM}."
        )
    return {
        "credential": params["X-Amz-Credential"],
        "signed_headers": params["X-Amz-SignedHeaders"],
        "signature": params["X-Amz-Signature"],
        "date": params["X-Amz-Date"],
        "expires": params["X-Amz-Expires"],
    }


def _parse_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise MalformedAuthorizationError(
            f"The credential {credential!r} is not <key>/<date>/<region>/<service>/aws4_request."
        )
    return parts[0], parts[1], parts[2], parts[3]


def _parse_amz_date(amz_date: str) -> datetime:
    try:
        return datetime.strptime(amz_date, _TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedAuthorizationError(
            f"X-Amz-Date {amz_date!r} is not in the form YYYYMMDDTHHMMSSZ."
        ) from None


def _check_time(request_time: datetime, now: datetime, expires: str | None, amz_date: str) -> None:
    if request_time - now > MAX_CLOCK_SKEW:
        raise RequestTimeSkewedError(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_CLOCK_SKEW).strftime(_TIMESTAMP)} ({now.strftime(_TIMESTAMP)} + 15 min.)"
        )
    if expires is None:
        if now - request_time > MAX_CLOCK_SKEW:
            raise RequestTimeSkewedError(
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - MAX_CLOCK_SKEW).strftime(_TIMESTAMP)} "
                f"({now.strftime(_TIMESTAMP)} - 15 min.)"
            )
        return
    try:
        seconds = int(expires)
    except ValueError:
        seconds = -1
    if not 0 < seconds <= MAX_PRESIGN_EXPIRES:
        raise MalformedAuthorizationError(
            f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds, got {expires!r}."
        )
    if now > request_time + timedelta(seconds=seconds):
        raise PresignedUrlExpiredError("Request has expired")


def _payload_hash(
    lower: Mapping[str, str], body: bytes | None, service: str, presigned: bool
) -> str:
    declared = lower.get("x-amz-content-sha256", "").strip()
    if declared:
        digest = declared.lower()
        if body is not None and _HEX64.match(digest) and hashlib.sha256(body).hexdigest() != digest:
            raise PayloadHashMismatchError(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        return declared
    if presigned and service == "s3":
        return UNSIGNED_PAYLOAD
    if body is None:
        raise MalformedAuthorizationError(
            "The request body is streamed, so it must be signed with x-amz-content-sha256."
        )
    return hashlib.sha256(body).hexdigest()
