"""Receiving request bodies with every integrity check S3 makes, streaming to disk.

What the client may send, and what is checked once the body is complete:

* ``Content-MD5`` (base64 MD5): compared with the body's MD5 (``BadDigest``);
* ``x-amz-content-sha256`` as a hex digest (SigV4 signed payload): compared with the body's
  SHA-256 (``XAmzContentSHA256Mismatch``);
* ``x-amz-checksum-<algorithm>`` headers, or the same names as ``aws-chunked`` trailers
  announced by ``x-amz-trailer`` (botocore's default CRC32 since 1.36): compared with the
  computed checksum (``BadDigest``) and kept with the object;
* ``Content-Encoding: aws-chunked`` bodies are decoded (chunk signatures checked when the
  request's signature was) and their length compared with ``x-amz-decoded-content-length``.

Digests are computed in the worker thread that writes the file, in 1 MiB slices, so a large
upload neither sits in memory nor blocks the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio.to_thread

from openmaker.api import auth
from openmaker.api.s3 import checksums
from openmaker.api.s3.chunked import AwsChunkedDecoder
from openmaker.api.s3.errors import (
    BadDigest,
    ContentSHA256Mismatch,
    EntityTooLarge,
    IncompleteBody,
    InvalidArgument,
    InvalidDigest,
)
from openmaker.api.s3.protocol import Request
from openmaker.api.s3.storage import StagedFile, Store

WRITE_SLICE = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class BodyChecks:
    """What a request announces about its body (parsed before any byte is read)."""

    chunked: bool = False
    verifier: auth.ChunkSignatureVerifier | None = None
    decoded_length: int | None = None
    content_md5: bytes | None = None
    sha256: str | None = None
    header_checksums: dict[str, str] = field(default_factory=dict)
    trailer_algorithm: str | None = None

    @property
    def algorithms(self) -> list[str]:
        """Flexible checksums to compute."""
        names = list(self.header_checksums)
        if self.trailer_algorithm and self.trailer_algorithm not in names:
            names.append(self.trailer_algorithm)
        return names


@dataclass
class Received:
    """A body received into the staging folder; ``checksum`` is what to store with it."""

    staged: StagedFile
    checksum: dict[str, str]


def body_checks(req: Request) -> BodyChecks:
    """Parse the body-related headers of ``req``.

    Raises:
        InvalidDigest: a malformed ``Content-MD5`` or checksum header.
        InvalidArgument: a bad ``x-amz-decoded-content-length`` or trailer declaration.
    """
    checks = BodyChecks()
    content_sha256 = (req.header("x-amz-content-sha256") or "").strip()
    encoding = req.header("content-encoding") or ""
    checks.chunked = "aws-chunked" in encoding.lower() or content_sha256.startswith("STREAMING-")
    if checks.chunked:
        if req.signed is not None and content_sha256 in (
            auth.STREAMING_SIGNED,
            auth.STREAMING_SIGNED_TRAILER,
        ):
            checks.verifier = req.signed.chunk_verifier()
        declared = req.header("x-amz-decoded-content-length")
        if declared is not None:
            checks.decoded_length = _non_negative(declared, "x-amz-decoded-content-length")
    else:
        declared = req.header("content-length")
        checks.decoded_length = _non_negative(declared, "Content-Length") if declared else None
    if _HEX64.match(content_sha256.lower()):
        checks.sha256 = content_sha256.lower()
    md5 = req.header("content-md5")
    if md5 is not None:
        try:
            checks.content_md5 = base64.b64decode(md5.strip(), validate=True)
        except (binascii.Error, ValueError):
            checks.content_md5 = b""
        if len(checks.content_md5) != 16:
            raise InvalidDigest(
                "The Content-MD5 you specified was invalid.", ArgumentName="Content-MD5"
            )
    for algorithm in checksums.ALGORITHMS:
        value = req.header(checksums.header_name(algorithm))
        if value is not None:
            checksums.check_encoded(algorithm, value.strip())
            checks.header_checksums[algorithm] = value.strip()
    trailer = req.header("x-amz-trailer")
    if trailer:
        name = trailer.strip().lower()
        algorithm = name.removeprefix("x-amz-checksum-")
        if not name.startswith("x-amz-checksum-") or algorithm not in checksums.ALGORITHMS:
            raise InvalidArgument(
                f"x-amz-trailer {trailer!r} must name an x-amz-checksum-<algorithm> header.",
                ArgumentName="x-amz-trailer",
            )
        checks.trailer_algorithm = algorithm
    return checks


async def receive_to_file(store: Store, req: Request, checks: BodyChecks) -> Received:
    """Receive the body into a staged file, checking it (see the module doc).

    The caller commits or discards ``Received.staged``; on any error here it is discarded.
    """
    staged = await anyio.to_thread.run_sync(
        lambda: store.new_staged_file(checks.algorithms, sha256=checks.sha256 is not None)
    )
    try:
        buffer = bytearray()
        decoder = AwsChunkedDecoder(checks.verifier) if checks.chunked else None
        async for piece in _payload(req, decoder):
            buffer += piece
            if len(buffer) >= WRITE_SLICE:
                data = bytes(buffer)
                buffer.clear()
                await anyio.to_thread.run_sync(staged.write, data)
        if buffer:
            await anyio.to_thread.run_sync(staged.write, bytes(buffer))
        trailers = decoder.finish() if decoder else {}
        checksum = _verify(
            checks, trailers, staged.size, staged.md5, staged.sha256_hex, staged.checksum_digest
        )
        return Received(staged, checksum)
    except BaseException:
        await anyio.to_thread.run_sync(staged.discard)
        raise


async def receive_bytes(req: Request, checks: BodyChecks, *, limit: int) -> bytes:
    """Receive a small body (XML) into memory, checking it like :func:`receive_to_file`.

    Raises:
        EntityTooLarge: the body is over ``limit`` bytes.
    """
    decoder = AwsChunkedDecoder(checks.verifier) if checks.chunked else None
    body = bytearray()
    async for piece in _payload(req, decoder):
        body += piece
        if len(body) > limit:
            raise EntityTooLarge(f"The request body is over {limit} bytes.")
    trailers = decoder.finish() if decoder else {}
    data = bytes(body)
    running = {a: c for a in checks.algorithms if (c := checksums.new_checksum(a)) is not None}
    for checksum in running.values():
        checksum.update(data)
    _verify(
        checks,
        trailers,
        len(data),
        hashlib.md5(data, usedforsecurity=False).digest(),
        hashlib.sha256(data).hexdigest() if checks.sha256 else None,
        lambda a: running[a].digest() if a in running else None,
    )
    return data


async def _payload(req: Request, decoder: AwsChunkedDecoder | None) -> AsyncIterator[bytes]:
    async for chunk in req.body_chunks():
        if decoder is None:
            yield chunk
        else:
            for piece in decoder.feed(chunk):
                yield piece


def _verify(
    checks: BodyChecks,
    trailers: dict[str, str],
    size: int,
    md5: bytes,
    sha256_hex: str | None,
    digest_of: Callable[[str], bytes | None],
) -> dict[str, str]:
    if checks.decoded_length is not None and size != checks.decoded_length:
        raise IncompleteBody(
            f"You did not provide the number of bytes specified: {checks.decoded_length} "
            f"announced, {size} received."
        )
    if checks.content_md5 is not None and checks.content_md5 != md5:
        raise BadDigest("The Content-MD5 you specified did not match what we received.")
    if checks.sha256 is not None and sha256_hex != checks.sha256:
        raise ContentSHA256Mismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ClientComputedContentSHA256=checks.sha256,
            S3ComputedContentSHA256=sha256_hex,
        )
    stored: dict[str, str] = {}
    sent = dict(checks.header_checksums)
    if checks.trailer_algorithm:
        value = trailers.get(checksums.header_name(checks.trailer_algorithm))
        if value is None:
            raise IncompleteBody(
                f"The body has no {checksums.header_name(checks.trailer_algorithm)} trailer, "
                "which x-amz-trailer announced."
            )
        checksums.check_encoded(checks.trailer_algorithm, value)
        sent[checks.trailer_algorithm] = value
    for algorithm, value in sent.items():
        checksums.verify(algorithm, value, digest_of(algorithm))
        if not stored:
            stored = {"algorithm": algorithm, "value": value, "type": "FULL_OBJECT"}
    return stored


def _non_negative(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidArgument(f"{name} {value!r} is not a non-negative integer.", ArgumentName=name)
    return number
