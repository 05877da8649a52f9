"""Fixtures: the S3 app served by uvicorn on a free 127.0.0.1 port, and real boto3 clients."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
uvicorn = pytest.importorskip("uvicorn")

ACCESS_KEY, SECRET_KEY = "AKIDOPENMAKERTEST", "openmaker-test-secret"
SMALL_PART = 64 * 1024


@dataclass
class Served:
    """A running server: its endpoint (mount point included) and its store's root."""

    endpoint: str
    root: Path
    port: int

    def client(self, **kwargs: Any):  # type: ignore[no-untyped-def]
        options = {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
        }
        options.update(kwargs)
        return boto3.client("s3", **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app: Any, *, mount: str = "", **config: Any) -> Iterator[tuple[str, int]]:
    """Run an ASGI app with uvicorn in a thread; yields its endpoint URL and port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
            **config,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    scheme = "https" if "ssl_certfile" in config else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}{mount}", port
    finally:
        server.should_exit = True
        thread.join(10)


def start(root: Path, **options: Any) -> contextlib.AbstractContextManager[Served]:
    """Serve ``create_s3_app(root, **options)``."""
    from openmaker.api.s3 import create_s3_app

    @contextlib.contextmanager
    def running() -> Iterator[Served]:
        with serve(create_s3_app(root, **options)) as (endpoint, port):
            yield Served(endpoint, root, port)

    return running()


@pytest.fixture()
def server(tmp_path: Path, home: Path) -> Iterator[Served]:
    """The S3 app on a fresh store, multipart parts of 64 KiB allowed."""
    with start(tmp_path / "store", min_part_size=SMALL_PART) as served:
        yield served


@pytest.fixture()
def s3(server: Served):  # type: ignore[no-untyped-def]
    """A boto3 S3 client for :func:`server`, with one bucket ``bucket``."""
    client = server.client()
    client.create_bucket(Bucket="bucket")
    return client
