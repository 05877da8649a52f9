"""Opening a store: migrations, idempotency, SQLite settings, connection errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from openmaker.errors import StoreError
from openmaker.store import HEAD_REVISION, Store, open_store
from openmaker.store import migrate as migrate_module
from openmaker.store.migrate import alembic_config, current_revision, script_head
from openmaker.store.schema import metadata

TABLES = {"training_jobs", "training_job_transitions", "training_job_metrics"}


def test_head_revision_constant_matches_scripts() -> None:
    assert script_head() == HEAD_REVISION


def test_open_creates_schema(store: Store) -> None:
    with store.database.connect() as conn:
        inspector = inspect(conn)
        assert set(inspector.get_table_names()) >= TABLES
        assert current_revision(conn) == HEAD_REVISION
        for child in ("training_job_transitions", "training_job_metrics"):
            (fk,) = inspector.get_foreign_keys(child)
            assert fk["referred_table"] == "training_jobs"
            assert fk["options"].get("ondelete", "").upper() == "CASCADE"
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("training_jobs")}
        assert {("status",), ("creation_time",), ("tuning_job_arn",)} <= indexed
        pk = inspector.get_pk_constraint("training_jobs")
        assert pk["constrained_columns"] == ["name"]


def test_migrations_match_the_tables_the_code_uses(store: Store) -> None:
    with store.database.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": migrate_module.VERSION_TABLE}
        )
        diffs = compare_metadata(context, metadata)
    assert diffs == []


def test_open_twice_is_cheap_and_keeps_data(
    store_url: str, make_record, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(store_url) as first:
        first.training_jobs.create(make_record("kept"))

    def fail(_conn: object) -> None:
        raise AssertionError("Alembic must not run on a database already at head")

    monkeypatch.setattr(migrate_module, "_run_alembic", fail)
    with open_store(store_url) as second:
        assert second.training_jobs.get("kept").name == "kept"


def test_downgrade_then_upgrade_again(store: Store, make_record) -> None:
    store.training_jobs.create(make_record("gone"))
    with store.database.begin(write=True) as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    with store.database.connect() as conn:
        assert not TABLES & set(inspect(conn).get_table_names())
        assert current_revision(conn) is None
    store.close()
    with open_store(store.url) as reopened:
        assert reopened.training_jobs.list() == ([], None)


def test_database_newer_than_the_code_is_refused(store: Store) -> None:
    with store.database.begin(write=True) as conn:
        conn.execute(text("UPDATE openmaker_alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="migrate"):
        open_store(store.url)


def test_store_properties(store: Store, backend: str) -> None:
    assert store.dialect == backend
    assert store.url.startswith(backend)
    assert backend in repr(store)


def test_default_url_comes_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "not" / "yet"
    monkeypatch.setenv("OPENMAKER_HOME", str(home))
    monkeypatch.delenv("OPENMAKER_DATABASE_URL", raising=False)
    with open_store() as store:
        assert store.dialect == "sqlite"
        assert store.training_jobs.list() == ([], None)
    assert (home / "openmaker.db").is_file()


def test_sqlite_settings(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'om.db'}") as store, store.database.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_in_memory_sqlite_works(make_record) -> None:
    with open_store("sqlite://") as store:
        store.training_jobs.create(make_record("mem"))
        assert store.training_jobs.get("mem").name == "mem"


def test_bad_url_raises_store_error() -> None:
    with pytest.raises(StoreError):
        open_store("not a url")
    with pytest.raises(StoreError):
        open_store("nosuchdialect://x/y")


def test_unreachable_server_raises_store_error() -> None:
    with pytest.raises(StoreError):
        open_store("postgresql+psycopg2://nobody@127.0.0.1:1/nothing?connect_timeout=2")
