"""AWS JSON 1.1 on the wire: request bodies, responses and errors.

* Requests: ``POST /`` with ``X-Amz-Target: <prefix>.<Operation>`` and a JSON object body
  (botocore always sends one, ``{}`` at least; an empty body is read as ``{}``). The body is
  read by :func:`openmaker.json_input.loads`: UTF-8 only, nested at most :data:`MAX_DEPTH`
  levels (SageMaker's deepest request shape has 10), no ``NaN`` / ``Infinity`` and no number
  beyond a double's range; anything else is a ``SerializationException`` (400), as AWS answers
  a body its JSON parser cannot map. Duplicate keys keep the last value, as AWS's parser does.
* Responses: ``application/x-amz-json-1.1``; ``datetime`` values become epoch seconds (floats,
  as real SageMaker sends them).
* Errors: ``{"__type": <code>, "message": <text>}`` (botocore takes the code from ``__type``
  and the text from ``message``) plus the ``x-amzn-ErrorType`` header moto also sends.

Status codes: SageMaker answers every client error with 400 (its modelled exceptions carry no
other status), so :func:`error_status` gives 400 to every user error whatever HTTP status the
error class prefers elsewhere (the runtime path keeps its own 404/413/415/424), and 500 to the
rest, which botocore retries.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from openmaker.errors import OpenmakerError
from openmaker.json_input import InvalidJSONError, loads

CONTENT_TYPE = b"application/x-amz-json-1.1"
#: The deepest nesting of objects and arrays a request body may have.
MAX_DEPTH = 64


class ProtocolError(OpenmakerError):
    """A request that is not AWS JSON: malformed JSON, a body that is not an object, an
    unknown ``X-Amz-Target``. ``code`` is set per instance."""

    kind = "user"
    http_status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


def serialization_error(message: str) -> ProtocolError:
    """``SerializationException``: the body is not a JSON object."""
    return ProtocolError("SerializationException", message)


def unknown_operation(target: str) -> ProtocolError:
    """``UnknownOperationException`` for an ``X-Amz-Target`` this server does not serve."""
    return ProtocolError(
        "UnknownOperationException", f"The operation {target or '(none)'!r} is not supported."
    )


def decode_request(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body`` (``{}`` for an empty body).

    Raises:
        ProtocolError: ``SerializationException`` for a body that is not UTF-8 JSON (see the
            module doc) or not an object.
    """
    if not body.strip():
        return {}
    try:
        value = loads(body, max_depth=MAX_DEPTH, finite=True)
    except InvalidJSONError as exc:
        where = f" (line {exc.line})" if exc.line is not None else ""
        message = f"The request body is not valid JSON{where}: {exc.reason}"
        raise serialization_error(message) from None
    if not isinstance(value, dict):
        raise serialization_error(f"The request body must be a JSON object, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: they are sent as null (botocore then leaves them out)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def encode_response(payload: dict[str, Any] | None) -> bytes:
    """A response body (``{}`` for operations without output)."""
    if not payload:
        return b"{}"
    try:
        return json.dumps(payload, default=_default, allow_nan=False).encode("utf-8")
    except ValueError:  # a NaN somewhere (e.g. a metric value): rare, so cleaned only then
        return json.dumps(_finite(payload), default=_default).encode("utf-8")


def error_status(exc: OpenmakerError) -> int:
    """400 for a user error (SageMaker's convention), else the error's own 5xx status."""
    if exc.kind == "user" and exc.http_status < 500:
        return 400
    return exc.http_status if exc.http_status >= 500 else 500


def encode_error(code: str, message: str) -> bytes:
    """An error body botocore parses into ``Error.Code`` / ``Error.Message``."""
    return json.dumps({"__type": code, "message": message}).encode("utf-8")
