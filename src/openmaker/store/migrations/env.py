"""Alembic environment for openmaker's metadata store.

Programmatic runs (:func:`openmaker.store.migrate.upgrade`) pass an open connection in
``config.attributes["connection"]`` and own its transaction. The ``alembic`` command line
connects to ``sqlalchemy.url`` or, when that is unset, to the configured openmaker database.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from openmaker.store.migrate import VERSION_TABLE
from openmaker.store.schema import metadata

config = context.config
target_metadata = metadata


def _render_as_batch(dialect_name: str) -> bool:
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    return dialect_name == "sqlite"


def run_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``)."""
    url = config.get_main_option("sqlalchemy.url") or _default_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run against a live database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            render_as_batch=_render_as_batch(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = create_engine(config.get_main_option("sqlalchemy.url") or _default_url())
    try:
        with engine.begin() as conn:
            context.configure(
                connection=conn,
                target_metadata=target_metadata,
                version_table=VERSION_TABLE,
                render_as_batch=_render_as_batch(conn.dialect.name),
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def _default_url() -> str:
    from openmaker.settings import get_settings

    return get_settings().database_url


if context.is_offline_mode():
    run_offline()
else:
    run_online()
