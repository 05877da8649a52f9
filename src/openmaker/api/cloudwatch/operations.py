"""CloudWatch's metric operations: GetMetricStatistics and ListMetrics, protocol-free.

Each operation declares its input shape (the service model's constraints, which the server
enforces itself: botocore checks only types, ``required`` and ``min``) and a thin handler over
:class:`~openmaker.cloudwatch.service.MetricsService`. A missing required parameter is a
``MissingParameter`` error, any other constraint failure an ``InvalidParameterValue`` (the
message in AWS's validation wording).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openmaker.api import shapes as s
from openmaker.api.cloudwatch.wire import Map
from openmaker.cloudwatch.errors import InvalidParameterValueError, MissingParameterError
from openmaker.cloudwatch.sources import DimensionFilter
from openmaker.cloudwatch.statistics import STATISTICS, Datapoint
from openmaker.errors import ValidationError

if TYPE_CHECKING:
    from openmaker.api.services import Services

UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)  # fmt: skip
NAMESPACE = s.String(min=1, max=255, pattern=r"[^:].*")
METRIC_NAME = s.String(min=1, max=255)
DIMENSION_NAME = s.String(min=1, max=255)
DIMENSION_VALUE = s.String(min=1, max=1024)
DIMENSION = s.Structure(
    {"Name": DIMENSION_NAME, "Value": DIMENSION_VALUE}, required=("Name", "Value")
)
DIMENSION_FILTER = s.Structure({"Name": DIMENSION_NAME, "Value": DIMENSION_VALUE}, ("Name",))

Handler = Callable[["Services", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    """One CloudWatch operation.

    Attributes:
        name: the operation (``X-Amz-Target`` suffix, Query ``Action``).
        input: the request shape (without the required check, see ``required``).
        required: the members whose absence is ``MissingParameter``.
        handler: the thin handler.
    """

    name: str
    input: s.Structure
    required: tuple[str, ...]
    handler: Handler

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request checked against the shape (declared members only).

        Raises:
            MissingParameterError: a required member is absent or null.
            InvalidParameterValueError: any other constraint failed.
        """
        for name in self.required:
            if request.get(name) is None:
                raise MissingParameterError(name)
        try:
            return self.input.validate(request)
        except ValidationError as exc:
            raise InvalidParameterValueError(exc.message) from None


def _get_metric_statistics(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    result = services.metrics.get_metric_statistics(
        namespace=request["Namespace"],
        metric_name=request["MetricName"],
        dimensions=[(d["Name"], d["Value"]) for d in request.get("Dimensions", [])],
        start_time=request["StartTime"],
        end_time=request["EndTime"],
        period=request["Period"],
        statistics=request.get("Statistics", []),
        extended_statistics=request.get("ExtendedStatistics", []),
        unit=request.get("Unit"),
    )
    return {"Label": result.label, "Datapoints": [_datapoint(p) for p in result.datapoints]}


def _datapoint(point: Datapoint) -> dict[str, Any]:
    out: dict[str, Any] = {"Timestamp": point.timestamp, **point.statistics, "Unit": point.unit}
    if point.percentiles:
        out["ExtendedStatistics"] = Map(point.percentiles)
    return out


def _list_metrics(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    filters = [DimensionFilter(f["Name"], f.get("Value")) for f in request.get("Dimensions", [])]
    metrics, token = services.metrics.list_metrics(
        namespace=request.get("Namespace"),
        metric_name=request.get("MetricName"),
        dimensions=filters,
        recently_active=request.get("RecentlyActive"),
        next_token=request.get("NextToken"),
    )
    out: dict[str, Any] = {
        "Metrics": [
            {
                "Namespace": m.namespace,
                "MetricName": m.name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in m.dimensions],
            }
            for m in metrics
        ]
    }
    if token:
        out["NextToken"] = token
    return out


GET_METRIC_STATISTICS = Operation(
    "GetMetricStatistics",
    s.Structure(
        {
            "Namespace": NAMESPACE,
            "MetricName": METRIC_NAME,
            "Dimensions": s.ListOf(DIMENSION, max=30),
            "StartTime": s.Timestamp(),
            "EndTime": s.Timestamp(),
            "Period": s.Integer(min=1),
            "Statistics": s.ListOf(s.String(enum=STATISTICS), min=1, max=5),
            "ExtendedStatistics": s.ListOf(s.String(), min=1, max=10),
            "Unit": s.String(enum=UNITS),
        }
    ),
    ("Namespace", "MetricName", "StartTime", "EndTime", "Period"),
    _get_metric_statistics,
)
LIST_METRICS = Operation(
    "ListMetrics",
    s.Structure(
        {
            "Namespace": NAMESPACE,
            "MetricName": METRIC_NAME,
            "Dimensions": s.ListOf(DIMENSION_FILTER, max=10),
            "NextToken": s.String(max=8192),
            "RecentlyActive": s.String(enum=("PT3H",)),
            "IncludeLinkedAccounts": s.Boolean(),
            "OwningAccount": s.String(min=1, max=255),
        }
    ),
    (),
    _list_metrics,
)

#: The operations served, by name.
OPERATIONS: dict[str, Operation] = {op.name: op for op in (GET_METRIC_STATISTICS, LIST_METRICS)}
