"""Bucket names, object keys, and the one mapping from a key to a file inside the store.

Path safety rests on this module. A key is split on ``/`` and each part becomes exactly one
file-name component through :func:`encode_part`, which never yields a name that the file
system would read as a separator, ``.`` or ``..``, or that starts with ``.`` (names starting
with ``.`` are reserved for the store's own sidecar, temporary and bucket files). Keys whose
parts are ``.`` or ``..`` and keys holding NUL are refused outright with ``InvalidArgument``
(they name no sensible object and clients normalise them inconsistently), so
``../../etc/passwd``, ``/abs/path``, ``a\\..\\b`` can never reach outside the bucket folder:
the first is refused, the others are stored under encoded names (``%``, ``a%5C..%5Cb``).

Encoding: characters outside ``[A-Za-z0-9 -_.~!$&'()+,;=@]`` and non-printable characters are
written as ``%XX`` per UTF-8 byte (printable non-ASCII characters are kept as they are); a
leading ``.`` becomes ``%2E``; the empty part (``a//b``, a trailing ``/`` of a folder marker)
becomes ``%``. The mapping is one-to-one: :func:`decode_part` accepts only names in this
canonical form, so a file dropped into the store by hand shows up as an object when its name
is already canonical (ordinary names are) and is ignored otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

from openmaker.api.s3.errors import InvalidArgument, InvalidBucketName, KeyTooLongError

MAX_KEY_BYTES = 1024
MAX_NAME_BYTES = 255
EMPTY_PART = "%"

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.~!$&'()+,;=@")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def validate_bucket_name(name: str) -> str:
    """Check a bucket name against S3's rules (3-63 characters of ``a-z 0-9 . -``, starting and
    ending with a letter or digit, no ``..``, not an IP address, none of AWS's reserved
    prefixes and suffixes).

    Raises:
        InvalidBucketName: naming the rule that is broken.
    """
    problem = None
    if not _BUCKET.match(name):
        problem = (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    elif ".." in name or ".-" in name or "-." in name:
        problem = "must not contain '..', '.-' or '-.'"
    elif _IPV4.match(name):
        problem = "must not be formatted as an IP address"
    elif name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        problem = "uses a prefix or suffix reserved by S3"
    if problem:
        raise InvalidBucketName(
            f"The specified bucket is not valid: {name!r} {problem}.", BucketName=name
        )
    return name


def split_key(key: str) -> list[str]:
    """The ``/``-separated parts of a valid key.

    Raises:
        KeyTooLongError: the key is over 1024 bytes of UTF-8, or a part's stored name would
            be over 255 bytes (the file-system limit on one name).
        InvalidArgument: the key is empty, holds NUL, or has a ``.`` or ``..`` part.
    """
    if not key:
        raise InvalidArgument("An object key must not be empty.", ArgumentName="key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise KeyTooLongError(
            f"Your key is too long: {len(key.encode('utf-8', 'surrogatepass'))} bytes, "
            f"the limit is {MAX_KEY_BYTES}.",
            Key=key[:100],
        )
    if "\x00" in key:
        raise InvalidArgument("Object key must not contain NUL characters.", Key=key)
    parts = key.split("/")
    for part in parts:
        if part in (".", ".."):
            raise InvalidArgument(
                f"Object key {key!r} has a {part!r} path segment; keys with '.' or '..' "
                "segments are not accepted.",
                Key=key,
            )
        if len(encode_part(part).encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise KeyTooLongError(
                f"Object key {key[:100]!r} has a segment that is too long to store: "
                f"{MAX_NAME_BYTES} bytes at most between two '/' once encoded.",
                Key=key[:100],
            )
    return parts


def encode_part(part: str) -> str:
    """The file name that stores one ``/``-separated part of a key (see the module doc)."""
    if part == "":
        return EMPTY_PART
    out = []
    for i, ch in enumerate(part):
        safe_ascii = ch in _SAFE and not (i == 0 and ch == ".")
        printable = ord(ch) > 127 and ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF
        if safe_ascii or printable:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def decode_part(name: str) -> str | None:
    """The key part stored under file name ``name``; ``None`` for a name that is not in
    canonical form (reserved ``.`` names, files added by hand with other characters)."""
    if name == EMPTY_PART:
        return ""
    if name.startswith(".") or not name:
        return None
    if "%" not in name:
        part = name
    else:
        raw = bytearray()
        i = 0
        try:
            while i < len(name):
                if name[i] == "%":
                    raw.append(int(name[i + 1 : i + 3], 16))
                    i += 3
                else:
                    raw.extend(name[i].encode("utf-8", "surrogatepass"))
                    i += 1
            part = raw.decode("utf-8")
        except (ValueError, IndexError, UnicodeDecodeError):
            return None
    return part if encode_part(part) == name else None


def key_path(bucket_dir: Path, key: str) -> Path:
    """The file holding ``key``'s data under ``bucket_dir`` (validates the key)."""
    return bucket_dir.joinpath(*(encode_part(p) for p in split_key(key)))


def prefix_dir(bucket_dir: Path, prefix: str) -> tuple[Path, str]:
    """The deepest folder holding every key that starts with ``prefix``, and its key prefix.

    ``prefix_dir(b, "data/tr")`` is ``(b / "data", "data/")``. Parts that cannot name a stored
    folder (``.``/``..``, too long) stop the descent, which is safe: the listing then filters.
    """
    parts = prefix.split("/")[:-1]
    folder, key_prefix = bucket_dir, ""
    for part in parts:
        if part in (".", "..") or "\x00" in part:
            break
        name = encode_part(part)
        if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            break
        folder, key_prefix = folder / name, f"{key_prefix}{part}/"
    return folder, key_prefix
