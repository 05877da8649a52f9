"""What CloudWatch's wire protocols share: its error codes, and how an error travels.

CloudWatch is an AWS Query service that also speaks AWS JSON 1.0 (``awsQueryCompatible``):
whatever the protocol, a client sees the Query error codes (``InvalidParameterValue``, ...).
Over JSON the body names the error shape (``InvalidParameterValueException``) and the
``x-amzn-query-error: <code>;<Sender|Receiver>`` header carries the Query code, from which
botocore takes ``Error.Code`` (so ``client.exceptions.InvalidParameterValueException``
catches it).
"""

from __future__ import annotations

from typing import Any, Protocol

from openmaker.errors import OpenmakerError

#: Query code -> the error shape's name, for the errors CloudWatch's model declares.
MODELED_ERRORS: dict[str, str] = {
    "InvalidParameterValue": "InvalidParameterValueException",
    "MissingParameter": "MissingRequiredParameterException",
    "InvalidParameterCombination": "InvalidParameterCombinationException",
    "InternalServiceError": "InternalServiceFault",
}
#: The AWS Query API version CloudWatch's operations belong to.
API_VERSION = "2010-08-01"
#: The ``X-Amz-Target`` prefix (AWS JSON 1.0) and the XML namespace (AWS Query).
TARGET_PREFIX = "GraniteServiceVersion20100801"
XML_NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"

Headers = list[tuple[bytes, bytes]]
#: ``(status, headers, body)`` of one answer.
Answer = tuple[int, Headers, bytes]


class WireError(Exception):
    """An error answer: its code (a Query code for the modelled errors), text and status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def fault(self) -> str:
        """``Sender`` (the client's fault) or ``Receiver`` (the server's)."""
        return "Sender" if self.status < 500 else "Receiver"

    @classmethod
    def of(cls, exc: OpenmakerError) -> WireError:
        """The answer to a service-layer error: CloudWatch's code for a user error (a modelled
        one, else ``InvalidParameterValue``), ``InternalServiceError`` (500) for the rest."""
        if exc.kind == "user" and exc.http_status < 500:
            code = exc.code if exc.code in MODELED_ERRORS else "InvalidParameterValue"
            return cls(code, exc.api_message, 400)
        return cls("InternalServiceError", exc.api_message, 500)


class Map(dict[str, Any]):
    """A response member that is a map (its keys are data, not member names): AWS Query
    renders it as ``<entry><key/><value/></entry>`` elements."""


class Wire(Protocol):
    """One wire protocol: reading a request, writing an answer."""

    name: str

    def read(self, target: str, body: bytes, query_string: bytes) -> tuple[str, dict[str, Any]]:
        """The operation's name and its decoded (not yet validated) request.

        Raises:
            WireError: the body cannot be decoded, or names no operation.
        """
        ...

    def unknown_operation(self, name: str) -> WireError:
        """The error for an operation this server does not serve."""
        ...

    def malformed(self, message: str) -> WireError:
        """The error for a body this protocol cannot decode (too large, say)."""
        ...

    def result(self, operation: str, payload: dict[str, Any], request_id: str) -> Answer:
        """A successful answer."""
        ...

    def error(self, error: WireError, request_id: str) -> Answer:
        """An error answer."""
        ...
