"""CloudWatch's arithmetic: the window, the periods, the statistics of each period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openmaker.cloudwatch.errors import InvalidParameterCombinationError, InvalidParameterValueError
from openmaker.cloudwatch.statistics import (
    Sample,
    aggregate,
    check_datapoint_count,
    check_period,
    percentile,
    window_start,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return datetime(2024, 5, 1, 11, 0, 0, tzinfo=UTC) + timedelta(seconds=seconds)


@pytest.mark.parametrize("period", [1, 5, 10, 20, 30, 60, 120, 300, 3600, 86400])
def test_periods_cloudwatch_takes(period: int) -> None:
    check_period(period)


@pytest.mark.parametrize("period", [0, -60, 2, 7, 45, 61, 90, 301])
def test_other_periods_are_invalid_parameter_values(period: int) -> None:
    with pytest.raises(InvalidParameterValueError, match="Period"):
        check_period(period)


def test_start_is_rounded_down_by_period_and_age() -> None:
    start = datetime(2024, 4, 30, 12, 32, 34, 500000, tzinfo=UTC)
    assert window_start(start, 60, NOW) == datetime(2024, 4, 30, 12, 32, tzinfo=UTC)
    assert window_start(start, 10, NOW) == datetime(2024, 4, 30, 12, 32, 30, tzinfo=UTC)
    assert window_start(start, 1, NOW) == datetime(2024, 4, 30, 12, 32, 34, tzinfo=UTC)
    older = start - timedelta(days=20)  # 15 to 63 days old: 5 minutes
    assert window_start(older, 60, NOW) == datetime(2024, 4, 10, 12, 30, tzinfo=UTC)
    oldest = start - timedelta(days=100)  # older: the hour
    assert window_start(oldest, 300, NOW) == datetime(2024, 1, 21, 12, 0, tzinfo=UTC)


def test_datapoint_limit() -> None:
    start = at(0)
    assert check_datapoint_count(start, start + timedelta(days=1), 60) == 1440
    assert check_datapoint_count(start, start + timedelta(seconds=61), 60) == 2
    with pytest.raises(InvalidParameterCombinationError, match="1441 datapoints"):
        check_datapoint_count(start, start + timedelta(days=1, seconds=1), 60)


def test_each_period_aggregates_its_samples() -> None:
    samples = [Sample(at(s), v) for s, v in [(0, 1.0), (10, 3.0), (59.9, 2.0), (60, 10.0)]]
    samples.append(Sample(at(130), float("nan")))  # not a number CloudWatch could hold
    points = aggregate(
        samples,
        start=at(0),
        period=60,
        statistics=["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    )
    assert [p.timestamp for p in points] == [at(0), at(60)]
    assert points[0].statistics == {
        "SampleCount": 3.0,
        "Average": 2.0,
        "Sum": 6.0,
        "Minimum": 1.0,
        "Maximum": 3.0,
    }
    assert points[1].statistics["SampleCount"] == 1.0
    assert {p.unit for p in points} == {"None"}
    # a shorter period splits them; samples before the window are left out
    shorter = aggregate(samples, start=at(10), period=10, statistics=["Sum"])
    assert [p.statistics["Sum"] for p in shorter] == [3.0, 2.0, 10.0]


def test_units_make_separate_datapoints() -> None:
    samples = [Sample(at(1), 1.0, "Count"), Sample(at(2), 5.0, "Seconds")]
    points = aggregate(samples, start=at(0), period=60, statistics=["Sum"])
    assert [(p.unit, p.statistics["Sum"]) for p in points] == [("Count", 1.0), ("Seconds", 5.0)]


def test_percentiles_by_nearest_rank() -> None:
    samples = [Sample(at(i), float(i + 1)) for i in range(10)]  # 1 .. 10
    names = ["p0", "p10", "p50", "p90", "p99.9", "p100"]
    (point,) = aggregate(samples, start=at(0), period=60, percentiles=names)
    assert point.percentiles == {
        "p0": 1.0, "p10": 1.0, "p50": 5.0, "p90": 9.0, "p99.9": 10.0, "p100": 10.0,
    }  # fmt: skip
    assert point.statistics == {}
    negative = [*samples, Sample(at(30), -1.0)]
    (point,) = aggregate(negative, start=at(0), period=60, percentiles=["p50"])
    assert point.percentiles == {}  # as CloudWatch: none when a value is negative


@pytest.mark.parametrize("name", ["p101", "p", "P50", "p50.", "tm99", "p-1", "p100.1", 50])
def test_bad_percentiles(name: object) -> None:
    with pytest.raises(InvalidParameterValueError):
        percentile(name)  # type: ignore[arg-type]
