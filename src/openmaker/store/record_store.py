"""A small generic store for aggregates whose record fields equal their table's columns.

Each hosting aggregate (models, endpoint configs, endpoints, transform jobs) is one row;
:class:`RecordStore` gives it create / get / exists / update (optionally compare-and-set on the
status) / delete / list in one transaction each, returning frozen records.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from openmaker.errors import ResourceInUseError, ResourceNotFoundError
from openmaker.store.database import Database
from openmaker.store.listing import list_page
from openmaker.store.missing import Resource
from openmaker.store.types import require_aware, utcnow

R = TypeVar("R")


class RecordStore(Generic[R]):
    """CRUD for one aggregate table. Subclasses set the class attributes.

    Attributes:
        table: the SQLAlchemy table.
        record_type: the frozen dataclass whose fields are the table's columns.
        kind: the resource's display name in messages (``Endpoint``).
        resource: how a missing one is reported (:mod:`openmaker.store.missing`).
        immutable: fields :meth:`update` refuses to change.
        sort_fields: the ``SortBy`` values :meth:`list` accepts.
        statuses: the ``StatusEquals`` values :meth:`list` accepts (None: no status column).
    """

    table: ClassVar[Table]
    record_type: ClassVar[type]
    kind: ClassVar[str] = "Resource"
    resource: ClassVar[Resource]
    immutable: ClassVar[frozenset[str]] = frozenset({"name", "arn", "creation_time"})
    sort_fields: ClassVar[tuple[str, ...]] = ("Name", "CreationTime")
    statuses: ClassVar[Collection[str] | None] = None

    def __init__(self, db: Database) -> None:
        self._db = db
        self._fields = [f.name for f in dataclasses.fields(self.record_type)]

    # --- reads ----------------------------------------------------------------------------
    def get(self, name: str) -> R:
        """The record called ``name``.

        Raises:
            ResourceNotFoundError: no such resource.
        """
        with self._db.begin() as conn:
            return self._load(conn, name)

    def exists(self, name: str) -> bool:
        """Whether ``name`` exists."""
        with self._db.begin() as conn:
            row = conn.execute(select(self.table.c.name).where(self.table.c.name == name)).first()
        return row is not None

    def list(self, **filters: Any) -> tuple[builtins.list[R], str | None]:
        """One page of records (see :func:`openmaker.store.listing.list_page` for filters)."""
        return list_page(
            self._db,
            self.table,
            self._to_record,
            sort_fields=self.sort_fields,
            statuses=self.statuses,
            **filters,
        )

    def all(self, *, status_in: Collection[str] | None = None) -> builtins.list[R]:
        """Every record (optionally only those in some statuses), oldest first."""
        query = select(self.table).order_by(self.table.c.creation_time, self.table.c.name)
        if status_in is not None:
            query = query.where(self.table.c.status.in_(sorted(status_in)))
        with self._db.begin() as conn:
            return [self._to_record(row) for row in conn.execute(query)]

    # --- writes ---------------------------------------------------------------------------
    def create(self, record: R) -> R:
        """Insert a new record.

        Raises:
            ResourceInUseError: the name is taken.
        """
        values = {f: getattr(record, f) for f in self._fields}
        for key, value in values.items():
            if isinstance(value, datetime):
                values[key] = require_aware(value, key)
        name = values["name"]
        in_use = ResourceInUseError(f"Cannot create already existing {self.kind.lower()} {name!r}.")
        with self._db.begin(write=True) as conn:
            taken = conn.execute(select(self.table.c.name).where(self.table.c.name == name))
            if taken.first() is not None:
                raise in_use
            try:
                conn.execute(insert(self.table).values(values))
            except IntegrityError as exc:
                raise in_use from exc
            return self._load(conn, name)

    def update(
        self,
        name: str,
        /,
        *,
        only_if: Callable[[R], bool] | None = None,
        only_if_status: Collection[str] | None = None,
        **fields: Any,
    ) -> R | None:
        """Change fields atomically (``last_modified_time`` and ``revision`` follow by themselves).

        Args:
            name: the resource.
            only_if: compare-and-set: change nothing and return ``None`` unless it holds.
            only_if_status: compare-and-set on the current status.
            **fields: the new values; a callable value gets the current record and returns one.

        Raises:
            ResourceNotFoundError: no such resource.
            ValueError: an unknown or immutable field (a programming error).
        """
        bad = sorted(set(fields) - (set(self._fields) - self.immutable))
        if bad:
            raise ValueError(f"Cannot update {self.kind} field(s) {', '.join(bad)}")
        with self._db.begin(write=True) as conn:
            current = self._load(conn, name, lock=True)
            if only_if_status is not None and current.status not in only_if_status:  # type: ignore[attr-defined]
                return None
            if only_if is not None and not only_if(current):
                return None
            values = {k: (v(current) if callable(v) else v) for k, v in fields.items()}
            for key, value in values.items():
                if isinstance(value, datetime):
                    values[key] = require_aware(value, key)
            if "last_modified_time" in self._fields:
                values.setdefault("last_modified_time", utcnow())
            if "revision" in self._fields:
                values["revision"] = current.revision + 1  # type: ignore[attr-defined]
            if values:
                conn.execute(update(self.table).where(self.table.c.name == name).values(values))
            return self._load(conn, name)

    def delete(self, name: str, *, only_if_status: Collection[str] | None = None) -> bool:
        """Delete ``name``; False (nothing deleted) when ``only_if_status`` did not match.

        Raises:
            ResourceNotFoundError: no such resource.
        """
        with self._db.begin(write=True) as conn:
            current = self._load(conn, name, lock=True)
            if only_if_status is not None and current.status not in only_if_status:  # type: ignore[attr-defined]
                return False
            conn.execute(delete(self.table).where(self.table.c.name == name))
            return True

    # --- helpers --------------------------------------------------------------------------
    def not_found(self, name: str) -> ResourceNotFoundError:
        """The error for a missing ``name`` (with SageMaker's wording for the API)."""
        return self.resource.not_found(name)

    def _load(self, conn: Connection, name: str, *, lock: bool = False) -> R:
        query = select(self.table).where(self.table.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise self.not_found(name)
        return self._to_record(row)

    def _to_record(self, row: Any) -> R:
        data: Mapping[str, Any] = row._mapping
        record: R = self.record_type(**{f: data[f] for f in self._fields})
        return record
