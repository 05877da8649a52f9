"""Locations as URIs: local paths, ``file://`` and ``s3://`` (any S3-compatible store).

The one place that maps a URI to an fsspec file system. ``s3://`` uses the endpoint in
``OPENMAKER_S3_ENDPOINT_URL`` when it is set (MinIO, moto, openmaker's own S3 subset).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from openmaker.errors import DataSourceError


def is_local(uri: str) -> bool:
    """Whether the URI names a local path (plain path or ``file://``)."""
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def local_path(uri: str) -> str:
    """The file-system path of a local URI."""
    return urlparse(uri).path if uri.startswith("file://") else os.path.expanduser(uri)


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec file system for ``uri`` and the path within it.

    Raises:
        DataSourceError: unsupported scheme or missing driver (``s3fs`` for ``s3://``).
    """
    import fsspec

    if is_local(uri):
        return fsspec.filesystem("file"), os.path.abspath(local_path(uri))
    scheme = urlparse(uri).scheme
    options: dict[str, Any] = {}
    if scheme in ("s3", "s3a"):
        endpoint = os.environ.get("OPENMAKER_S3_ENDPOINT_URL")
        if endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
        options["use_listings_cache"] = False
        scheme = "s3"
    try:
        fs = fsspec.filesystem(scheme, **options)
    except (ImportError, ValueError) as exc:
        raise DataSourceError(f"Cannot open {uri!r}: {exc}", uri=uri) from exc
    _, path = fsspec.core.split_protocol(uri)
    return fs, path


def join(base: str, *parts: str) -> str:
    """Join URI path segments with ``/`` (local paths with the OS separator)."""
    if is_local(base):
        return os.path.join(local_path(base), *parts)
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
