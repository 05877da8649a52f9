"""S3's flexible checksums (``x-amz-checksum-<algorithm>``): compute, compare, combine.

CRC32, SHA-1, SHA-256 and SHA-512 are computed with the standard library. CRC32C and
CRC64NVME need ``awscrt`` (botocore's optional ``[crt]`` extra, the only way a client sends
them); without it such checksums are stored and echoed back but not verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from openmaker.api.s3.errors import BadDigest, InvalidDigest, InvalidRequest

ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512")
_DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32, "sha512": 64}
_NAMES = {
    "crc32": "CRC32",
    "crc32c": "CRC32C",
    "crc64nvme": "CRC64NVME",
    "sha1": "SHA1",
    "sha256": "SHA256",
    "sha512": "SHA512",
}


class Checksum(Protocol):
    """A running checksum."""

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A CRC kept as an integer and written big-endian, as S3 does."""

    def __init__(self, fn: Callable[[bytes, int], int], size: int) -> None:
        self._fn, self._size, self._value = fn, size, 0

    def update(self, data: bytes) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


def _crt_function(name: str) -> Callable[[bytes, int], int] | None:
    try:
        from awscrt import checksums  # type: ignore[import-not-found]
    except ImportError:
        return None
    return getattr(checksums, name, None)


def new_checksum(algorithm: str) -> Checksum | None:
    """A running checksum for ``algorithm`` (lower case), or ``None`` when it cannot be
    computed here (CRC32C / CRC64NVME without ``awscrt``)."""
    if algorithm == "crc32":
        return _Crc(zlib.crc32, 4)
    if algorithm in ("sha1", "sha256", "sha512"):
        return hashlib.new(algorithm)
    if algorithm in ("crc32c", "crc64nvme"):
        fn = _crt_function(algorithm)
        return _Crc(fn, _DIGEST_SIZES[algorithm]) if fn else None
    return None


def header_name(algorithm: str) -> str:
    """``x-amz-checksum-<algorithm>``."""
    return f"x-amz-checksum-{algorithm}"


def display_name(algorithm: str) -> str:
    """S3's spelling of the algorithm (``CRC32``, ``SHA256``...)."""
    return _NAMES[algorithm]


def parse_algorithm(value: str, *, what: str) -> str:
    """The lower-case algorithm named by a header such as ``x-amz-checksum-algorithm``.

    Raises:
        InvalidRequest: the algorithm is not one S3 knows.
    """
    algorithm = value.strip().lower()
    if algorithm not in ALGORITHMS:
        raise InvalidRequest(
            f"{what} {value!r} is not a supported checksum algorithm "
            f"(use one of {', '.join(_NAMES.values())}).",
            ArgumentName=what,
        )
    return algorithm


def check_encoded(algorithm: str, value: str) -> bytes:
    """Decode a base64 checksum value and check its length.

    Raises:
        InvalidDigest: not base64, or not the algorithm's digest size.
    """
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _DIGEST_SIZES[algorithm]:
        raise InvalidDigest(
            f"The {header_name(algorithm)} value {value!r} is not a base64 "
            f"{display_name(algorithm)} digest.",
            ArgumentName=header_name(algorithm),
        )
    return raw


def verify(algorithm: str, expected_b64: str, computed: bytes | None) -> None:
    """Compare a computed digest with the base64 value the client sent.

    Raises:
        BadDigest: they differ.
    """
    if computed is not None and check_encoded(algorithm, expected_b64) != computed:
        raise BadDigest(
            f"The {display_name(algorithm)} you specified did not match the calculated checksum.",
            ArgumentName=header_name(algorithm),
        )


def composite(algorithm: str, part_digests: list[bytes]) -> str | None:
    """S3's multipart checksum ``base64(checksum(concat(part digests)))-N``; ``None`` when the
    algorithm cannot be computed here."""
    checksum = new_checksum(algorithm)
    if checksum is None:
        return None
    for digest in part_digests:
        checksum.update(digest)
    return f"{base64.b64encode(checksum.digest()).decode()}-{len(part_digests)}"
