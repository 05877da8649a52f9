"""The one error hierarchy of openmaker.

Every error carries:

* ``kind`` — who is at fault: ``"user"`` (bad input), ``"algorithm"`` (the algorithm failed on
  valid input) or ``"platform"`` (openmaker itself or its environment). A failed job's
  ``FailureReason`` starts with the kind, e.g. ``"UserError: ..."``.
* ``http_status`` — the status the HTTP API answers with.
* ``code`` — the SageMaker error code (``ValidationException``, ``ResourceNotFound``, ...).

Raise the most specific subclass where the problem is found; never classify errors by matching
message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class OpenmakerError(Exception):
    """Root of every error openmaker raises on purpose."""

    kind: ClassVar[str] = "platform"
    http_status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalFailure"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def failure_reason(self) -> str:
        """The text a job's ``FailureReason`` gets: the kind, then the message."""
        prefix = {"user": "ClientError", "algorithm": "AlgorithmError", "platform": "PlatformError"}
        return f"{prefix[self.kind]}: {self.message}"

    @property
    def api_message(self) -> str:
        """The text the SageMaker-compatible API answers with: the message, unless the error
        carries AWS's exact wording (clients such as the SageMaker SDK compare it)."""
        return self.message

    def __str__(self) -> str:
        return self.message


# --- user errors --------------------------------------------------------------------------


class ValidationError(OpenmakerError):
    """A request, argument or input is invalid."""

    kind = "user"
    http_status = 400
    code = "ValidationException"


class HyperparameterError(ValidationError):
    """A hyperparameter is unknown, missing, of the wrong type or out of range.

    Attributes:
        parameter: the hyperparameter's name.
        value: the value given (``None`` when missing).
        allowed: a description of the allowed domain.
    """

    def __init__(
        self,
        message: str,
        *,
        parameter: str,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.allowed = allowed


class ChannelError(ValidationError):
    """A channel is missing, unknown, empty, or declared with an unsupported content type."""

    def __init__(self, message: str, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.channel = channel


class DataFormatError(ValidationError):
    """Input data could not be decoded.

    Attributes:
        source: the file or URI (``None`` for an in-memory request body).
        line: 1-based line number for text formats, when known.
        record: 0-based record index for binary formats, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record: int | None = None,
    ) -> None:
        where = []
        if source:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}")
        full = f"{', '.join(where)}: {message}" if where else message
        super().__init__(full)
        self.source = source
        self.line = line
        self.record = record
        self.detail = message


class UnsupportedContentTypeError(ValidationError):
    """A content type (or Accept type) is not supported; ``supported`` lists the ones that are."""

    http_status = 415

    def __init__(self, content_type: str, supported: Sequence[str]) -> None:
        self.content_type = content_type
        self.supported = tuple(supported)
        super().__init__(
            f"Content type {content_type!r} is not supported; supported: {', '.join(supported)}"
        )


class DataSourceError(ValidationError):
    """A URI could not be listed, read or written (missing, permission denied, bad scheme)."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class ResourceNotFoundError(OpenmakerError):
    """A named resource (job, model, endpoint...) does not exist.

    Attributes:
        aws_message: SageMaker's exact text for it, which the API answers with (``None``: the
            message). Which text each resource gets is written once, in
            :mod:`openmaker.store.missing`.
    """

    kind = "user"
    http_status = 404
    code = "ResourceNotFound"

    def __init__(self, message: str, *, aws_message: str | None = None) -> None:
        super().__init__(message)
        self.aws_message = aws_message

    @property
    def api_message(self) -> str:
        return self.aws_message or self.message


class ResourceInUseError(OpenmakerError):
    """The resource exists already, or is in a state that forbids the operation."""

    kind = "user"
    http_status = 400
    code = "ResourceInUse"


class ResourceLimitExceededError(OpenmakerError):
    """A configured limit (concurrent jobs, ...) would be exceeded."""

    kind = "user"
    http_status = 400
    code = "ResourceLimitExceeded"


class MissingExtraError(OpenmakerError):
    """An optional dependency is needed; the message names the extra to install."""

    kind = "user"
    http_status = 500

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"This feature needs {package!r}; install it with: pip install 'openmaker[{extra}]'"
        )
        self.package = package
        self.extra = extra


# --- algorithm / platform errors --------------------------------------------------------------


class AlgorithmError(OpenmakerError):
    """The algorithm failed while training or predicting on valid input."""

    kind = "algorithm"
    http_status = 500
    code = "ModelError"


class PlatformError(OpenmakerError):
    """openmaker itself failed (store, executor, file system)."""

    kind = "platform"
    http_status = 500
    code = "InternalFailure"


class StoreError(PlatformError):
    """The metadata store could not complete an operation."""


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import an optional dependency or raise :class:`MissingExtraError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module.split(".")[0], extra) from exc


# --- hosting (added with real-time endpoints and batch transform) ------------------------------


class PayloadTooLargeError(ValidationError):
    """A request body is over the size limit (InvokeEndpoint: 6 MB; transform: MaxPayloadInMB).

    Attributes:
        size: the body's size in bytes.
        limit: the limit in bytes.
    """

    http_status = 413

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Received a payload of {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class ModelInvocationError(AlgorithmError):
    """The model raised while answering a request: SageMaker runtime's ``ModelError`` (424).

    Attributes:
        original_status: the status the model container would have answered with.
        original_message: the model's own message.
    """

    http_status = 424
    code = "ModelError"

    def __init__(
        self, message: str, *, original_status: int = 500, original_message: str = ""
    ) -> None:
        super().__init__(message)
        self.original_status = original_status
        self.original_message = original_message or message
