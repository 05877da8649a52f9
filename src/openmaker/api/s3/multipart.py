"""Multipart uploads on disk: ``<root>/.uploads/<bucket>/<upload id>/`` holds ``upload.json``
(key, content type, metadata, checksum algorithm) and one file per part plus its ``.json``.

Completing an upload checks the part list as S3 does (ascending order, every part uploaded
with the given ETag, every part but the last at least the minimum part size), concatenates the
parts into the staging folder, and commits the result like a single PUT, with S3's multipart
ETag: the MD5 of the parts' binary MD5s, then ``-<number of parts>``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openmaker.api.s3 import checksums
from openmaker.api.s3.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchUpload,
)
from openmaker.api.s3.names import split_key
from openmaker.api.s3.storage import ObjectFields, ObjectInfo, StagedFile, Store

MAX_PARTS = 10_000
DEFAULT_MIN_PART_SIZE = 5 * 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress."""

    bucket: str
    key: str
    upload_id: str
    initiated: float
    fields: ObjectFields = field(default_factory=ObjectFields)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class Part:
    """One uploaded part."""

    number: int
    etag: str
    size: int
    last_modified: float
    checksum: str | None = None


@dataclass(frozen=True)
class RequestedPart:
    """A part as CompleteMultipartUpload names it."""

    number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)


def check_part_number(value: str | int) -> int:
    """Parse a part number (1-10000).

    Raises:
        InvalidArgument: not an integer in range.
    """
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_PARTS:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive (got {value!r}).",
            ArgumentName="partNumber",
            ArgumentValue=value,
        )
    return number


class Uploads:
    """Multipart uploads of one :class:`Store`.

    Args:
        store: the object store.
        min_part_size: the smallest size of a part that is not the last (S3: 5 MiB).
    """

    def __init__(self, store: Store, *, min_part_size: int = DEFAULT_MIN_PART_SIZE) -> None:
        self.store = store
        self.min_part_size = min_part_size
        # Separate from the store's object locks, and always taken before them: no cycles.
        self._locks = [threading.Lock() for _ in range(64)]

    def _lock(self, *names: str) -> threading.Lock:
        return self._locks[hash(names) % len(self._locks)]

    def _folder(self, bucket: str, upload_id: str) -> Path:
        return self.store.uploads / bucket / upload_id

    def create(
        self,
        bucket: str,
        key: str,
        fields: ObjectFields,
        *,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> Upload:
        """Start an upload (validates the bucket and key)."""
        self.store.object_path(bucket, key)
        upload = Upload(
            bucket, key, uuid.uuid4().hex, time.time(), fields, checksum_algorithm, checksum_type
        )
        folder = self._folder(bucket, upload.upload_id)
        folder.mkdir(parents=True)
        _write_json(
            folder / "upload.json",
            {
                "key": key,
                "initiated": upload.initiated,
                "content_type": fields.content_type,
                "metadata": fields.metadata,
                "headers": fields.headers,
                "checksum_algorithm": checksum_algorithm,
                "checksum_type": checksum_type,
            },
        )
        return upload

    def get(self, bucket: str, key: str, upload_id: str) -> Upload:
        """An upload in progress.

        Raises:
            NoSuchBucket: the bucket does not exist.
            NoSuchUpload: no such upload for this key.
        """
        self.store.get_bucket(bucket)
        data = None
        if _UPLOAD_ID.match(upload_id):
            data = _read_json(self._folder(bucket, upload_id) / "upload.json")
        if data is None or data.get("key") != key:
            raise NoSuchUpload(
                "The specified upload does not exist. The upload ID may be invalid, or the "
                "upload may have been aborted or completed.",
                UploadId=upload_id,
            )
        return _upload_from_json(bucket, upload_id, data)

    def in_progress(self, bucket: str, prefix: str = "") -> list[Upload]:
        """Uploads in progress in a bucket, sorted by key then initiation time."""
        self.store.get_bucket(bucket)
        out = []
        folder = self.store.uploads / bucket
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                data = _read_json(Path(entry.path) / "upload.json")
                if data is not None and str(data.get("key", "")).startswith(prefix):
                    out.append(_upload_from_json(bucket, entry.name, data))
        return sorted(out, key=lambda u: (u.key, u.initiated, u.upload_id))

    def commit_part(
        self, upload: Upload, number: int, staged: StagedFile, checksum: str | None
    ) -> Part:
        """Store a received part (replacing an earlier upload of the same number)."""
        folder = self._folder(upload.bucket, upload.upload_id)
        try:
            ino = staged.close()
            part = Part(number, staged.md5.hex(), staged.size, time.time(), checksum)
            with self._lock(upload.bucket, upload.upload_id, str(number)):
                if not (folder / "upload.json").exists():
                    raise NoSuchUpload(
                        "The specified upload does not exist.", UploadId=upload.upload_id
                    )
                os.replace(staged.path, folder / f"{number:05d}")
                _write_json(
                    folder / f"{number:05d}.json",
                    {
                        "etag": part.etag,
                        "size": part.size,
                        "last_modified": part.last_modified,
                        "checksum": checksum,
                        "ino": ino,
                    },
                )
            return part
        finally:
            staged.discard()

    def parts(self, upload: Upload) -> list[Part]:
        """The uploaded parts, by number."""
        folder = self._folder(upload.bucket, upload.upload_id)
        out = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if entry.name.endswith(".json") and entry.name[:5].isdigit():
                    data = _read_json(Path(entry.path))
                    if data is not None:
                        number = int(entry.name[:5])
                        out.append(_part_from_json(number, data))
        return sorted(out, key=lambda p: p.number)

    def part_path(self, upload: Upload, number: int) -> Path:
        """The data file of a part."""
        return self._folder(upload.bucket, upload.upload_id) / f"{number:05d}"

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Abort an upload and delete its parts.

        Raises:
            NoSuchUpload: no such upload for this key.
        """
        upload = self.get(bucket, key, upload_id)
        shutil.rmtree(self._folder(bucket, upload.upload_id), ignore_errors=True)

    def complete(
        self, bucket: str, key: str, upload_id: str, requested: list[RequestedPart]
    ) -> ObjectInfo:
        """Assemble the parts into the object (see the module doc).

        Raises:
            NoSuchUpload, MalformedXML, InvalidPartOrder, InvalidPart, EntityTooSmall.
        """
        split_key(key)
        with self._lock(bucket, upload_id):
            upload = self.get(bucket, key, upload_id)
            chosen = self._check_parts(upload, requested)
            full_object = upload.checksum_type == "FULL_OBJECT"
            algorithm = upload.checksum_algorithm
            staged = self.store.new_staged_file(
                [algorithm] if full_object and algorithm else [], md5=False
            )
            try:
                for part in chosen:
                    staged.append_file(self.part_path(upload, part.number))
            except BaseException:
                staged.discard()
                raise
            md5s = b"".join(bytes.fromhex(p.etag) for p in chosen)
            etag = f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}"
            checksum = self._checksum(upload, chosen, staged)
            info = self.store.commit(
                bucket, key, staged, upload.fields, etag=etag, checksum=checksum, parts=len(chosen)
            )
            shutil.rmtree(self._folder(bucket, upload_id), ignore_errors=True)
        return info

    def _check_parts(self, upload: Upload, requested: list[RequestedPart]) -> list[Part]:
        if not requested:
            raise MalformedXML(
                "The XML you provided was not well-formed or did not validate against our "
                "published schema: CompleteMultipartUpload needs at least one Part."
            )
        uploaded = {p.number: p for p in self.parts(upload)}
        chosen: list[Part] = []
        for i, want in enumerate(requested):
            if i and want.number <= requested[i - 1].number:
                raise InvalidPartOrder(
                    "The list of parts was not in ascending order. Parts must be ordered by "
                    "part number.",
                    UploadId=upload.upload_id,
                )
            part = uploaded.get(want.number)
            if part is not None and not self._part_intact(upload, part):
                part = None
            if part is None or want.etag.strip().strip('"') != part.etag:
                raise InvalidPart(
                    f"Part {want.number} could not be found or its ETag does not match: upload "
                    "it again or give the ETag its UploadPart returned.",
                    UploadId=upload.upload_id,
                    PartNumber=want.number,
                    ETag=want.etag,
                )
            for algorithm, value in want.checksums.items():
                if (
                    part.checksum is not None
                    and upload.checksum_algorithm == algorithm
                    and (value != part.checksum)
                ):
                    raise InvalidPart(
                        f"Part {want.number}'s {checksums.display_name(algorithm)} checksum "
                        "does not match the one it was uploaded with.",
                        UploadId=upload.upload_id,
                        PartNumber=want.number,
                    )
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < self.min_part_size:
                raise EntityTooSmall(
                    f"Your proposed upload is smaller than the minimum allowed size: part "
                    f"{part.number} has {part.size} bytes, parts other than the last need "
                    f"{self.min_part_size}.",
                    ProposedSize=part.size,
                    MinSizeAllowed=self.min_part_size,
                    PartNumber=part.number,
                )
        return chosen

    def _part_intact(self, upload: Upload, part: Part) -> bool:
        try:
            return os.stat(self.part_path(upload, part.number)).st_size == part.size
        except OSError:
            return False

    @staticmethod
    def _checksum(upload: Upload, chosen: list[Part], staged: StagedFile) -> dict[str, str]:
        algorithm = upload.checksum_algorithm
        if not algorithm:
            return {}
        if upload.checksum_type == "FULL_OBJECT":
            digest = staged.checksum_digest(algorithm)
            if digest is None:
                return {}
            value = base64.b64encode(digest).decode()
            return {"algorithm": algorithm, "value": value, "type": "FULL_OBJECT"}
        if any(p.checksum is None for p in chosen):
            return {}
        digests = [base64.b64decode(p.checksum or "") for p in chosen]
        combined = checksums.composite(algorithm, digests)
        if combined is None:
            return {}
        return {"algorithm": algorithm, "value": combined, "type": "COMPOSITE"}


def _part_from_json(number: int, data: dict[str, Any]) -> Part:
    return Part(
        number=number,
        etag=str(data["etag"]),
        size=int(data["size"]),
        last_modified=float(data["last_modified"]),
        checksum=data.get("checksum"),
    )


def _upload_from_json(bucket: str, upload_id: str, data: dict[str, Any]) -> Upload:
    return Upload(
        bucket=bucket,
        key=str(data["key"]),
        upload_id=upload_id,
        initiated=float(data["initiated"]),
        fields=ObjectFields(
            content_type=str(data.get("content_type") or "binary/octet-stream"),
            metadata=dict(data.get("metadata") or {}),
            headers=dict(data.get("headers") or {}),
        ),
        checksum_algorithm=data.get("checksum_algorithm"),
        checksum_type=data.get("checksum_type"),
    )


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
