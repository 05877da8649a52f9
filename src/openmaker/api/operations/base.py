"""What an operation is: a name, its input shape, a thin handler, and its wire error codes.

A handler receives the :class:`~openmaker.api.services.Services` and the validated request
(declared members only, timestamps as datetimes) and returns the response dict (``None`` for
operations without output). It only translates: the service layer decides.

SageMaker reports some typed errors under other codes than the error's own, per operation
(reference sections 1.1 and 6): a missing training job, model, endpoint config, endpoint or
transform job is a ``ValidationException`` from every Describe/Stop/Delete/Update (the
``endpoint_deleted`` waiter and the SDK rely on it), while a missing tuning job stays
``ResourceNotFound``; an existing model, endpoint config or endpoint is a
``ValidationException`` too ("Cannot create already existing ..."). ``codes`` declares those
translations. The *text* of a missing resource is SageMaker's too, and is written once per
resource in :mod:`openmaker.store.missing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from openmaker.api import shapes as s
from openmaker.errors import ResourceInUseError, ResourceNotFoundError

if TYPE_CHECKING:
    from openmaker.api.services import Services

Handler = Callable[["Services", dict[str, Any]], "dict[str, Any] | None"]

#: ``codes`` for operations that report a missing resource as ``ValidationException``.
NOT_FOUND_IS_VALIDATION: Mapping[type, str] = {ResourceNotFoundError: "ValidationException"}
#: ``codes`` for creations that report an existing resource as ``ValidationException``.
IN_USE_IS_VALIDATION: Mapping[type, str] = {ResourceInUseError: "ValidationException"}


@dataclass(frozen=True)
class Operation:
    """One API operation.

    Attributes:
        name: the operation name (``X-Amz-Target`` suffix), e.g. ``CreateTrainingJob``.
        input: the request shape.
        handler: the thin handler over the service layer.
        codes: error class -> wire code, where the operation differs from the class's code.
    """

    name: str
    input: s.Structure
    handler: Handler
    codes: Mapping[type, str] = field(default_factory=dict)

    def code_for(self, exc: BaseException) -> str | None:
        """The wire code this operation uses for ``exc`` when it differs from ``exc.code``."""
        for cls, code in self.codes.items():
            if isinstance(exc, cls):
                return code
        return None


def operation(
    name: str,
    members: Mapping[str, s.Shape],
    required: tuple[str, ...] = (),
    codes: Mapping[type, str] | None = None,
) -> Callable[[Handler], Operation]:
    """Decorator turning a handler into an :class:`Operation` (the module lists them)."""

    def wrap(handler: Handler) -> Operation:
        return Operation(name, s.Structure(members, required), handler, dict(codes or {}))

    return wrap


# --- listing: SageMaker's list arguments -> the service layer's filters -------------------------

#: The members every ``List*`` operation of a named, timestamped resource takes.
LIST_MEMBERS: dict[str, s.Shape] = {
    "NextToken": s.NEXT_TOKEN,
    "MaxResults": s.MAX_RESULTS,
    "NameContains": s.NAME_CONTAINS,
    "CreationTimeAfter": s.Timestamp(),
    "CreationTimeBefore": s.Timestamp(),
    "SortOrder": s.SORT_ORDER,
}
#: ... and those that also have a modification time and a status.
STATUS_LIST_MEMBERS: dict[str, s.Shape] = {
    **LIST_MEMBERS,
    "LastModifiedTimeAfter": s.Timestamp(),
    "LastModifiedTimeBefore": s.Timestamp(),
}

_FILTERS = {
    "NameContains": "name_contains",
    "StatusEquals": "status_equals",
    "CreationTimeAfter": "creation_time_after",
    "CreationTimeBefore": "creation_time_before",
    "LastModifiedTimeAfter": "last_modified_time_after",
    "LastModifiedTimeBefore": "last_modified_time_before",
    "SortBy": "sort_by",
    "SortOrder": "sort_order",
    "MaxResults": "max_results",
    "NextToken": "next_token",
}


def list_filters(
    request: Mapping[str, Any], *, sort_by: str, sort_order: str, max_results: int = 10
) -> dict[str, Any]:
    """The service-layer keyword arguments for a ``List*`` request, with SageMaker's defaults
    for that operation (``sort_by`` / ``sort_order`` / ``max_results``)."""
    filters: dict[str, Any] = {"sort_by": sort_by, "sort_order": sort_order}
    filters["max_results"] = max_results
    for member, keyword in _FILTERS.items():
        if member in request:
            filters[keyword] = request[member]
    return filters


def page(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A list response: ``{key: items}`` plus ``NextToken`` unless this is the last page."""
    out: dict[str, Any] = {key: items}
    if token:
        out["NextToken"] = token
    return out


def name_arn_time(name_key: str, arn_key: str, name: str, arn: str, created: datetime) -> dict:
    """The ``{<Name>, <Arn>, CreationTime}`` summary most lists return."""
    return {name_key: name, arn_key: arn, "CreationTime": created}
