"""Opaque ``NextToken`` values for keyset pagination.

A token carries the sort it was made for and the sort key of the last row returned; the next
page starts strictly after that key. Pages therefore stay stable when rows are added or removed
meanwhile (no row is skipped or repeated because of an offset shifting).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openmaker.errors import ValidationError
from openmaker.store.types import datetime_from_json, datetime_to_json

MAX_TOKEN_LENGTH = 8192
_VERSION = 1


@dataclass(frozen=True)
class PageToken:
    """The decoded content of a ``NextToken``.

    Attributes:
        sort_by: the sort field the token was made for.
        sort_order: ``Ascending`` or ``Descending``.
        key: the last row's sort key, e.g. ``(creation_time, name)``.
    """

    sort_by: str
    sort_order: str
    key: tuple[Any, ...]

    def encode(self) -> str:
        """The opaque URL-safe string handed to clients."""
        payload = {
            "v": _VERSION,
            "s": self.sort_by,
            "o": self.sort_order,
            "k": [_encode_value(v) for v in self.key],
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, *, sort_by: str, sort_order: str, arity: int) -> PageToken:
        """Parse a token made for the same sort.

        Args:
            token: the client's ``NextToken``.
            sort_by: the sort of the current request.
            sort_order: the order of the current request.
            arity: how many values the key must have.

        Raises:
            ValidationError: the token is malformed or was made for another sort.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise ValidationError("Invalid NextToken.")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            if not isinstance(payload, dict) or payload.get("v") != _VERSION:
                raise ValueError("unknown token version")
            made_for = (payload["s"], payload["o"])
            if made_for == (sort_by, sort_order):
                key = payload["k"]
                if not isinstance(key, list) or len(key) != arity:
                    raise ValueError("bad key")
                decoded = tuple(_decode_value(v) for v in key)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise ValidationError("Invalid NextToken.") from exc
        if made_for != (sort_by, sort_order):
            raise ValidationError(
                f"NextToken was issued for SortBy={made_for[0]}, SortOrder={made_for[1]}; "
                f"repeat the request with those values."
            )
        return cls(sort_by=sort_by, sort_order=sort_order, key=decoded)


def _encode_value(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"t": datetime_to_json(value)}
    if isinstance(value, str):
        return {"s": value}
    raise TypeError(f"cannot put {type(value).__name__} in a page token")


def _decode_value(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("bad key value")
    if isinstance(value.get("t"), str):
        return datetime_from_json(value["t"])
    if isinstance(value.get("s"), str):
        return value["s"]
    raise ValueError("bad key value")
