"""The S3 server's storage: buckets are folders, objects are plain files, metadata sits beside.

Layout under the root (``$OPENMAKER_HOME/s3`` by default)::

    <bucket>/.bucket.json              creation date and region
    <bucket>/<encoded key path>        the object's bytes, exactly as uploaded
    <bucket>/<folder>/.<name>.meta     its metadata (ETag, type, user metadata, checksum)
    .staging/                          bodies being received (renamed into place when complete)
    .uploads/<bucket>/<upload id>/     multipart uploads in progress (see ``multipart``)

Keys map to paths through :mod:`openmaker.api.s3.names` only, and every path is checked to
resolve inside the root before it is opened, so no key reaches outside the store (symbolic
links placed in the store by hand are not followed out of it either).

Writes are atomic: a body goes to ``.staging`` while it arrives and is renamed over the
object's file only once complete and checked; the metadata file follows under the same lock and
records the data file's inode, so a reader that catches the two between their renames sees the
mismatch and reads again. Objects therefore survive restarts, and concurrent uploads of one key
leave one of them whole. Files copied into a bucket folder by hand appear as objects (their
metadata is computed on first use). One server process per root is assumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openmaker.api.s3 import checksums
from openmaker.api.s3.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    ObjectPrefixConflict,
    PreconditionFailed,
)
from openmaker.api.s3.names import decode_part, key_path, prefix_dir
from openmaker.api.s3.names import validate_bucket_name as _validate_bucket_name

BUCKET_FILE = ".bucket.json"
STAGING = ".staging"
UPLOADS = ".uploads"
COPY_BUFFER = 1024 * 1024
_LOCK_STRIPES = 64
_READ_RETRIES = 20
STALE_STAGING_SECONDS = 24 * 3600


@dataclass(frozen=True)
class BucketInfo:
    """A bucket: its name, creation time (epoch seconds) and region."""

    name: str
    created: float
    region: str


@dataclass(frozen=True)
class ObjectInfo:
    """An object's metadata.

    Attributes:
        key: the object key.
        size: size in bytes.
        etag: the ETag without quotes (MD5 hex, or ``<md5 of part md5s>-<parts>``).
        last_modified: epoch seconds.
        content_type: the ``Content-Type`` it was uploaded with.
        metadata: user metadata (``x-amz-meta-<name>``), names in lower case.
        headers: other stored representation headers (``Content-Encoding``, ``Cache-Control``,
            ``Content-Disposition``, ``Content-Language``, ``Expires``), lower-case names.
        checksum: ``{"algorithm", "value", "type"}`` of the flexible checksum, or empty.
        parts: number of parts for a multipart object, else 0.
    """

    key: str
    size: int
    etag: str
    last_modified: float
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    checksum: dict[str, str] = field(default_factory=dict)
    parts: int = 0


@dataclass(frozen=True)
class ObjectFields:
    """What an upload sets besides the bytes (the ETag and size come from the bytes)."""

    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class StagedFile:
    """A body being received into the staging folder, hashed as it is written.

    Args:
        staging: the staging folder.
        algorithms: flexible checksums to compute (lower-case names).
        md5: compute the MD5 (the ETag of a single-part object).
        sha256: compute the SHA-256 (to check ``x-amz-content-sha256``).
    """

    def __init__(
        self,
        staging: Path,
        algorithms: Iterable[str] = (),
        *,
        md5: bool = True,
        sha256: bool = False,
    ) -> None:
        self.path = staging / f"{uuid.uuid4().hex}.part"
        self._file: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in close()
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self._sha256 = hashlib.sha256() if sha256 else None
        self.checksums = {a: c for a in algorithms if (c := checksums.new_checksum(a)) is not None}

    def write(self, data: bytes) -> None:
        """Append ``data`` and update the running digests."""
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)
        if self._md5 is not None:
            self._md5.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)
        for checksum in self.checksums.values():
            checksum.update(data)

    def append_file(self, source: Path) -> None:
        """Append a whole file (multipart assembly): in-kernel when no digest is computed."""
        assert self._file is not None
        with open(source, "rb") as src:
            if self._md5 is None and self._sha256 is None and not self.checksums:
                self._file.flush()
                if _copy_range(src.fileno(), self._file.fileno(), os.fstat(src.fileno()).st_size):
                    self.size += os.fstat(src.fileno()).st_size
                    self._file.seek(0, os.SEEK_END)
                    return
                src.seek(0)
                self._file.seek(self.size)
                self._file.truncate()
            while chunk := src.read(COPY_BUFFER):
                self.write(chunk)

    @property
    def md5(self) -> bytes:
        """The MD5 digest of what was written."""
        assert self._md5 is not None
        return self._md5.digest()

    @property
    def sha256_hex(self) -> str | None:
        """The SHA-256 hex digest of what was written, when asked for."""
        return self._sha256.hexdigest() if self._sha256 is not None else None

    def checksum_digest(self, algorithm: str) -> bytes | None:
        """The digest of a flexible checksum, or ``None`` when it could not be computed."""
        checksum = self.checksums.get(algorithm)
        return checksum.digest() if checksum is not None else None

    def close(self) -> int:
        """Close the file; returns its inode."""
        if self._file is not None:
            self._file.close()
            self._file = None
        return os.stat(self.path).st_ino

    def discard(self) -> None:
        """Close and delete the file (an aborted or refused upload)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class Store:
    """Buckets and objects on disk (see the module doc).

    Args:
        root: the folder holding the buckets (created when missing).
        default_region: the region of buckets created without a location constraint.
    """

    def __init__(self, root: str | Path, *, default_region: str = "us-east-1") -> None:
        self.root = Path(root).expanduser().absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.staging = self.root / STAGING
        self.staging.mkdir(exist_ok=True)
        self.uploads = self.root / UPLOADS
        self.default_region = default_region
        self._real_root = os.path.realpath(self.root)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._remove_stale_staging()

    def _remove_stale_staging(self) -> None:
        """Delete bodies left in staging by a server that stopped mid-upload (a day old)."""
        cutoff = time.time() - STALE_STAGING_SECONDS
        for entry in os.scandir(self.staging):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    # --- paths and locks ---------------------------------------------------------------------

    def lock(self, bucket: str) -> threading.Lock:
        """The lock held while files of a bucket are renamed into place or deleted.

        Held for renames only (bodies are received outside it), it keeps a delete that prunes
        an emptied folder from removing the folder a commit has just made.
        """
        return self._locks[hash(bucket) % _LOCK_STRIPES]

    def contained(self, path: Path) -> bool:
        """Whether ``path`` resolves (through any symbolic link) to a place inside the root."""
        real = os.path.realpath(path)
        return real.startswith(self._real_root + os.sep)

    def bucket_dir(self, bucket: str) -> Path:
        """The folder of a bucket (validates the name; does not check that it exists)."""
        return self.root / _validate_bucket_name(bucket)

    def _existing_bucket_dir(self, bucket: str) -> Path:
        folder = self.bucket_dir(bucket)
        if not folder.is_dir() or not self.contained(folder):
            raise NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
        return folder

    def object_path(self, bucket: str, key: str) -> Path:
        """The data file of ``key`` in an existing bucket (validates both names)."""
        return key_path(self._existing_bucket_dir(bucket), key)

    @staticmethod
    def meta_path(data_path: Path) -> Path:
        """The metadata file beside an object's data file."""
        return data_path.with_name(f".{data_path.name}.meta")

    def new_staged_file(
        self, algorithms: Iterable[str] = (), *, md5: bool = True, sha256: bool = False
    ) -> StagedFile:
        """A file in the staging folder to receive a body."""
        self.staging.mkdir(exist_ok=True)
        return StagedFile(self.staging, algorithms, md5=md5, sha256=sha256)

    # --- buckets -----------------------------------------------------------------------------

    def create_bucket(self, bucket: str, region: str | None = None) -> BucketInfo:
        """Create a bucket.

        Raises:
            InvalidBucketName: the name breaks S3's rules.
            BucketAlreadyOwnedByYou: it exists.
        """
        folder = self.bucket_dir(bucket)
        try:
            folder.mkdir()
        except FileExistsError:
            raise BucketAlreadyOwnedByYou(
                "Your previous request to create the named bucket succeeded and you already "
                "own it.",
                BucketName=bucket,
            ) from None
        info = BucketInfo(bucket, time.time(), region or self.default_region)
        self._write_json(folder / BUCKET_FILE, {"created": info.created, "region": info.region})
        return info

    def get_bucket(self, bucket: str) -> BucketInfo:
        """A bucket's information.

        Raises:
            NoSuchBucket: it does not exist.
        """
        folder = self._existing_bucket_dir(bucket)
        data = self._read_json(folder / BUCKET_FILE) or {}
        created = data.get("created") or folder.stat().st_mtime
        return BucketInfo(bucket, float(created), str(data.get("region") or self.default_region))

    def list_buckets(self) -> list[BucketInfo]:
        """Every bucket, sorted by name."""
        out = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                out.append(self.get_bucket(entry.name))
            except (InvalidBucketName, NoSuchBucket, ValueError, OSError):
                continue  # a folder that is not a bucket
        return out

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket (and the multipart uploads left in it).

        Raises:
            NoSuchBucket: it does not exist.
            BucketNotEmpty: it holds objects.
        """
        folder = self._existing_bucket_dir(bucket)
        if self._has_objects(folder):
            raise BucketNotEmpty("The bucket you tried to delete is not empty", BucketName=bucket)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.uploads / bucket, ignore_errors=True)

    # --- objects -----------------------------------------------------------------------------

    def commit(
        self,
        bucket: str,
        key: str,
        staged: StagedFile,
        fields: ObjectFields,
        *,
        etag: str | None = None,
        checksum: dict[str, str] | None = None,
        parts: int = 0,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        """Move a complete staged body into place as ``key`` (replacing any previous object).

        Args:
            etag: the ETag (default: the staged file's MD5).
            checksum: the flexible checksum to record.
            parts: the number of parts of a multipart object.
            if_none_match: refuse when the key exists (``If-None-Match: *``).

        Raises:
            NoSuchBucket, InvalidArgument, KeyTooLongError: bad bucket or key.
            ObjectPrefixConflict: the key's file or one of its folders is taken by the other kind.
            PreconditionFailed: ``if_none_match`` and the key exists.
        """
        try:
            path = self.object_path(bucket, key)
            ino = staged.close()
            info = ObjectInfo(
                key=key,
                size=staged.size,
                etag=etag or staged.md5.hex(),
                last_modified=time.time(),
                content_type=fields.content_type,
                metadata=dict(fields.metadata),
                headers=dict(fields.headers),
                checksum=dict(checksum or {}),
                parts=parts,
            )
            with self.lock(bucket):
                self._place(path, bucket, key, staged.path, info, ino, if_none_match)
            return info
        finally:
            staged.discard()

    def _place(
        self,
        path: Path,
        bucket: str,
        key: str,
        data: Path,
        info: ObjectInfo,
        ino: int,
        if_none_match: bool,
    ) -> None:
        for attempt in range(3):
            # Checked before making folders: a link placed in the store must not lead out of it.
            if not self.contained(path.parent):
                raise NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            try:
                self._make_parents(path, bucket, key)
            except FileNotFoundError:
                if attempt == 2:
                    raise
                continue
            if path.is_dir() and not path.is_symlink() and not _remove_if_empty(path):
                raise ObjectPrefixConflict(
                    f"Cannot store {key!r}: keys below {key + '/'!r} exist, and this server "
                    "keeps objects as files, so an object cannot also be a key prefix.",
                    Key=key,
                )
            if if_none_match and path.is_file():
                raise PreconditionFailed(
                    "At least one of the pre-conditions you specified did not hold",
                    Condition="If-None-Match",
                )
            meta_tmp = self.staging / f"{uuid.uuid4().hex}.meta"
            self._write_json(meta_tmp, {**_info_to_json(info), "ino": ino}, atomic=False)
            try:
                os.replace(data, path)
            except FileNotFoundError:
                # A concurrent delete pruned the freshly made folder: make it again.
                os.unlink(meta_tmp)
                if attempt == 2:
                    raise
                continue
            os.replace(meta_tmp, self.meta_path(path))
            return

    def _make_parents(self, path: Path, bucket: str, key: str) -> None:
        bucket_dir = self.bucket_dir(bucket)
        folder = bucket_dir
        try:
            # One level at a time, never the bucket itself: a bucket deleted meanwhile stays so.
            for part in path.parent.relative_to(bucket_dir).parts:
                folder = folder / part
                with contextlib.suppress(FileExistsError):
                    folder.mkdir()
                if not folder.is_dir():
                    if folder.exists() or folder.is_symlink():
                        raise NotADirectoryError(folder)  # an object has this name
                    raise FileNotFoundError(folder)  # pruned by a concurrent delete
        except FileNotFoundError:
            if not bucket_dir.is_dir():
                raise NoSuchBucket(
                    "The specified bucket does not exist", BucketName=bucket
                ) from None
            raise  # a concurrent delete pruned a folder on the way: the caller tries again
        except NotADirectoryError:
            raise ObjectPrefixConflict(
                f"Cannot store {key!r}: an object is stored under one of its prefixes, and this "
                "server keeps objects as files, so an object cannot also be a key prefix.",
                Key=key,
            ) from None

    def open_object(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """Open an object for reading; its metadata and the open file always match.

        Raises:
            NoSuchBucket, NoSuchKey, InvalidArgument, KeyTooLongError.
        """
        path = self.object_path(bucket, key)
        if not self.contained(path):
            raise NoSuchKey("The specified key does not exist.", Key=key)
        for _ in range(_READ_RETRIES):
            fh = self._open_regular(path, key)
            st = os.fstat(fh.fileno())
            meta = self._read_json(self.meta_path(path))
            if meta and meta.get("ino") == st.st_ino and meta.get("size") == st.st_size:
                return _info_from_json(key, meta), fh
            if meta is None and not self.meta_path(path).exists():
                return self._describe_foreign(bucket, path, key, fh, st), fh
            fh.close()
            time.sleep(0.002)  # a writer is between its two renames
        fh = self._open_regular(path, key)
        return self._describe_foreign(bucket, path, key, fh, os.fstat(fh.fileno())), fh

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """An object's metadata (see :meth:`open_object`)."""
        info, fh = self.open_object(bucket, key)
        fh.close()
        return info

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete an object; deleting a missing key is not an error (as in S3).

        Raises:
            NoSuchBucket, InvalidArgument, KeyTooLongError.
        """
        path = self.object_path(bucket, key)
        bucket_dir = self.bucket_dir(bucket)
        if not self.contained(path):
            return
        with self.lock(bucket):
            if not path.is_file() or path.is_symlink():
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.meta_path(path))
            parent = path.parent
            while parent != bucket_dir and _remove_if_empty(parent):
                parent = parent.parent

    def _open_regular(self, path: Path, key: str) -> BinaryIO:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, OSError):
            raise NoSuchKey("The specified key does not exist.", Key=key) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NoSuchKey("The specified key does not exist.", Key=key)
        return os.fdopen(fd, "rb")

    def _describe_foreign(
        self, bucket: str, path: Path, key: str, fh: BinaryIO, st: os.stat_result
    ) -> ObjectInfo:
        """Metadata of a data file without (matching) metadata: computed and saved once."""
        md5 = hashlib.md5(usedforsecurity=False)
        position = fh.tell()
        while chunk := fh.read(COPY_BUFFER):
            md5.update(chunk)
        fh.seek(position)
        info = ObjectInfo(key=key, size=st.st_size, etag=md5.hexdigest(), last_modified=st.st_mtime)
        with self.lock(bucket), contextlib.suppress(OSError):
            current = os.stat(path)
            if current.st_ino == st.st_ino and current.st_size == st.st_size:
                self._write_json(self.meta_path(path), {**_info_to_json(info), "ino": st.st_ino})
        return info

    # --- listing -----------------------------------------------------------------------------

    def iter_entries(
        self, bucket: str, prefix: str = "", delimiter: str = "", after: str = ""
    ) -> Iterator[tuple[str, bool]]:
        """Keys and common prefixes in S3's order: ``(key, False)`` / ``(prefix, True)``.

        Only keys starting with ``prefix`` and sorting after ``after`` are given; with a
        ``delimiter``, keys holding it after ``prefix`` are rolled up into one common prefix
        (given once, and not at all when it sorts at or before ``after``).

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        bucket_dir = self._existing_bucket_dir(bucket)
        folder, folder_key = prefix_dir(bucket_dir, prefix)
        collapse = delimiter == "/"
        last_prefix = None
        for key, is_prefix in self._walk(folder, folder_key, prefix, after, collapse):
            if not is_prefix and delimiter:
                at = key.find(delimiter, len(prefix))
                if at >= 0:
                    common = key[: at + len(delimiter)]
                    if common == last_prefix or common <= after:
                        continue
                    last_prefix, key, is_prefix = common, common, True
            yield key, is_prefix

    def describe(self, bucket: str, key: str) -> ObjectInfo | None:
        """The metadata of a listed key, or ``None`` if it vanished meanwhile."""
        try:
            return self.head_object(bucket, key)
        except NoSuchKey:
            return None

    def _walk(
        self, folder: Path, folder_key: str, prefix: str, after: str, collapse: bool
    ) -> Iterator[tuple[str, bool]]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        items = []
        for entry in entries:
            part = decode_part(entry.name)
            if part is None:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    items.append((part + "/", True, entry.path))
                elif entry.is_file(follow_symlinks=False):
                    items.append((part, False, entry.path))
            except OSError:
                continue
        items.sort()
        for rel, is_dir, path in items:
            key = folder_key + rel
            if not is_dir:
                if key.startswith(prefix) and key > after:
                    yield key, False
                continue
            if not (key.startswith(prefix) or prefix.startswith(key)):
                continue
            if key < after and not after.startswith(key):
                continue  # every key below sorts before `after`
            if collapse and key.startswith(prefix) and len(key) > len(prefix):
                if key > after and self._has_objects(Path(path)):
                    yield key, True
                continue
            yield from self._walk(Path(path), key, prefix, after, collapse)

    def _has_objects(self, folder: Path) -> bool:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return False
        for entry in entries:
            if decode_part(entry.name) is None:
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    return True
                if entry.is_dir(follow_symlinks=False) and self._has_objects(Path(entry.path)):
                    return True
            except OSError:
                continue
        return False

    # --- small files -------------------------------------------------------------------------

    def _write_json(self, path: Path, data: dict[str, Any], *, atomic: bool = True) -> None:
        target = self.staging / f"{uuid.uuid4().hex}.json" if atomic else path
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        if atomic:
            os.replace(target, path)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def _remove_if_empty(folder: Path) -> bool:
    """Remove a folder left empty (its last object was deleted); whether it is gone."""
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


def _copy_range(src: int, dst: int, count: int) -> bool:
    """Copy ``count`` bytes between two files in the kernel; ``False`` where unsupported."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    try:
        while count > 0:
            done = copy(src, dst, min(count, 1 << 30))
            if done == 0:
                return False
            count -= done
    except OSError:
        return False
    return True


def _info_to_json(info: ObjectInfo) -> dict[str, Any]:
    return {
        "size": info.size,
        "etag": info.etag,
        "last_modified": info.last_modified,
        "content_type": info.content_type,
        "metadata": info.metadata,
        "headers": info.headers,
        "checksum": info.checksum,
        "parts": info.parts,
    }


def _info_from_json(key: str, data: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=int(data["size"]),
        etag=str(data["etag"]),
        last_modified=float(data["last_modified"]),
        content_type=str(data.get("content_type") or "binary/octet-stream"),
        metadata=dict(data.get("metadata") or {}),
        headers=dict(data.get("headers") or {}),
        checksum=dict(data.get("checksum") or {}),
        parts=int(data.get("parts") or 0),
    )
