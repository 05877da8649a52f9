"""Column types and time helpers shared by every aggregate's tables."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes.

    Args:
        value: the datetime to check.
        what: a name for the value, used in the error message.

    Raises:
        ValueError: ``value`` has no timezone.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zone support, so the value is converted
    to UTC and stored naive (SQLAlchemy's fixed-width ISO text sorts chronologically); on the way
    out the UTC zone is attached again. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; strip the zone for SQLite."""
        if value is None:
            return None
        value = require_aware(value, "timestamp")
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach (or normalise to) UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers always give datetimes
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def float_to_json(value: float) -> float | str:
    """Encode a float for a JSON column: NaN and infinities become strings (JSON has none)."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def float_from_json(value: float | str | None) -> float:
    """Decode :func:`float_to_json`'s output (``None`` reads as NaN)."""
    return math.nan if value is None else float(value)


def datetime_to_json(value: datetime) -> str:
    """ISO-8601 text of a UTC datetime, for JSON columns."""
    return require_aware(value, "timestamp").isoformat()


def datetime_from_json(value: str) -> datetime:
    """Parse :func:`datetime_to_json`'s output back into an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
