"""A PostgreSQL server for tests: the one named by ``OPENMAKER_TEST_POSTGRES_URL``, or a
throwaway cluster started from the local PostgreSQL binaries.

The throwaway cluster lives in a temporary folder, listens on a free port on 127.0.0.1 (its
unix socket stays in that folder), trusts local connections and is stopped and removed at the
end of the session. PostgreSQL refuses to run as root, so as root the cluster runs as the
``postgres`` user (through ``runuser`` or ``su``).

Each test gets its own schema (``search_path`` set through the URL), so tests never see each
other's tables and no database has to be created per test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENV_URL = "OPENMAKER_TEST_POSTGRES_URL"
TEST_DATABASE = "openmaker_test"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be used; the message says why."""


@dataclass
class ThrowawayCluster:
    """A cluster this process started."""

    bindir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{TEST_DATABASE}"

    def pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the cluster's owner."""
        return _run_as(self.run_as, [str(self.bindir / args[0]), *args[1:]], check=check)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first, then PATH)."""

    def version(path: str) -> float:
        try:
            return float(Path(path).parts[-3])
        except ValueError:
            return 0.0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    candidates += [p for p in [shutil.which("initdb")] if p]
    for initdb in candidates:
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


def _run_as(user: str | None, argv: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
    if user is not None:
        if shutil.which("runuser"):
            argv = ["runuser", "-u", user, "--", *argv]
        else:
            argv = ["su", user, "-s", "/bin/sh", "-c", shlex.join(argv)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise PostgresUnavailable(
            f"{shlex.join(argv)} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-800:]}"
        )
    return proc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_throwaway_cluster() -> ThrowawayCluster:
    """initdb + pg_ctl start + CREATE DATABASE; raises :class:`PostgresUnavailable`."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL binaries (initdb/pg_ctl) found; install postgresql or set " + ENV_URL
        )
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable("running as root and there is no 'postgres' user") from exc
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="openmaker-pg-"))
    if run_as is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = ThrowawayCluster(bindir=bindir, root=root, port=0, run_as=run_as)
    try:
        cluster.pg(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        last_error: Exception | None = None
        for _attempt in range(3):
            cluster.port = _free_port()
            options = (
                f"-p {cluster.port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
            )
            try:
                cluster.pg(
                    "pg_ctl", "-D", str(cluster.data), "-o", options,
                    "-l", str(root / "server.log"), "-w", "-t", "60", "start",
                )  # fmt: skip
                break
            except PostgresUnavailable as exc:  # most likely the port was taken meanwhile
                last_error = exc
        else:
            log = (root / "server.log").read_text(errors="replace")[-800:] if root.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {last_error}\n{log}")
        admin = create_engine(
            f"postgresql+psycopg2://postgres@127.0.0.1:{cluster.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{TEST_DATABASE}"'))
        finally:
            admin.dispose()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def check_server(url: str) -> None:
    """Connect once; raises :class:`PostgresUnavailable` with the driver's message."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise PostgresUnavailable(f"cannot connect to {make_url(url)!r}: {exc}") from exc
    finally:
        engine.dispose()


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a usable server for the duration of the block.

    Raises:
        PostgresUnavailable: neither the configured server nor a throwaway one works.
    """
    configured = os.environ.get(ENV_URL)
    if configured:
        check_server(configured)
        yield configured
        return
    cluster = start_throwaway_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@contextmanager
def isolated_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on ``server_url``; yields a URL whose ``search_path`` points at it."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = quote(f"-csearch_path={schema}")
        separator = "&" if "?" in server_url else "?"
        try:
            yield f"{server_url}{separator}options={options}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
