"""Keyset-paginated, filtered listing shared by the hosting aggregates' stores.

The same contract as ``ListTrainingJobs``: ``NameContains`` (case-insensitive),
``StatusEquals``, exclusive time bounds, ``SortBy`` / ``SortOrder``, ``MaxResults`` and an
opaque ``NextToken`` (:class:`~openmaker.store.pagination.PageToken`). Ties in the sort key are
broken by name so pages are stable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, and_, or_, select

from openmaker.errors import ValidationError
from openmaker.store.database import Database
from openmaker.store.pagination import PageToken
from openmaker.store.types import require_aware

R = TypeVar("R")

SORT_ORDERS = ("Ascending", "Descending")


def list_page(
    db: Database,
    table: Table,
    to_record: Callable[[Any], R],
    *,
    sort_fields: Sequence[str],
    statuses: Collection[str] | None = None,
    name_contains: str | None = None,
    status_equals: str | None = None,
    creation_time_after: datetime | None = None,
    creation_time_before: datetime | None = None,
    last_modified_time_after: datetime | None = None,
    last_modified_time_before: datetime | None = None,
    sort_by: str = "CreationTime",
    sort_order: str = "Descending",
    max_results: int = 100,
    next_token: str | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[R], str | None]:
    """One page of ``table``'s rows as records, and the next page's token (or ``None``).

    Raises:
        ValidationError: a bad sort, status, page size, time bound or token.
    """
    if sort_by not in sort_fields:
        raise ValidationError(f"SortBy must be one of {', '.join(sort_fields)}; got {sort_by!r}")
    if sort_order not in SORT_ORDERS:
        raise ValidationError(
            f"SortOrder must be one of {', '.join(SORT_ORDERS)}; got {sort_order!r}"
        )
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise ValidationError(f"MaxResults must be a positive integer; got {max_results!r}")
    c = table.c
    conditions: list[ColumnElement[bool]] = list(extra)
    if status_equals is not None:
        if statuses is None or status_equals not in statuses:
            raise ValidationError(
                f"StatusEquals must be one of {', '.join(sorted(statuses or ()))}; "
                f"got {status_equals!r}"
            )
        conditions.append(c.status == status_equals)
    if name_contains:
        conditions.append(c.name.icontains(name_contains, autoescape=True))
    bounds = (
        (creation_time_after, "creation_time", True),
        (creation_time_before, "creation_time", False),
        (last_modified_time_after, "last_modified_time", True),
        (last_modified_time_before, "last_modified_time", False),
    )
    for bound, column_name, after in bounds:
        if bound is None:
            continue
        if column_name not in c:
            raise ValidationError(f"This list has no {column_name} filter")
        try:
            bound = require_aware(bound, "time filter")
        except (ValueError, AttributeError) as exc:
            raise ValidationError(str(exc)) from exc
        column = c[column_name]
        conditions.append(column > bound if after else column < bound)

    def text_key(column: Any) -> Any:
        return column.collate("C") if db.dialect == "postgresql" else column

    name = text_key(c.name)
    columns: list[Any] = {
        "Name": [name],
        "CreationTime": [c.creation_time, name],
        "Status": [text_key(c.status) if "status" in c else name, name],
    }[sort_by]
    descending = sort_order == "Descending"
    if next_token is not None:
        token = PageToken.decode(
            next_token, sort_by=sort_by, sort_order=sort_order, arity=len(columns)
        )
        conditions.append(_after_key(columns, token.key, descending))
    order = [col.desc() if descending else col.asc() for col in columns]
    query = select(table).where(*conditions).order_by(*order).limit(max_results + 1)
    with db.begin() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > max_results
    rows = rows[:max_results]
    records = [to_record(row) for row in rows]
    if not more:
        return records, None
    last = rows[-1]
    key = {
        "Name": (last.name,),
        "CreationTime": (last.creation_time, last.name),
        "Status": (getattr(last, "status", last.name), last.name),
    }[sort_by]
    return records, PageToken(sort_by, sort_order, key).encode()


def _after_key(columns: Sequence[Any], key: tuple[Any, ...], descending: bool) -> Any:
    clauses = []
    for i, column in enumerate(columns):
        prefix = [columns[j] == key[j] for j in range(i)]
        beyond = column < key[i] if descending else column > key[i]
        clauses.append(and_(*prefix, beyond))
    return or_(*clauses)
