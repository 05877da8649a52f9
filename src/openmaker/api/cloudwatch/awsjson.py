"""CloudWatch over AWS JSON 1.0, what botocore sends since CloudWatch listed the protocol.

``POST /`` with ``X-Amz-Target: GraniteServiceVersion20100801.<Operation>`` and
``Content-Type: application/x-amz-json-1.0``. Bodies are read as the SageMaker control plane
reads its own (:func:`openmaker.api.protocol.decode_request`: UTF-8, bounded depth, finite
numbers, an object); timestamps travel as epoch seconds. Errors are
``{"__type": <shape>, "message": <text>}`` with the ``x-amzn-query-error`` header (see
:mod:`.wire`).
"""

from __future__ import annotations

from typing import Any

from openmaker.api import protocol
from openmaker.api.cloudwatch.wire import MODELED_ERRORS, TARGET_PREFIX, Answer, WireError

CONTENT_TYPE = b"application/x-amz-json-1.0"


class AwsJson:
    """The AWS JSON 1.0 :class:`~openmaker.api.cloudwatch.wire.Wire`."""

    name = "json"

    def read(self, target: str, body: bytes, query_string: bytes) -> tuple[str, dict[str, Any]]:
        """The operation named by ``X-Amz-Target`` and the JSON object in the body."""
        prefix, _, operation = target.partition(".")
        if prefix != TARGET_PREFIX or not operation:
            raise self.unknown_operation(target)
        try:
            return operation, protocol.decode_request(body)
        except protocol.ProtocolError as exc:
            raise self.malformed(exc.message) from None

    def unknown_operation(self, name: str) -> WireError:
        """``UnknownOperationException``."""
        return WireError("UnknownOperationException", f"The operation {name!r} is not supported.")

    def malformed(self, message: str) -> WireError:
        """``SerializationException``."""
        return WireError("SerializationException", message)

    def result(self, operation: str, payload: dict[str, Any], request_id: str) -> Answer:
        """The payload as JSON (timestamps as epoch seconds)."""
        return 200, self._headers(request_id), protocol.encode_response(payload) or b"{}"

    def error(self, error: WireError, request_id: str) -> Answer:
        """``{"__type", "message"}`` plus ``x-amzn-query-error`` for a modelled error."""
        headers = self._headers(request_id)
        shape = MODELED_ERRORS.get(error.code)
        if shape is not None:
            headers.append((b"x-amzn-query-error", f"{error.code};{error.fault}".encode()))
        return error.status, headers, protocol.encode_error(shape or error.code, error.message)

    @staticmethod
    def _headers(request_id: str) -> list[tuple[bytes, bytes]]:
        return [(b"content-type", CONTENT_TYPE), (b"x-amzn-requestid", request_id.encode())]
