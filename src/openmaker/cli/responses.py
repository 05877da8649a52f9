"""The API's responses for ``--output json``: the SageMaker operation itself, run in-process.

``openmaker jobs describe NAME --output json`` prints what ``DescribeTrainingJob`` answers
boto3, and ``openmaker jobs list --output json`` what ``ListTrainingJobs`` does, because they
run the same :class:`~openmaker.api.operations.base.Operation` (its request shape, validation
and handler) over the same service layer. Lists page through the operation as the AWS CLI does
(``MaxResults`` at most 100 a call) and merge the pages: ``{"TrainingJobSummaries": [...]}``,
with ``NextToken`` only when ``--max-results`` stopped it before the last page.
"""

from __future__ import annotations

from typing import Any

#: The most items one List* call returns (the API's ``MaxResults`` bound).
PAGE = 100


def respond(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """The response of the SageMaker ``operation`` (e.g. ``"DescribeTrainingJob"``).

    Raises:
        OpenmakerError: what the operation raises (a bad request, a missing resource).
    """
    from openmaker.api.services import Services

    services = Services()
    try:
        return _call(services, operation, request)
    finally:
        services.close()


def respond_all(
    operation: str, key: str, request: dict[str, Any], max_items: int
) -> dict[str, Any]:
    """A List* ``operation``'s items under ``key``, up to ``max_items``, pages merged."""
    from openmaker.api.services import Services

    items: list[Any] = []
    token: str | None = None
    services = Services()
    try:
        while len(items) < max_items:
            call = dict(request, MaxResults=min(PAGE, max_items - len(items)))
            if token:
                call["NextToken"] = token
            answer = _call(services, operation, call)
            items.extend(answer.get(key, []))
            token = answer.get("NextToken")
            if not token:
                break
    finally:
        services.close()
    merged: dict[str, Any] = {key: items}
    if token:
        merged["NextToken"] = token
    return merged


def _call(services: Any, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    from openmaker.api.operations import SAGEMAKER_PREFIX, operations

    op = operations()[f"{SAGEMAKER_PREFIX}.{operation}"]
    return op.handler(services, op.input.validate(request)) or {}
