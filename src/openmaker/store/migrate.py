"""Bring a database's schema to the newest Alembic revision, safely from many processes.

:func:`upgrade` first reads the current revision; when it is already :data:`HEAD_REVISION`
(the usual case) that one query is all it costs. Otherwise it takes a lock — a file lock next to
a SQLite database, a session-level advisory lock on PostgreSQL — and runs Alembic's
``upgrade head``, which checks the revision again under the lock, so concurrent openers migrate
once and the others find the work done.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from openmaker.errors import StoreError
from openmaker.store.database import Database, describe_error

if TYPE_CHECKING:  # Alembic is imported only to migrate (~0.15 s off every process start)
    from alembic.config import Config

#: The newest revision under ``migrations/versions`` (a test checks they agree).
HEAD_REVISION = "0003"
#: Where the Alembic environment lives inside the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: ``pg_advisory_lock`` key held while migrating (any constant; "openmkr1" as an integer).
PG_ADVISORY_LOCK_KEY = 0x6F70656E6D6B7231 & 0x7FFFFFFFFFFFFFFF
#: Our own name, so other Alembic users of the same database (Optuna's study storage) keep
#: theirs.
VERSION_TABLE = "openmaker_alembic_version"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for the packaged migrations, without any ini file.

    Args:
        connection: run on this connection (its open transaction is used as is).
        url: otherwise, the database URL ``env.py`` connects to.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_head() -> str | None:
    """The head revision according to the migration scripts (slower: reads them all)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, ``None`` for an empty database."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(db: Database) -> None:
    """Migrate ``db`` to :data:`HEAD_REVISION` (a cheap check when it is there already).

    Raises:
        StoreError: the database cannot be reached or a migration failed.
    """
    try:
        with db.connect() as conn:
            at_head = current_revision(conn) == HEAD_REVISION
            conn.rollback()
        if at_head:
            return
        if db.is_sqlite:
            _upgrade_sqlite(db)
        else:
            _upgrade_locked(db)
    except StoreError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(
            f"Cannot migrate the metadata store {db.safe_url}: {describe_error(exc)}"
        ) from exc
    except Exception as exc:  # Alembic raises its own CommandError and friends
        raise StoreError(f"Cannot migrate the metadata store {db.safe_url}: {exc}") from exc


def _run_alembic(conn: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection=conn), "head")


def _upgrade_sqlite(db: Database) -> None:
    with _file_lock(db.path):
        if db.path is not None:
            with db.connect() as conn:
                # Persistent in the file. It must run outside a transaction, so it goes
                # straight to the driver (SQLAlchemy would BEGIN first).
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                finally:
                    cursor.close()
        # BEGIN IMMEDIATE: the revision check inside Alembic and the DDL are one write
        # transaction, a second guard should the file lock be unavailable.
        with db.begin(write=True) as conn:
            _run_alembic(conn)


def _upgrade_locked(db: Database) -> None:
    with db.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            with conn.begin():
                _run_alembic(conn)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_ADVISORY_LOCK_KEY})
            conn.commit()


@contextlib.contextmanager
def _file_lock(db_path: Path | None) -> Iterator[None]:
    """An exclusive lock on ``<db>.migrate.lock`` (nothing for in-memory databases)."""
    if db_path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: BEGIN IMMEDIATE alone guards
        yield
        return
    lock_path = db_path.with_name(db_path.name + ".migrate.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
