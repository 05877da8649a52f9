"""Model artifacts: the ``model.tar.gz`` layout, atomic upload, download and unpacking.

``model.tar.gz`` holds the files of the job's ``model/`` folder at its root, exactly as
SageMaker packs ``/opt/ml/model`` (for XGBoost: ``xgboost-model``). It is written next to its
final name under a temporary name and renamed, so readers never see a partial archive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path

from openmaker import uris
from openmaker.errors import DataSourceError


def pack(folder: str | Path, archive: str | Path) -> Path:
    """Pack every file below ``folder`` into the gzip tar ``archive`` (paths relative to it)."""
    folder, archive = Path(folder), Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(folder)))
    return archive


def upload(local_file: str | Path, uri: str) -> str:
    """Copy a local file to ``uri`` atomically (temporary name, then rename). Returns ``uri``."""
    fs, path = uris.filesystem(uri)
    try:
        if uris.is_local(uri):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
            shutil.copyfile(local_file, tmp)
            os.replace(tmp, path)
        else:
            # An S3 PUT is atomic: readers see the old object or the new one, never a part.
            fs.put_file(str(local_file), path)
    except OSError as exc:
        raise DataSourceError(f"Cannot write {uri!r}: {exc}", uri=uri) from exc
    return uri


def download(uri: str, local_file: str | Path) -> Path:
    """Copy ``uri`` to a local file."""
    fs, path = uris.filesystem(uri)
    local_file = Path(local_file)
    local_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fs.get_file(path, str(local_file))
    except (OSError, FileNotFoundError) as exc:
        raise DataSourceError(f"Cannot read {uri!r}: {exc}", uri=uri) from exc
    return local_file


def extract(archive: str | Path, dest: str | Path) -> Path:
    """Unpack a model archive safely (no absolute paths or ``..`` escapes)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(dest, filter="data")
    return dest


def cache_dir() -> Path:
    """Where unpacked models are cached (``$OPENMAKER_HOME/cache/models``)."""
    from openmaker.settings import get_settings

    return get_settings().home / "cache" / "models"


def fetch_model(uri: str) -> Path:
    """Download and unpack ``model.tar.gz`` (or use a local folder as is); cached by URI+mtime.

    Returns:
        The folder holding the model files.
    """
    if uris.is_local(uri) and Path(uris.local_path(uri)).is_dir():
        return Path(uris.local_path(uri))
    fs, path = uris.filesystem(uri)
    try:
        info = fs.info(path)
    except (OSError, FileNotFoundError) as exc:
        raise DataSourceError(f"Cannot read model artifact {uri!r}: {exc}", uri=uri) from exc
    stamp = f"{uri}|{info.get('size')}|{info.get('mtime') or info.get('LastModified') or ''}"
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    target = cache_dir() / key
    if (target / ".complete").exists():
        return target
    with tempfile.TemporaryDirectory(dir=_ensure(cache_dir())) as tmp:
        archive = download(uri, Path(tmp) / "model.tar.gz")
        try:
            staging = extract(archive, Path(tmp) / "model")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DataSourceError(
                f"Model artifact {uri!r} is not a gzip tar archive: {exc}", uri=uri
            ) from exc
        (staging / ".complete").touch()
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / ".complete").exists():  # lost a race with a broken copy
                raise
    return target


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def sync_folder_to(folder: str | Path, uri: str) -> int:
    """Copy files of ``folder`` that are new or changed to ``uri`` (checkpoint upload).

    Returns:
        How many files were copied.
    """
    folder = Path(folder)
    fs, _ = uris.filesystem(uri)
    copied = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        target = uris.join(uri, rel)
        _, tpath = uris.filesystem(target)
        try:
            if fs.exists(tpath) and fs.size(tpath) == path.stat().st_size:
                continue
        except OSError:
            pass
        upload(path, target)
        copied += 1
    return copied


def sync_folder_from(uri: str, folder: str | Path) -> int:
    """Copy every file under ``uri`` into ``folder`` (checkpoint restore). Missing uri: 0."""
    folder = Path(folder)
    fs, base = uris.filesystem(uri)
    try:
        if not fs.exists(base):
            return 0
        files = [p for p in fs.find(base) if not fs.isdir(p)]
    except OSError:
        return 0
    count = 0
    for remote in files:
        rel = remote[len(base) :].lstrip("/")
        if not rel or ".tmp-" in rel:
            continue
        local = folder / rel
        local.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(remote, str(local))
        count += 1
    return count
