"""CloudWatch's endpoint on the API server: which requests are CloudWatch's, and answering them.

=====================================================================  ==========================
request                                                                protocol
=====================================================================  ==========================
``POST /`` with ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``  AWS JSON 1.0 (botocore
                                                                       since early 2025)
``POST /`` form-encoded (``Action=<Op>&...``), no ``X-Amz-Target``     AWS Query (older botocore)
``GET /?Action=<Op>&...``                                              AWS Query
=====================================================================  ==========================

Point a client at the API server with ``endpoint_url`` or ``AWS_ENDPOINT_URL_CLOUDWATCH``.
Bodies over :data:`MAX_BODY` bytes (CloudWatch's request limit) are refused with a 400 in the
request's protocol. Every answer carries an ``x-amzn-RequestId``; service-layer errors get
CloudWatch's codes (:mod:`.wire`), anything unexpected is logged and answered
``500 InternalServiceError`` without the traceback.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from openmaker.api.cloudwatch.awsjson import AwsJson
from openmaker.api.cloudwatch.operations import OPERATIONS
from openmaker.api.cloudwatch.query import AwsQuery
from openmaker.api.cloudwatch.wire import TARGET_PREFIX, Answer, Wire, WireError
from openmaker.errors import OpenmakerError

if TYPE_CHECKING:
    from openmaker.api.services import Services

log = logging.getLogger("openmaker.api")

#: The largest request body read (CloudWatch's limit on a request: 1 MB).
MAX_BODY = 1024 * 1024
_FORM = b"application/x-www-form-urlencoded"


class CloudWatchApi:
    """Answers CloudWatch requests (see the module docstring).

    Args:
        services: returns the service layer (built on first use by the server).
    """

    def __init__(self, services: Callable[[], Awaitable[Services]]) -> None:
        self.services = services
        self.json = AwsJson()
        self.query = AwsQuery({name: op.input for name, op in OPERATIONS.items()})

    def wire_of(self, scope: dict[str, Any]) -> Wire | None:
        """The protocol of a request when it is CloudWatch's, else ``None``."""
        if scope.get("path") != "/":
            return None
        target = _header(scope, b"x-amz-target")
        if target:
            return self.json if target.startswith(TARGET_PREFIX.encode() + b".") else None
        method = scope.get("method")
        if method == "POST" and _header(scope, b"content-type").lower().startswith(_FORM):
            return self.query
        if method == "GET" and b"Action=" in scope.get("query_string", b""):
            return self.query
        return None

    async def handle(self, wire: Wire, scope: dict[str, Any], body: bytes) -> Answer:
        """Answer one request already read: ``(status, headers, body)``."""
        request_id = str(uuid.uuid4())
        target = _header(scope, b"x-amz-target").decode("latin-1").strip()
        try:
            name, raw = wire.read(target, body, scope.get("query_string", b""))
            op = OPERATIONS.get(name)
            if op is None:
                raise wire.unknown_operation(name)
            request = op.load(raw)
            services = await self.services()
            result = await asyncio.to_thread(op.handler, services, request)
            return wire.result(op.name, result, request_id)
        except WireError as exc:
            return wire.error(exc, request_id)
        except OpenmakerError as exc:
            error = WireError.of(exc)
            if error.status >= 500:
                log.error("CloudWatch %s failed: %s", target or "query", exc)
            return wire.error(error, request_id)
        except Exception as exc:
            log.exception("CloudWatch %s failed", target or "query")
            message = f"Internal error ({type(exc).__name__}); see the server log."
            return wire.error(WireError("InternalServiceError", message, 500), request_id)

    def too_large(self, wire: Wire) -> Answer:
        """The answer to a body over :data:`MAX_BODY` bytes."""
        message = f"The request body is larger than {MAX_BODY} bytes."
        return wire.error(wire.malformed(message), str(uuid.uuid4()))

    def refusal(self, scope: dict[str, Any], status: int, code: str, message: str) -> Answer:
        """An answer refusing a request (a bad signature, say) in its protocol's shape."""
        wire = self.wire_of(scope) or self.json
        return wire.error(WireError(code, message, status), str(uuid.uuid4()))


def _header(scope: dict[str, Any], name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


__all__ = ["MAX_BODY", "CloudWatchApi"]
