"""The built-in (and plug-in) algorithms: DescribeAlgorithm / ListAlgorithms.

Thin handlers over :mod:`openmaker.algorithms.catalog`. An unknown algorithm is a
``ValidationException`` naming the known ones.
"""

from __future__ import annotations

from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import (
    LIST_MEMBERS,
    NOT_FOUND_IS_VALIDATION,
    list_filters,
    operation,
    page,
)
from openmaker.api.services import Services


@operation(
    "DescribeAlgorithm",
    {"AlgorithmName": s.String(min=1, max=170)},
    ("AlgorithmName",),
    NOT_FOUND_IS_VALIDATION,
)
def describe_algorithm(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeAlgorithm (by name or ARN)."""
    from openmaker.algorithms.catalog import describe_algorithm as describe

    return describe(request["AlgorithmName"])


@operation("ListAlgorithms", {**LIST_MEMBERS, "SortBy": s.String(enum=("Name", "CreationTime"))})
def list_algorithms(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListAlgorithms (default: by CreationTime, ascending, 10 per page)."""
    from openmaker.algorithms.catalog import list_algorithms as listing

    rows, token = listing(**list_filters(request, sort_by="CreationTime", sort_order="Ascending"))
    return page("AlgorithmSummaryList", rows, token)


OPERATIONS = (describe_algorithm, list_algorithms)
