"""The control plane: one AWS JSON 1.1 request in, one response out.

:class:`ControlPlane` looks the ``X-Amz-Target`` up, decodes and validates the body against the
operation's shape, runs the handler in a worker thread (the service layer is synchronous: it
talks to the database and starts processes) and encodes the answer. Every
:class:`~openmaker.errors.OpenmakerError` becomes an AWS error with the operation's code for it;
anything else is logged and answered ``500 InternalFailure`` without the traceback.
"""

from __future__ import annotations

import asyncio
import logging

from openmaker.api import protocol
from openmaker.api.operations import Operation, operations
from openmaker.api.services import Services
from openmaker.errors import OpenmakerError

log = logging.getLogger("openmaker.api")

#: ``(status, headers, body)`` of one answer.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class ControlPlane:
    """Dispatches AWS JSON requests to the operations.

    Args:
        services: the service layer (built on first use when ``None``).
    """

    def __init__(self, services: Services | None = None) -> None:
        self.operations: dict[str, Operation] = operations()
        self._services = services
        self._lock = asyncio.Lock()

    async def services(self) -> Services:
        """The service layer, built once (in a thread: it opens the store)."""
        if self._services is None:
            async with self._lock:
                if self._services is None:
                    self._services = await asyncio.to_thread(Services)
        return self._services

    async def handle(self, target: str, body: bytes) -> Answer:
        """Answer one request: ``(status, headers, JSON body)``."""
        op = self.operations.get(target)
        try:
            if op is None:
                raise protocol.unknown_operation(target)
            request = op.input.validate(protocol.decode_request(body))
            services = await self.services()
            result = await asyncio.to_thread(op.handler, services, request)
            return 200, [(b"content-type", protocol.CONTENT_TYPE)], protocol.encode_response(result)
        except OpenmakerError as exc:
            code = (op.code_for(exc) if op is not None else None) or exc.code
            status = protocol.error_status(exc)
            if status >= 500:
                log.error("%s failed: %s", target, exc)
            return status, error_headers(code), protocol.encode_error(code, exc.api_message)
        except Exception as exc:
            log.exception("%s failed", target)
            message = f"Internal error ({type(exc).__name__}); see the server log."
            return (
                500,
                error_headers("InternalFailure"),
                protocol.encode_error("InternalFailure", message),
            )

    def close(self) -> None:
        """Release the store."""
        if self._services is not None:
            self._services.close()


def target_of(headers: dict[bytes, bytes]) -> str:
    """The ``X-Amz-Target`` header's value (``""`` when absent)."""
    return headers.get(b"x-amz-target", b"").decode("latin-1").strip()


def error_headers(code: str) -> list[tuple[bytes, bytes]]:
    """Response headers of an AWS JSON error."""
    return [(b"content-type", protocol.CONTENT_TYPE), (b"x-amzn-errortype", code.encode())]
