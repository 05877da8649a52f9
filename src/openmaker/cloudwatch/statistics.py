"""CloudWatch's arithmetic: the query window, the periods, and each period's statistics.

The rules, from GetMetricStatistics' documentation:

* ``Period`` is 1, 5, 10, 20 or 30 seconds (high resolution) or a multiple of 60.
* ``StartTime`` is rounded down: to a multiple of the period for a high-resolution period;
  otherwise by its age, to the minute (less than 15 days old), to 5 minutes (15 to 63 days) or
  to the hour (older).
* Data point ``k`` covers ``[start + k * Period, start + (k + 1) * Period)`` and carries the
  start of its period as ``Timestamp``. The data points whose timestamp is before ``EndTime``
  (exclusive) are returned, each aggregating its whole period; at most 1,440 may be asked for,
  ``ceil((EndTime - start) / Period)``.
* Statistics: ``SampleCount``, ``Average``, ``Sum``, ``Minimum``, ``Maximum``, and percentiles
  ``p0`` to ``p100`` (``p99.9``). A percentile is the nearest-rank value (the smallest sample
  with at least that share of the samples at or below it); as in CloudWatch, a period with a
  negative sample has no percentiles. Samples of different units make separate data points.

openmaker keeps every sample as it was recorded: there is no roll-up with age, so any period
can be asked for at any time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from openmaker.cloudwatch.errors import InvalidParameterCombinationError, InvalidParameterValueError

STATISTICS: tuple[str, ...] = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
HIGH_RESOLUTION_PERIODS = frozenset({1, 5, 10, 20, 30})
MAX_DATAPOINTS = 1440
#: A sample's unit when none was given (SageMaker's training metrics have none).
NO_UNIT = "None"

_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,10})?|100(?:\.0{1,10})?)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sample:
    """One recorded value of a metric.

    Attributes:
        timestamp: when it was recorded (aware).
        value: a finite number.
        unit: CloudWatch's ``StandardUnit``.
    """

    timestamp: datetime
    value: float
    unit: str = NO_UNIT


@dataclass(frozen=True)
class Datapoint:
    """One period's statistics.

    Attributes:
        timestamp: the start of the period.
        unit: the unit of its samples.
        statistics: the requested statistics, by name (``Average``: 0.5).
        percentiles: the requested percentiles, by the name given (``p90``: 0.9).
    """

    timestamp: datetime
    unit: str
    statistics: Mapping[str, float] = field(default_factory=dict)
    percentiles: Mapping[str, float] = field(default_factory=dict)


def check_period(period: int) -> None:
    """Refuse a period CloudWatch does not take.

    Raises:
        InvalidParameterValueError: not 1, 5, 10, 20, 30 or a positive multiple of 60.
    """
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise InvalidParameterValueError(f"The parameter Period must be positive; got {period!r}.")
    if period not in HIGH_RESOLUTION_PERIODS and period % 60:
        raise InvalidParameterValueError(
            f"The parameter Period must be 1, 5, 10, 20, 30 or a multiple of 60; got {period}."
        )


def percentile(name: str) -> Fraction:
    """The share (0 to 100) a percentile statistic names: ``p99.9`` -> 99.9.

    Raises:
        InvalidParameterValueError: not ``p0`` to ``p100``.
    """
    m = _PERCENTILE.fullmatch(name) if isinstance(name, str) else None
    if m is None:
        raise InvalidParameterValueError(
            f"The extended statistic {name!r} is not valid; use a percentile from p0.0 to p100."
        )
    return Fraction(m.group(1))


def window_start(start: datetime, period: int, now: datetime) -> datetime:
    """``StartTime`` rounded down as CloudWatch rounds it (see the module docstring)."""
    if period in HIGH_RESOLUTION_PERIODS:
        step = period
    else:
        age = now - start
        if age < timedelta(days=15):
            step = 60
        elif age < timedelta(days=63):
            step = 300
        else:
            step = 3600
    seconds = (start - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=seconds - seconds % step)


def datapoint_count(start: datetime, end: datetime, period: int) -> int:
    """How many periods from ``start`` (already rounded) begin before ``end``."""
    if end <= start:
        return 0
    return -(-(end - start) // timedelta(seconds=period))


def check_datapoint_count(start: datetime, end: datetime, period: int) -> int:
    """:func:`datapoint_count`, refused above CloudWatch's 1,440.

    Raises:
        InvalidParameterCombinationError: more than 1,440 data points would be asked for.
    """
    count = datapoint_count(start, end, period)
    if count > MAX_DATAPOINTS:
        raise InvalidParameterCombinationError(
            f"You have requested up to {count} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, "
            "or decreasing the time range."
        )
    return count


def aggregate(
    samples: Iterable[Sample],
    *,
    start: datetime,
    period: int,
    statistics: Sequence[str] = (),
    percentiles: Sequence[str] = (),
) -> list[Datapoint]:
    """The data points of ``samples``, one per period (and unit) that has samples.

    Args:
        samples: the samples, at or after ``start``.
        start: the rounded start of the window (:func:`window_start`).
        period: seconds per data point.
        statistics: names from :data:`STATISTICS`.
        percentiles: percentile names (``p90``); checked with :func:`percentile`.

    Returns:
        The data points in time order.
    """
    shares = {name: percentile(name) for name in percentiles}
    step = timedelta(seconds=period)
    groups: dict[tuple[int, str], list[float]] = {}
    for sample in samples:
        if sample.timestamp < start or not math.isfinite(sample.value):
            continue
        key = ((sample.timestamp - start) // step, sample.unit)
        groups.setdefault(key, []).append(float(sample.value))
    points = []
    for (index, unit), values in sorted(groups.items()):
        points.append(
            Datapoint(
                timestamp=start + index * step,
                unit=unit,
                statistics={name: _statistic(name, values) for name in statistics},
                percentiles=_percentiles(shares, values),
            )
        )
    return points


def _statistic(name: str, values: Sequence[float]) -> float:
    if name == "SampleCount":
        return float(len(values))
    if name == "Sum":
        return math.fsum(values)
    if name == "Average":
        return math.fsum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    raise InvalidParameterValueError(
        f"The statistic {name!r} is not valid; valid statistics: {', '.join(STATISTICS)}."
    )


def _percentiles(shares: Mapping[str, Fraction], values: Sequence[float]) -> dict[str, float]:
    if not shares or min(values) < 0:
        return {}
    ordered = sorted(values)
    out = {}
    for name, share in shares.items():
        rank = math.ceil(share * len(ordered) / 100)
        out[name] = ordered[max(rank, 1) - 1]
    return out
