"""The metadata store: small interfaces, one per aggregate, over SQLAlchemy + Alembic.

>>> with open_store("sqlite:////tmp/om.db") as store:          # doctest: +SKIP
...     store.training_jobs.create(TrainingJobRecord(name="j1", arn=..., algorithm="xgboost"))

:func:`open_store` migrates the database to the newest schema (cheap when it is there
already; safe when several processes open it at once). Each aggregate is an attribute of
:class:`Store` (``store.training_jobs``; models, endpoints... later) and returns frozen
snapshots, never live rows. Database failures raise :class:`~openmaker.errors.StoreError`.
"""

from __future__ import annotations

from types import TracebackType

from openmaker.settings import get_settings
from openmaker.store.database import Database
from openmaker.store.migrate import HEAD_REVISION, upgrade
from openmaker.store.records import (
    ACTIVE_STATUSES,
    SECONDARY_STATUSES,
    TERMINAL_SECONDARY_STATUSES,
    TERMINAL_STATUSES,
    TRAINING_JOB_STATUSES,
    MetricPoint,
    StatusTransition,
    TrainingJobRecord,
)
from openmaker.store.training_jobs import MUTABLE_FIELDS, TrainingJobStore

__all__ = [
    "ACTIVE_STATUSES",
    "HEAD_REVISION",
    "MUTABLE_FIELDS",
    "SECONDARY_STATUSES",
    "TERMINAL_SECONDARY_STATUSES",
    "TERMINAL_STATUSES",
    "TRAINING_JOB_STATUSES",
    "MetricPoint",
    "StatusTransition",
    "Store",
    "TrainingJobRecord",
    "TrainingJobStore",
    "open_store",
]


class Store:
    """All aggregate stores over one database. Build it with :func:`open_store`.

    Attributes:
        training_jobs: the training-job store.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self.training_jobs = TrainingJobStore(database)

    @property
    def url(self) -> str:
        """The database URL, as given (password included: workers reopen the store with it)."""
        return self._db.url

    @property
    def dialect(self) -> str:
        """The backend: ``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    @property
    def database(self) -> Database:
        """The underlying database (engine and transactions), for sibling stores and tests."""
        return self._db

    def close(self) -> None:
        """Close the pooled connections. The store can still be used; it reconnects."""
        self._db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._db.safe_url!r})"


def open_store(url: str | None = None) -> Store:
    """Open (and migrate) the metadata store.

    Args:
        url: any SQLAlchemy URL; default: ``get_settings().database_url`` (SQLite under
            ``$OPENMAKER_HOME``). A SQLite file's folder is created.

    Raises:
        StoreError: the database cannot be reached or migrated.
    """
    database = Database(url or get_settings().database_url)
    try:
        upgrade(database)
    except BaseException:
        database.dispose()
        raise
    return Store(database)
