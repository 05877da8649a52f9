"""Where data lives: listing and opening local paths, ``file://`` and ``s3://`` URIs.

Everything goes through fsspec, so any fsspec protocol works; for ``s3://`` the endpoint is
taken from ``OPENMAKER_S3_ENDPOINT_URL`` when it is set (MinIO, moto, any S3-compatible store).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator
from typing import IO, Any, cast

from openmaker.errors import DataSourceError

GZIP_MAGIC = b"\x1f\x8b"
S3_ENDPOINT_ENV = "OPENMAKER_S3_ENDPOINT_URL"


def _protocol(uri: str) -> str:
    if "://" in uri:
        return uri.split("://", 1)[0].lower()
    return "file"


def is_local(uri: str) -> bool:
    """Whether the URI is a local path or ``file://`` URI."""
    return _protocol(uri) in ("file", "local")


def local_path(uri: str) -> str:
    """The file-system path of a local URI (``file:///a/b`` -> ``/a/b``)."""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return uri


def storage_options(uri: str) -> dict[str, Any]:
    """fsspec keyword arguments for a URI (the S3 endpoint from the environment)."""
    if _protocol(uri) in ("s3", "s3a"):
        endpoint = os.environ.get(S3_ENDPOINT_ENV)
        if endpoint:
            return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec file system for a URI and the path inside it."""
    import fsspec

    if is_local(uri):
        return fsspec.filesystem("file"), os.path.abspath(local_path(uri))
    try:
        return fsspec.core.url_to_fs(uri, **storage_options(uri))
    except (ImportError, ValueError) as exc:
        raise DataSourceError(f"cannot open {uri!r}: {exc}", uri=uri) from exc


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


def _to_uri(uri: str, fs: Any, path: str) -> str:
    if is_local(uri):
        return path
    return fs.unstrip_protocol(path)


def list_files(uri: str) -> list[str]:
    """Every data file at a URI.

    A file gives ``[uri]``. A folder (or an S3 key prefix) gives every file below it,
    recursively and sorted, skipping names that start with ``.`` or ``_`` (as SageMaker does,
    e.g. ``_SUCCESS``, ``.ipynb_checkpoints``). Local paths are returned as plain paths.

    Raises:
        DataSourceError: when nothing is found at the URI.
    """
    fs, path = filesystem(uri)
    try:
        if fs.isfile(path):
            return [_to_uri(uri, fs, path)]
        if fs.isdir(path):
            root = path.rstrip("/")
            found = fs.find(root)
        else:
            # An S3 key prefix such as s3://bucket/train/part- matches keys that start with it.
            root = posixpath.dirname(path.rstrip("/"))
            found = [p for p in fs.find(root) if p.startswith(path)] if root else []
    except (OSError, ValueError) as exc:
        raise DataSourceError(f"cannot list {uri!r}: {exc}", uri=uri) from exc
    files = []
    for p in sorted(found):
        rel = p[len(root) :] if p.startswith(root) else posixpath.basename(p)
        if not _hidden(rel.replace(os.sep, "/")):
            files.append(_to_uri(uri, fs, p))
    if not files:
        raise DataSourceError(f"no data files found at {uri!r}", uri=uri)
    return files


def list_all(sources: str | list[str] | tuple[str, ...]) -> list[str]:
    """:func:`list_files` over several URIs, in the order given."""
    if isinstance(sources, str):
        sources = [sources]
    files: list[str] = []
    for src in sources:
        files.extend(list_files(src))
    return files


@contextlib.contextmanager
def open_uri(uri: str, mode: str = "rb") -> Iterator[IO[Any]]:
    """Open a URI for reading or writing, gunzipping transparently on read.

    Gzip is recognised by the first bytes (``1f 8b``), not by the file name. Text modes
    (``"r"``) are decoded as UTF-8.

    Raises:
        DataSourceError: when the URI cannot be opened.
    """
    import fsspec

    binary = mode.replace("t", "").replace("b", "")
    if binary not in ("r", "w", "a", "x"):
        raise ValueError(f"unsupported mode {mode!r}")
    target = os.path.abspath(local_path(uri)) if is_local(uri) else uri
    try:
        opener = fsspec.open(target, binary + "b", **storage_options(uri))
        raw = opener.open()
    except (OSError, ValueError, ImportError) as exc:
        raise DataSourceError(f"cannot open {uri!r}: {exc}", uri=uri) from exc
    stack = contextlib.ExitStack()
    with stack:
        stack.callback(raw.close)
        fh: IO[Any] = raw
        if binary == "r":
            head = _peek(raw, 2)
            if head == GZIP_MAGIC:
                import gzip

                gz = gzip.GzipFile(fileobj=raw, mode="rb")
                stack.callback(gz.close)
                fh = cast("IO[Any]", gz)
        if "b" not in mode:
            import io

            fh = stack.enter_context(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
        yield fh


def _peek(fh: Any, n: int) -> bytes:
    peek = getattr(fh, "peek", None)
    if peek is not None and not hasattr(fh, "seek"):
        return peek(n)[:n]
    pos = fh.tell()
    head = fh.read(n)
    fh.seek(pos)
    return head
