"""One database behind every aggregate store: engine set-up, transactions, error wrapping.

SQLite is tuned for many processes (a job runner per job writes while the CLI reads): WAL
journal (set once by :mod:`openmaker.store.migrate`), a 30 s busy timeout, foreign keys on,
and write transactions that take the write lock up front (``BEGIN IMMEDIATE``) so a
read-then-write never fails half way with "database is locked". On PostgreSQL, writers lock the
aggregate's row (``SELECT ... FOR UPDATE``) and multi-statement reads run in one read-only
``REPEATABLE READ`` snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from openmaker.errors import OpenmakerError, StoreError

#: How long a SQLite writer waits for the write lock before failing, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_BEGIN_OPTION = "openmaker_sqlite_begin"


def describe_error(exc: BaseException) -> str:
    """A one-line description of a database error (the driver's message when there is one)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """An engine plus the transaction discipline every store follows.

    Args:
        url: any SQLAlchemy URL.

    Raises:
        StoreError: the URL is malformed or its driver is missing.
    """

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"Invalid database URL {url!r}: {exc}") from exc
        self.url = url
        self.sa_url = parsed
        self.dialect = parsed.get_backend_name()
        self.path = sqlite_path(parsed) if self.dialect == "sqlite" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = self._create_engine(parsed)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"Cannot use database {self.safe_url}: {exc}") from exc
        self._pid = os.getpid()

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return self.sa_url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        """Whether the backend is SQLite."""
        return self.dialect == "sqlite"

    def _create_engine(self, url: URL) -> Engine:
        if self.dialect != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        kwargs: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        }
        if self.path is None:
            # One shared connection, or every checkout would see a different empty database.
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine

    def _after_fork(self) -> None:
        # Connections inherited from a parent process must never be used (or closed) here.
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A raw connection (no transaction begun), with database errors as :class:`StoreError`."""
        self._after_fork()
        try:
            with self.engine.connect() as conn:
                yield conn
        except OpenmakerError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"Metadata store {self.safe_url} failed: {describe_error(exc)}"
            ) from exc

    @contextmanager
    def begin(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Args:
            write: take the write lock at the start (SQLite ``BEGIN IMMEDIATE``). Writers on
                PostgreSQL must also lock the rows they read-modify-write (``with_for_update``).

        Raises:
            StoreError: the database failed (the transaction is rolled back).
        """
        with self.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"})
            with conn.begin():
                if not write and self.dialect == "postgresql":
                    conn.exec_driver_sql(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    )
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    """Per-connection pragmas, and transactions begun by us rather than by pysqlite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own implicit BEGIN is disabled so that "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
