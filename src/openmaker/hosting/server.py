"""Running the serving process: in the foreground (``openmaker serve``) or in the background
for the Python :class:`~openmaker.predictor.Predictor` and ``openmaker invoke``.

Workers: ``--workers N`` runs N uvicorn worker processes sharing the port; each serves every
endpoint from its own model cache, so the instance counts of all variants share one pool of
processes. The default is the largest ``CurrentInstanceCount`` of the endpoints in service,
at least 1 and at most the CPU count.

Background server: the first caller that needs one (``estimator.deploy()``, ``Predictor``,
``openmaker invoke``) starts ``python -m openmaker serve`` detached on a free 127.0.0.1 port
and records ``{"url", "pid", "create_time"}`` in ``$OPENMAKER_HOME/serve.json``; later callers
reuse it while it answers ``/ping``. :func:`stop_background_server` ends it. Its log is
``$OPENMAKER_HOME/serve.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from openmaker.errors import PlatformError
from openmaker.settings import get_settings


def default_workers() -> int:
    """The largest instance count of the endpoints in service (1..CPU count)."""
    from openmaker.store import open_store

    with open_store() as store:
        counts = [
            int(v.get("CurrentInstanceCount", 1))
            for rec in store.endpoints.all(status_in=("InService", "Updating"))
            for v in rec.production_variants
        ]
    return max(1, min(max(counts, default=1), os.cpu_count() or 1))


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int | None = None,
    endpoint: str | None = None,
    log_level: str = "warning",
) -> None:
    """Run the serving process in the foreground until interrupted."""
    import uvicorn

    from openmaker.store import open_store

    open_store().close()  # migrate once here, not in every worker at the same time
    if endpoint:
        os.environ["OPENMAKER_SERVE_ENDPOINT"] = endpoint
    workers = workers or default_workers()
    # Each worker's math library gets its share of the CPUs (OpenMP threads that spin on an
    # oversubscribed machine cost ~30% of the 1-row throughput in the endpoint benchmark).
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    uvicorn.run(
        "openmaker.hosting.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(),
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


def http_protocol() -> Any:
    """The HTTP protocol the workers run: uvicorn's httptools protocol with the invocation
    fast lane (:mod:`openmaker.hosting.protocol`), or uvicorn's choice without httptools."""
    try:
        from openmaker.hosting.protocol import InvocationProtocol
    except ImportError:  # no httptools (uvicorn without [standard], or PyPy)
        return "auto"
    return InvocationProtocol


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _state_file() -> Path:
    return get_settings().home / "serve.json"


def ping(url: str, timeout: float = 1.0) -> bool:
    """Whether a server answers ``GET /ping`` at ``url``."""
    import httpx

    try:
        return httpx.get(f"{url}/ping", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def background_server_url() -> str | None:
    """The URL of the recorded background server if it is alive, else None."""
    path = _state_file()
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    url = state.get("url")
    return url if url and ping(url) else None


def start_background_server(workers: int = 1, timeout: float = 60.0) -> str:
    """Start (or reuse) the background server; returns its URL.

    Raises:
        PlatformError: it did not answer ``/ping`` within ``timeout`` seconds.
    """
    import psutil

    url = background_server_url()
    if url:
        return url
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, OPENMAKER_HOME=str(settings.home))
    env["OPENMAKER_DATABASE_URL"] = settings.database_url
    with open(settings.home / "serve.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "openmaker", "serve", "--port", str(port),
             "--workers", str(workers)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )  # fmt: skip
    state = {"url": url, "pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time()}
    _state_file().write_text(json.dumps(state))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PlatformError(
                f"The background server exited with code {proc.returncode}; see "
                f"{settings.home / 'serve.log'}"
            )
        if ping(url, timeout=0.5):
            return url
        time.sleep(0.1)
    stop_background_server()
    raise PlatformError(f"The background server did not start within {timeout:.0f}s")


def stop_background_server() -> bool:
    """Stop the recorded background server (its whole process group). Returns whether one ran."""
    import psutil

    path = _state_file()
    if not path.exists():
        return False
    try:
        state = json.loads(path.read_text())
        pid = int(state["pid"])
        proc = psutil.Process(pid)
        if abs(proc.create_time() - float(state["create_time"])) > 1.0:
            raise psutil.NoSuchProcess(pid)
    except (OSError, ValueError, KeyError, psutil.Error):
        path.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except psutil.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        proc.wait(timeout=5)
    path.unlink(missing_ok=True)
    return True
