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
from openmaker.store.endpoint_configs import EndpointConfigStore
from openmaker.store.endpoints import EndpointStore
from openmaker.store.hosting_records import (
    ENDPOINT_STATUSES,
    TRANSFORM_JOB_STATUSES,
    EndpointConfigRecord,
    EndpointRecord,
    ModelRecord,
    TransformJobRecord,
)
from openmaker.store.migrate import HEAD_REVISION, upgrade
from openmaker.store.models import ModelStore
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
from openmaker.store.transform_jobs import TransformJobStore
from openmaker.store.tuning_jobs import (
    TUNING_JOB_STATUSES,
    TUNING_TERMINAL_STATUSES,
    TuningJobRecord,
    TuningJobStore,
)

__all__ = [
    "ACTIVE_STATUSES",
    "ENDPOINT_STATUSES",
    "HEAD_REVISION",
    "MUTABLE_FIELDS",
    "SECONDARY_STATUSES",
    "TERMINAL_SECONDARY_STATUSES",
    "TERMINAL_STATUSES",
    "TRAINING_JOB_STATUSES",
    "TRANSFORM_JOB_STATUSES",
    "TUNING_JOB_STATUSES",
    "TUNING_TERMINAL_STATUSES",
    "EndpointConfigRecord",
    "EndpointConfigStore",
    "EndpointRecord",
    "EndpointStore",
    "MetricPoint",
    "ModelRecord",
    "ModelStore",
    "StatusTransition",
    "Store",
    "TrainingJobRecord",
    "TrainingJobStore",
    "TransformJobRecord",
    "TransformJobStore",
    "TuningJobRecord",
    "TuningJobStore",
    "open_store",
]


class Store:
    """All aggregate stores over one database. Build it with :func:`open_store`.

    Attributes:
        training_jobs: the training-job store.
        models: models (``CreateModel``).
        endpoint_configs: endpoint configurations.
        endpoints: endpoints.
        transform_jobs: batch transform jobs.
        tuning_jobs: hyperparameter tuning jobs.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self.training_jobs = TrainingJobStore(database)
        self.models = ModelStore(database)
        self.endpoint_configs = EndpointConfigStore(database)
        self.endpoints = EndpointStore(database)
        self.transform_jobs = TransformJobStore(database)
        self.tuning_jobs = TuningJobStore(database)

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
