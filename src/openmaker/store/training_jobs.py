"""The training-job aggregate: a job, its status transitions and its metrics."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from openmaker.errors import ResourceInUseError, ResourceNotFoundError, ValidationError
from openmaker.store import missing
from openmaker.store.database import Database
from openmaker.store.pagination import PageToken
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
from openmaker.store.schema import training_job_metrics as metrics_t
from openmaker.store.schema import training_job_transitions as transitions_t
from openmaker.store.schema import training_jobs as jobs_t
from openmaker.store.types import (
    datetime_from_json,
    datetime_to_json,
    float_from_json,
    float_to_json,
    require_aware,
    utcnow,
)

#: Fields :meth:`TrainingJobStore.update` and :meth:`TrainingJobStore.transition` may set.
MUTABLE_FIELDS: frozenset[str] = frozenset(
    {
        "model_artifacts",
        "executor",
        "executor_handle",
        "job_dir",
        "training_start_time",
        "training_end_time",
        "failure_reason",
        "tags",
    }
)
SORT_FIELDS: tuple[str, ...] = ("Name", "CreationTime", "Status")
SORT_ORDERS: tuple[str, ...] = ("Ascending", "Descending")

_JSON_FIELDS = (
    "hyperparameters",
    "algorithm_specification",
    "input_data_config",
    "output_data_config",
    "resource_config",
    "stopping_condition",
    "checkpoint_config",
    "environment",
    "tags",
)
_SCALAR_FIELDS = (
    "name",
    "arn",
    "algorithm",
    "status",
    "secondary_status",
    "failure_reason",
    "role_arn",
    "creation_time",
    "last_modified_time",
    "training_start_time",
    "training_end_time",
    "model_artifacts",
    "executor",
    "executor_handle",
    "job_dir",
    "tuning_job_arn",
)
_TIME_FIELDS = frozenset(
    {"creation_time", "last_modified_time", "training_start_time", "training_end_time"}
)


class TrainingJobStore:
    """Training jobs in the metadata store.

    Every method is one transaction. Writers that read before they write lock the job's row
    first, so concurrent processes (the job runner, its log follower, ``stop`` from the CLI)
    never interleave inside one operation.

    Args:
        db: the database shared by all stores of one :class:`~openmaker.store.Store`.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reads ----------------------------------------------------------------------------

    def get(self, name: str) -> TrainingJobRecord:
        """The job called ``name``.

        Raises:
            ResourceNotFoundError: no such job.
            StoreError: the database failed.
        """
        with self._db.begin() as conn:
            return self._load(conn, name)

    def exists(self, name: str) -> bool:
        """Whether a job called ``name`` exists."""
        with self._db.begin() as conn:
            found = conn.execute(select(jobs_t.c.name).where(jobs_t.c.name == name)).first()
            return found is not None

    def list(
        self,
        *,
        name_contains: str | None = None,
        status_equals: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        last_modified_time_after: datetime | None = None,
        last_modified_time_before: datetime | None = None,
        tuning_job_arn: str | None = None,
        sort_by: str = "CreationTime",
        sort_order: str = "Descending",
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[builtins.list[TrainingJobRecord], str | None]:
        """One page of jobs, filtered and sorted like ``ListTrainingJobs``.

        ``name_contains`` matches case-insensitively. The ``*_after`` / ``*_before`` bounds are
        exclusive. Ties in the sort key are broken by name, so pages are stable.

        Args:
            name_contains: substring of the name.
            status_equals: a ``TrainingJobStatus``.
            creation_time_after: only jobs created after this instant.
            creation_time_before: only jobs created before this instant.
            last_modified_time_after: only jobs modified after this instant.
            last_modified_time_before: only jobs modified before this instant.
            tuning_job_arn: only the jobs launched by this tuning job.
            sort_by: ``Name``, ``CreationTime`` or ``Status``.
            sort_order: ``Ascending`` or ``Descending``.
            max_results: page size, at least 1.
            next_token: the token a previous call returned.

        Returns:
            The page, and the token for the next one (``None`` on the last page).

        Raises:
            ValidationError: a bad sort, status, page size or token.
            StoreError: the database failed.
        """
        if sort_by not in SORT_FIELDS:
            raise ValidationError(
                f"SortBy must be one of {', '.join(SORT_FIELDS)}; got {sort_by!r}"
            )
        if sort_order not in SORT_ORDERS:
            raise ValidationError(
                f"SortOrder must be one of {', '.join(SORT_ORDERS)}; got {sort_order!r}"
            )
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValidationError(f"MaxResults must be a positive integer; got {max_results!r}")
        if status_equals is not None and status_equals not in TRAINING_JOB_STATUSES:
            raise ValidationError(
                f"StatusEquals must be one of {', '.join(sorted(TRAINING_JOB_STATUSES))}; "
                f"got {status_equals!r}"
            )
        conditions: builtins.list[ColumnElement[bool]] = []
        if name_contains:
            conditions.append(jobs_t.c.name.icontains(name_contains, autoescape=True))
        if status_equals is not None:
            conditions.append(jobs_t.c.status == status_equals)
        bounds = (
            (creation_time_after, jobs_t.c.creation_time, ">"),
            (creation_time_before, jobs_t.c.creation_time, "<"),
            (last_modified_time_after, jobs_t.c.last_modified_time, ">"),
            (last_modified_time_before, jobs_t.c.last_modified_time, "<"),
        )
        for bound, column, op in bounds:
            if bound is not None:
                bound = _aware(bound, "time filter")
                conditions.append(column > bound if op == ">" else column < bound)
        if tuning_job_arn is not None:
            conditions.append(jobs_t.c.tuning_job_arn == tuning_job_arn)

        key_columns = self._sort_columns(sort_by)
        descending = sort_order == "Descending"
        if next_token is not None:
            token = PageToken.decode(
                next_token, sort_by=sort_by, sort_order=sort_order, arity=len(key_columns)
            )
            conditions.append(_after_key(key_columns, token.key, descending))
        order = [c.desc() if descending else c.asc() for c in key_columns]
        query = select(jobs_t).where(*conditions).order_by(*order).limit(max_results + 1)

        with self._db.begin() as conn:
            rows = conn.execute(query).all()
            more = len(rows) > max_results
            rows = rows[:max_results]
            records = self._records(conn, rows)
        if not more:
            return records, None
        last = rows[-1]
        key = {
            "Name": (last.name,),
            "CreationTime": (last.creation_time, last.name),
            "Status": (last.status, last.name),
        }[sort_by]
        return records, PageToken(sort_by, sort_order, key).encode()

    def active(self) -> builtins.list[TrainingJobRecord]:
        """Jobs ``InProgress`` or ``Stopping``, oldest first (for orphan recovery at start-up)."""
        query = (
            select(jobs_t)
            .where(jobs_t.c.status.in_(sorted(ACTIVE_STATUSES)))
            .order_by(jobs_t.c.creation_time.asc(), jobs_t.c.name.asc())
        )
        with self._db.begin() as conn:
            return self._records(conn, conn.execute(query).all())

    def metric_series(
        self,
        name: str,
        metric_name: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> builtins.list[MetricPoint]:
        """Every logged value of the job's metrics, ordered by timestamp then step.

        Args:
            name: the job.
            metric_name: only this metric (all metrics when ``None``).
            start: only points at or after this instant.
            end: only points before this instant.

        Raises:
            ResourceNotFoundError: no such job.
            StoreError: the database failed.
        """
        query = select(
            metrics_t.c.name, metrics_t.c.value, metrics_t.c.timestamp, metrics_t.c.step
        ).where(metrics_t.c.job_name == name)
        if metric_name is not None:
            query = query.where(metrics_t.c.name == metric_name)
        if start is not None:
            query = query.where(metrics_t.c.timestamp >= _aware(start, "start"))
        if end is not None:
            query = query.where(metrics_t.c.timestamp < _aware(end, "end"))
        query = query.order_by(
            metrics_t.c.timestamp.asc(), metrics_t.c.step.asc().nulls_first(), metrics_t.c.id.asc()
        )
        with self._db.begin() as conn:
            self._require(conn, name)
            rows = conn.execute(query).all()
        return [
            MetricPoint(
                name=row.name,
                value=float_from_json(row.value),
                timestamp=row.timestamp,
                step=row.step,
            )
            for row in rows
        ]

    def metric_keys(
        self,
        *,
        job_name: str | None = None,
        metric_name: str | None = None,
        active_since: datetime | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 500,
    ) -> builtins.list[tuple[str, str]]:
        """The distinct ``(job, metric)`` pairs that have points, ordered by job then metric
        (byte order on every backend), one page at a time.

        Args:
            job_name: only this job's metrics.
            metric_name: only metrics of this name.
            active_since: only metrics with a point at or after this instant.
            after: only pairs after this one (the last pair of the previous page).
            limit: at most this many pairs.

        Raises:
            StoreError: the database failed.
        """
        job, metric = self._text_key(metrics_t.c.job_name), self._text_key(metrics_t.c.name)
        query = select(metrics_t.c.job_name, metrics_t.c.name)
        if job_name is not None:
            query = query.where(metrics_t.c.job_name == job_name)
        if metric_name is not None:
            query = query.where(metrics_t.c.name == metric_name)
        if after is not None:
            query = query.where(
                or_(job > after[0], and_(metrics_t.c.job_name == after[0], metric > after[1]))
            )
        query = query.group_by(metrics_t.c.job_name, metrics_t.c.name)
        if active_since is not None:
            since = _aware(active_since, "active_since")
            query = query.having(func.max(metrics_t.c.timestamp) >= since)
        query = query.order_by(job.asc(), metric.asc()).limit(max(0, limit))
        with self._db.begin() as conn:
            return [(row.job_name, row.name) for row in conn.execute(query)]

    # --- writes ---------------------------------------------------------------------------

    def create(self, record: TrainingJobRecord) -> TrainingJobRecord:
        """Store a new job, with the transitions and final metrics the record carries.

        Raises:
            ResourceInUseError: a job with this name exists.
            ValueError: a status is unknown or a timestamp is naive (a programming error).
            StoreError: the database failed.
        """
        _check_status(record.status, record.secondary_status)
        row = _record_to_row(record)
        transitions = [
            {
                "job_name": record.name,
                "status": t.status,
                "start_time": _aware(t.start_time, "transition start_time"),
                "end_time": None if t.end_time is None else _aware(t.end_time, "end_time"),
                "message": t.message,
            }
            for t in record.secondary_status_transitions
        ]
        in_use = ResourceInUseError(f"Training job {record.name!r} already exists.")
        with self._db.begin(write=True) as conn:
            taken = conn.execute(select(jobs_t.c.name).where(jobs_t.c.name == record.name)).first()
            if taken is not None:
                raise in_use
            try:
                conn.execute(insert(jobs_t).values(row))
            except IntegrityError as exc:  # a concurrent create won the race
                raise in_use from exc
            if transitions:
                conn.execute(insert(transitions_t), transitions)
            return self._load(conn, record.name)

    def update(self, name: str, /, **fields: Any) -> TrainingJobRecord:
        """Set mutable fields (see :data:`MUTABLE_FIELDS`) and bump ``last_modified_time``.

        Raises:
            ValueError: a field is unknown or immutable, or a timestamp is naive.
            ResourceNotFoundError: no such job.
            StoreError: the database failed.
        """
        values = _mutable_values(fields)
        with self._db.begin(write=True) as conn:
            self._require(conn, name, lock=True)
            if values:
                values["last_modified_time"] = utcnow()
                conn.execute(update(jobs_t).where(jobs_t.c.name == name).values(values))
            return self._load(conn, name)

    def transition(
        self,
        name: str,
        /,
        secondary_status: str,
        message: str,
        *,
        status: str | None = None,
        failure_reason: str | None = None,
        only_if_status: tuple[str, ...] | None = None,
        **fields: Any,
    ) -> TrainingJobRecord | None:
        """Move the job to a new secondary (and optionally primary) status, atomically.

        The open transition is closed (``end_time`` = now) and a new one is appended with
        ``message``. A terminal secondary status (``Completed``, ``Failed``, ``Stopped``,
        ``MaxRuntimeExceeded``, ``MaxWaitTimeExceeded``) is appended already closed. When the
        latest transition already has ``secondary_status``, its message is updated instead of
        appending a duplicate, as SageMaker does (``Starting - Launching requested ML
        instances`` then ``Starting - Preparing the instances for training``).

        Args:
            name: the job.
            secondary_status: the new ``SecondaryStatus``.
            message: its ``StatusMessage``.
            status: the new ``TrainingJobStatus``, if it changes.
            failure_reason: set ``FailureReason`` (unchanged when ``None``).
            only_if_status: compare-and-set: change nothing and return ``None`` unless the
                current primary status is one of these.
            **fields: other mutable fields to set in the same transaction.

        Returns:
            The job after the change, or ``None`` when ``only_if_status`` did not match.

        Raises:
            ValueError: an unknown status or field.
            ResourceNotFoundError: no such job.
            StoreError: the database failed (nothing was changed).
        """
        _check_status(status, secondary_status)
        values = _mutable_values(fields)
        if failure_reason is not None:
            values["failure_reason"] = failure_reason
        if status is not None:
            values["status"] = status
        values["secondary_status"] = secondary_status
        closed = secondary_status in TERMINAL_SECONDARY_STATUSES
        with self._db.begin(write=True) as conn:
            current = self._require(conn, name, lock=True)
            if only_if_status is not None and current.status not in only_if_status:
                return None
            now = utcnow()
            latest = conn.execute(
                select(transitions_t.c.id, transitions_t.c.status, transitions_t.c.end_time)
                .where(transitions_t.c.job_name == name)
                .order_by(transitions_t.c.id.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.status == secondary_status:
                changes: dict[str, Any] = {"message": message}
                if closed and latest.end_time is None:
                    changes["end_time"] = now
                conn.execute(
                    update(transitions_t).where(transitions_t.c.id == latest.id).values(changes)
                )
            else:
                conn.execute(
                    update(transitions_t)
                    .where(transitions_t.c.job_name == name, transitions_t.c.end_time.is_(None))
                    .values(end_time=now)
                )
                conn.execute(
                    insert(transitions_t).values(
                        job_name=name,
                        status=secondary_status,
                        start_time=now,
                        end_time=now if closed else None,
                        message=message,
                    )
                )
            values["last_modified_time"] = now
            conn.execute(update(jobs_t).where(jobs_t.c.name == name).values(values))
            return self._load(conn, name)

    def add_metrics(self, name: str, points: Sequence[MetricPoint]) -> None:
        """Append points to the job's metric series and update its final values.

        A metric's final value is its point with the latest ``(timestamp, step)``; among equal
        keys the one appended last wins. ``last_modified_time`` is not changed.

        Raises:
            ResourceNotFoundError: no such job.
            ValueError: a naive timestamp.
            StoreError: the database failed (no point of the batch was stored).
        """
        rows = [
            {
                "job_name": name,
                "name": p.name,
                "value": float(p.value),
                "timestamp": _aware(p.timestamp, f"timestamp of metric {p.name!r}"),
                "step": p.step,
            }
            for p in points
        ]
        with self._db.begin(write=True) as conn:
            current = self._require(conn, name, lock=True)
            if not rows:
                return
            conn.execute(insert(metrics_t), rows)
            finals = {p.name: p for p in _final_metrics_from_json(current.final_metrics)}
            for point in points:
                previous = finals.get(point.name)
                if previous is None or _metric_order(point) >= _metric_order(previous):
                    finals[point.name] = point
            conn.execute(
                update(jobs_t)
                .where(jobs_t.c.name == name)
                .values(final_metrics=_final_metrics_to_json(finals.values()))
            )

    def delete(self, name: str) -> None:
        """Delete a finished job with its transitions and metrics; the name may then be reused.

        Raises:
            ResourceNotFoundError: no such job.
            ResourceInUseError: the job is not ``Completed``, ``Failed`` or ``Stopped``.
            StoreError: the database failed.
        """
        with self._db.begin(write=True) as conn:
            current = self._require(conn, name, lock=True)
            if current.status not in TERMINAL_STATUSES:
                raise ResourceInUseError(
                    f"Training job {name!r} is {current.status}; only a Completed, Failed or "
                    f"Stopped job can be deleted."
                )
            # The foreign keys cascade too; explicit deletes keep this right on connections
            # opened without SQLite's foreign_keys pragma.
            conn.execute(delete(metrics_t).where(metrics_t.c.job_name == name))
            conn.execute(delete(transitions_t).where(transitions_t.c.job_name == name))
            conn.execute(delete(jobs_t).where(jobs_t.c.name == name))

    # --- helpers --------------------------------------------------------------------------

    def _text_key(self, column: Any) -> ColumnElement[Any]:
        # Byte order on every backend, whatever the PostgreSQL database's collation.
        key: ColumnElement[Any] = (
            column.collate("C") if self._db.dialect == "postgresql" else column
        )
        return key

    def _sort_columns(self, sort_by: str) -> builtins.list[ColumnElement[Any]]:
        name = self._text_key(jobs_t.c.name)
        if sort_by == "Name":
            return [name]
        if sort_by == "Status":
            return [self._text_key(jobs_t.c.status), name]
        return [jobs_t.c.creation_time, name]

    def _require(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        query = select(jobs_t.c.status, jobs_t.c.final_metrics).where(jobs_t.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise _not_found(name)
        return row

    def _load(self, conn: Connection, name: str) -> TrainingJobRecord:
        row = conn.execute(select(jobs_t).where(jobs_t.c.name == name)).first()
        if row is None:
            raise _not_found(name)
        return self._records(conn, [row])[0]

    def _records(self, conn: Connection, rows: Sequence[Any]) -> builtins.list[TrainingJobRecord]:
        if not rows:
            return []
        names = [row.name for row in rows]
        by_job: dict[str, builtins.list[StatusTransition]] = {n: [] for n in names}
        for chunk in _chunks(names, 500):
            query = (
                select(transitions_t)
                .where(transitions_t.c.job_name.in_(chunk))
                .order_by(transitions_t.c.job_name, transitions_t.c.id)
            )
            for t in conn.execute(query):
                by_job[t.job_name].append(
                    StatusTransition(
                        status=t.status,
                        start_time=t.start_time,
                        end_time=t.end_time,
                        message=t.message,
                    )
                )
        return [_row_to_record(row, tuple(by_job[row.name])) for row in rows]


def _not_found(name: str) -> ResourceNotFoundError:
    return missing.TRAINING_JOB.not_found(name)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime, got {type(value).__name__}")
    return require_aware(value, what)


def _check_status(status: str | None, secondary_status: str) -> None:
    if status is not None and status not in TRAINING_JOB_STATUSES:
        raise ValueError(f"Unknown TrainingJobStatus {status!r}")
    if secondary_status not in SECONDARY_STATUSES:
        raise ValueError(f"Unknown SecondaryStatus {secondary_status!r}")


def _mutable_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - MUTABLE_FIELDS)
    if unknown:
        raise ValueError(
            f"Cannot update training job field(s) {', '.join(unknown)}; mutable fields: "
            f"{', '.join(sorted(MUTABLE_FIELDS))}"
        )
    values = dict(fields)
    for key in _TIME_FIELDS & values.keys():
        if values[key] is not None:
            values[key] = _aware(values[key], key)
    if "tags" in values:
        values["tags"] = [dict(tag) for tag in values["tags"] or []]
    return values


def _metric_order(point: MetricPoint) -> tuple[datetime, int]:
    return (point.timestamp, -1 if point.step is None else point.step)


def _final_metrics_to_json(points: Iterable[MetricPoint]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "value": float_to_json(p.value),
            "timestamp": datetime_to_json(p.timestamp),
            "step": p.step,
        }
        for p in sorted(points, key=lambda p: p.name)
    ]


def _final_metrics_from_json(items: Iterable[Mapping[str, Any]] | None) -> list[MetricPoint]:
    return [
        MetricPoint(
            name=item["name"],
            value=float_from_json(item["value"]),
            timestamp=datetime_from_json(item["timestamp"]),
            step=item.get("step"),
        )
        for item in items or ()
    ]


def _record_to_row(record: TrainingJobRecord) -> dict[str, Any]:
    row: dict[str, Any] = {f: getattr(record, f) for f in _SCALAR_FIELDS}
    for f in _TIME_FIELDS:
        if row[f] is not None:
            row[f] = _aware(row[f], f)
    for f in _JSON_FIELDS:
        row[f] = getattr(record, f)
    row["final_metrics"] = _final_metrics_to_json(record.final_metrics)
    return row


def _row_to_record(row: Any, transitions: tuple[StatusTransition, ...]) -> TrainingJobRecord:
    data = row._mapping
    kwargs: dict[str, Any] = {f: data[f] for f in _SCALAR_FIELDS}
    for f in _JSON_FIELDS:
        kwargs[f] = data[f]
    kwargs["final_metrics"] = tuple(_final_metrics_from_json(data["final_metrics"]))
    kwargs["secondary_status_transitions"] = transitions
    return TrainingJobRecord(**kwargs)


def _after_key(
    columns: Sequence[ColumnElement[Any]], key: tuple[Any, ...], descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the (lexicographic) sort order of ``columns``."""

    def beyond(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        return column < value if descending else column > value

    clauses: list[ColumnElement[bool]] = []
    for i, column in enumerate(columns):
        equal_prefix = [columns[j] == key[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, beyond(column, key[i])))
    return or_(*clauses)
