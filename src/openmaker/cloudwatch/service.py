"""GetMetricStatistics and ListMetrics over the metric sources, with CloudWatch's checks.

Behaviour a caller sees, as in CloudWatch:

* A namespace, metric or set of dimensions without data is not an error: GetMetricStatistics
  answers no data points and ListMetrics an empty list (the SDK's ``TrainingJobAnalytics``
  warns "No metrics called ... found").
* ListMetrics lists the metrics with a sample in the past two weeks (the past three hours with
  ``RecentlyActive="PT3H"``), 500 per page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from openmaker.cloudwatch.errors import InvalidParameterCombinationError, InvalidParameterValueError
from openmaker.cloudwatch.sources import DimensionFilter, Metric, MetricSource
from openmaker.cloudwatch.statistics import (
    STATISTICS,
    Datapoint,
    aggregate,
    check_datapoint_count,
    check_period,
    percentile,
    window_start,
)

if TYPE_CHECKING:
    from openmaker.store import Store

#: ListMetrics' page size.
PAGE_SIZE = 500
#: How far back ListMetrics looks for a sample, by ``RecentlyActive`` (``None``: not given).
ACTIVITY_WINDOWS = {None: timedelta(days=14), "PT3H": timedelta(hours=3)}


@dataclass(frozen=True)
class MetricStatistics:
    """GetMetricStatistics' answer: the metric's label and its data points."""

    label: str
    datapoints: list[Datapoint]


class MetricsService:
    """The CloudWatch metrics operations.

    Args:
        store: the metadata store (the training jobs' metrics are read from it).
        sources: the metric sources (default: the training jobs' metrics).
        clock: the current time (CloudWatch rounds and filters by age).
    """

    def __init__(
        self,
        store: Store,
        sources: Iterable[MetricSource] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if sources is None:
            from openmaker.cloudwatch.training_jobs import TrainingJobMetrics

            sources = [TrainingJobMetrics(store.training_jobs)]
        self.sources: list[MetricSource] = list(sources)
        self._clock = clock or (lambda: datetime.now(UTC))

    def source(self, namespace: str) -> MetricSource | None:
        """The source serving ``namespace``, if any."""
        return next((s for s in self.sources if s.namespace == namespace), None)

    def get_metric_statistics(
        self,
        *,
        namespace: str,
        metric_name: str,
        dimensions: Sequence[tuple[str, str]] = (),
        start_time: datetime,
        end_time: datetime,
        period: int,
        statistics: Sequence[str] = (),
        extended_statistics: Sequence[str] = (),
        unit: str | None = None,
    ) -> MetricStatistics:
        """GetMetricStatistics: one metric's statistics per period.

        Raises:
            InvalidParameterValueError: a bad period, statistic, percentile or time range, or
                a dimension given twice.
            InvalidParameterCombinationError: both or neither of ``statistics`` and
                ``extended_statistics``, or more than 1,440 data points.
        """
        if bool(statistics) == bool(extended_statistics):
            raise InvalidParameterCombinationError(
                "Must specify either Statistics or ExtendedStatistics, but not both."
            )
        for name in statistics:
            if name not in STATISTICS:
                raise InvalidParameterValueError(
                    f"The statistic {name!r} is not valid; valid statistics: "
                    f"{', '.join(STATISTICS)}."
                )
        for name in extended_statistics:
            percentile(name)
        check_period(period)
        if start_time >= end_time:
            raise InvalidParameterValueError(
                "The parameter StartTime must be less than the parameter EndTime."
            )
        wanted = dict(dimensions)
        if len(wanted) != len(dimensions):
            names = [name for name, _ in dimensions]
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InvalidParameterValueError(f"The dimension {twice[0]!r} is given more than once.")
        start = window_start(start_time, period, self._clock())
        count = check_datapoint_count(start, end_time, period)
        source = self.source(namespace)
        if source is None or count == 0:
            return MetricStatistics(metric_name, [])
        stop = start + timedelta(seconds=period * count)
        samples = source.samples(metric_name, wanted, start, stop)
        if unit is not None:
            samples = [s for s in samples if s.unit == unit]
        points = aggregate(
            samples,
            start=start,
            period=period,
            statistics=list(statistics),
            percentiles=list(extended_statistics),
        )
        return MetricStatistics(metric_name, points)

    def list_metrics(
        self,
        *,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimensions: Sequence[DimensionFilter] = (),
        recently_active: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[Metric], str | None]:
        """ListMetrics: one page of the metrics matching the filters, and the next token.

        Raises:
            InvalidParameterValueError: a bad ``recently_active`` or token.
        """
        if recently_active not in ACTIVITY_WINDOWS:
            raise InvalidParameterValueError(
                f"The parameter RecentlyActive must be PT3H; got {recently_active!r}."
            )
        since = self._clock() - ACTIVITY_WINDOWS[recently_active]
        index, cursor = _decode_token(next_token) if next_token else (0, None)
        if index >= len(self.sources):
            raise InvalidParameterValueError("The NextToken is not valid.")
        out: list[Metric] = []
        while index < len(self.sources) and len(out) < PAGE_SIZE:
            source = self.sources[index]
            if namespace is None or source.namespace == namespace:
                page, cursor = source.metrics(
                    metric_name=metric_name,
                    filters=dimensions,
                    active_since=since,
                    after=cursor,
                    limit=PAGE_SIZE - len(out),
                )
                out.extend(page)
                if cursor is not None:
                    return out, _encode_token(index, cursor)
            index, cursor = index + 1, None
        more = index < len(self.sources) and (
            namespace is None or any(s.namespace == namespace for s in self.sources[index:])
        )
        return out, _encode_token(index, None) if more else None


def _encode_token(index: int, cursor: str | None) -> str:
    raw = json.dumps([index, cursor], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: str) -> tuple[int, str | None]:
    try:
        index, cursor = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidParameterValueError("The NextToken is not valid.") from None
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or index < 0
        or not (cursor is None or isinstance(cursor, str))
    ):
        raise InvalidParameterValueError("The NextToken is not valid.")
    return index, cursor
