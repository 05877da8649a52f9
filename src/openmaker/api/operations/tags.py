"""Tags: AddTags / ListTags / DeleteTags on any resource ARN (:mod:`openmaker.tagging`).

An ARN openmaker did not hand out is a ``ValidationException``. ``ListTags`` pages with an
offset token (a resource has at most 50 tags).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import operation, page
from openmaker.api.services import Services
from openmaker.errors import ValidationError

RESOURCE_ARN = s.String(max=256, pattern=r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:.+")


@operation("AddTags", {"ResourceArn": RESOURCE_ARN, "Tags": s.TAGS}, ("ResourceArn", "Tags"))
def add_tags(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """AddTags -> ``{Tags}`` (the resource's tags afterwards)."""
    return {"Tags": services.tags.add(request["ResourceArn"], request["Tags"])}


@operation(
    "ListTags",
    {"ResourceArn": RESOURCE_ARN, "NextToken": s.NEXT_TOKEN, "MaxResults": s.Integer(min=50)},
    ("ResourceArn",),
)
def list_tags(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListTags -> ``{Tags, NextToken?}``."""
    tags = services.tags.list(request["ResourceArn"])
    start = _offset(request.get("NextToken"))
    size = request.get("MaxResults", 50)
    more = start + size < len(tags)
    return page("Tags", tags[start : start + size], _token(start + size) if more else None)


@operation(
    "DeleteTags",
    {"ResourceArn": RESOURCE_ARN, "TagKeys": s.ListOf(s.String(min=1, max=128), min=1, max=50)},
    ("ResourceArn", "TagKeys"),
)
def delete_tags(services: Services, request: dict[str, Any]) -> None:
    """DeleteTags."""
    services.tags.delete(request["ResourceArn"], request["TagKeys"])


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"tags:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "tags" and number.isdigit():
            return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ValidationError("Invalid NextToken.")


OPERATIONS = (add_tags, list_tags, delete_tags)
