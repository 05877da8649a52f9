"""CloudWatch over AWS Query, what botocore sent before CloudWatch listed AWS JSON (and what
raw HTTP clients and older SDKs still send).

Requests: ``POST /`` with a form-encoded body (``Action=GetMetricStatistics&Version=2010-08-01
&Namespace=...&Dimensions.member.1.Name=...&Statistics.member.1=Average``), or ``GET /`` with
the same parameters in the query string. Lists are ``<Name>.member.<n>`` (from 1), structures
``<Name>.<Member>``, timestamps ISO-8601. The parameters are read along the operation's input
shape, so only declared members are looked at, however many or deep the keys a client sends.

Answers are XML: ``<{Op}Response><{Op}Result>...</{Op}Result><ResponseMetadata>`` and, for
errors, ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>``.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from openmaker.api import shapes as s
from openmaker.api.cloudwatch.wire import XML_NAMESPACE, Answer, Map, WireError

CONTENT_TYPE = b"text/xml"
#: At most this many parameters are read from one request.
MAX_PARAMETERS = 1000
_ABSENT = object()
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class AwsQuery:
    """The AWS Query :class:`~openmaker.api.cloudwatch.wire.Wire`.

    Args:
        inputs: each operation's input shape, by operation name.
    """

    name = "query"

    def __init__(self, inputs: Mapping[str, s.Structure]) -> None:
        self.inputs = dict(inputs)

    def read(self, target: str, body: bytes, query_string: bytes) -> tuple[str, dict[str, Any]]:
        """The ``Action`` and its parameters, shaped like a JSON request."""
        params = parse_form(query_string)
        params.update(parse_form(body))
        action = params.get("Action")
        if not action:
            raise WireError("MissingAction", "The request must contain the parameter Action.")
        shape = self.inputs.get(action)
        if shape is None:
            raise self.unknown_operation(action)
        request = load(shape, params, "")
        return action, request if isinstance(request, dict) else {}

    def unknown_operation(self, name: str) -> WireError:
        """``InvalidAction``."""
        message = f"The action {name[:256]} is not valid for this web service."
        return WireError("InvalidAction", message)

    def malformed(self, message: str) -> WireError:
        """``MalformedQueryString``."""
        return WireError("MalformedQueryString", message)

    def result(self, operation: str, payload: dict[str, Any], request_id: str) -> Answer:
        """``<{Op}Response><{Op}Result>payload</{Op}Result>`` with the request id."""
        body = (
            f'<{operation}Response xmlns="{XML_NAMESPACE}">'
            f"<{operation}Result>{render(payload)}</{operation}Result>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{operation}Response>"
        )
        return 200, self._headers(request_id), body.encode("utf-8")

    def error(self, error: WireError, request_id: str) -> Answer:
        """``<ErrorResponse>`` with the Query code."""
        body = (
            f'<ErrorResponse xmlns="{XML_NAMESPACE}"><Error><Type>{error.fault}</Type>'
            f"<Code>{_text(error.code)}</Code><Message>{_text(error.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return error.status, self._headers(request_id), body.encode("utf-8")

    @staticmethod
    def _headers(request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"content-type", CONTENT_TYPE), (b"x-amzn-requestid", request_id.encode())]


def parse_form(data: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` parameters (a repeated key keeps its last value).

    Raises:
        WireError: ``MalformedQueryString`` for text that is not UTF-8 or too many parameters.
    """
    if not data:
        return {}
    try:
        pairs = urllib.parse.parse_qsl(
            data.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_PARAMETERS,
        )
    except UnicodeDecodeError:
        raise WireError("MalformedQueryString", "The request parameters are not UTF-8.") from None
    except ValueError:
        raise WireError(
            "MalformedQueryString", f"The request has more than {MAX_PARAMETERS} parameters."
        ) from None
    return dict(pairs)


def load(shape: s.Shape, params: Mapping[str, str], key: str) -> Any:
    """The value of ``shape`` found at ``key`` in the flat parameters (``_ABSENT`` if none);
    scalars converted to their type where the text allows (the shape then checks them)."""
    if isinstance(shape, s.Structure):
        out = {}
        for name, member in shape.members.items():
            value = load(member, params, f"{key}.{name}" if key else name)
            if value is not _ABSENT:
                out[name] = value
        return out if out or not key else _ABSENT
    if isinstance(shape, s.ListOf):
        prefix = f"{key}.member."
        found = (k[len(prefix) :].split(".", 1)[0] for k in params if k.startswith(prefix))
        indexes = sorted({int(i) for i in found if i.isascii() and i.isdigit() and len(i) < 10})
        if not indexes:
            return [] if params.get(key) == "" else _ABSENT
        items = [load(shape.member, params, f"{prefix}{i}") for i in indexes]
        return [None if item is _ABSENT else item for item in items]
    if key not in params:
        return _ABSENT
    return _scalar(shape, params[key])


def _scalar(shape: s.Shape, text: str) -> Any:
    if isinstance(shape, s.Integer) and re.fullmatch(r"[-+]?\d{1,20}", text):
        return int(text)
    if isinstance(shape, s.Float):
        try:
            return float(text)
        except ValueError:
            return text
    if isinstance(shape, s.Boolean) and text in ("true", "false"):
        return text == "true"
    return text


def render(value: Any) -> str:
    """A response value as Query XML (see the module docstring)."""
    if isinstance(value, Map):
        return "".join(
            f"<entry><key>{_text(k)}</key><value>{render(v)}</value></entry>"
            for k, v in value.items()
        )
    if isinstance(value, dict):
        return "".join(f"<{k}>{render(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        return "".join(f"<member>{render(v)}</member>" for v in value)
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    return _text(str(value))


def _timestamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))
