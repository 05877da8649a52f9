"""Where metric samples come from: one source per namespace.

A source answers the two questions the operations ask: the samples of one metric (a name and
its exact set of dimensions) in a time range, and which metrics exist. CloudWatch identifies a
metric by its namespace, its name and its full set of dimensions: a metric published with
dimensions ``{A, B}`` is not found by asking for ``{A}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openmaker.cloudwatch.statistics import Sample


@dataclass(frozen=True)
class Metric:
    """A metric as ListMetrics lists it.

    Attributes:
        namespace: its namespace.
        name: its name.
        dimensions: ``(name, value)`` pairs, in the order the source gives them.
    """

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DimensionFilter:
    """A ListMetrics dimension filter: the metric has a dimension of this name (and value)."""

    name: str
    value: str | None = None


class MetricSource(Protocol):
    """The samples and metrics of one namespace."""

    namespace: str

    def samples(
        self, metric_name: str, dimensions: Mapping[str, str], start: datetime, end: datetime
    ) -> Sequence[Sample]:
        """The metric's samples with ``start <= timestamp < end`` (none for an unknown metric)."""
        ...

    def metrics(
        self,
        *,
        metric_name: str | None,
        filters: Sequence[DimensionFilter],
        active_since: datetime,
        after: str | None,
        limit: int,
    ) -> tuple[list[Metric], str | None]:
        """One page of the metrics matching the filters with a sample since ``active_since``,
        and the cursor after it (``None`` on the last page).

        Raises:
            InvalidParameterValueError: ``after`` is not a cursor this source gave.
        """
        ...
