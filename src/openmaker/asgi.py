"""ASGI pieces shared by openmaker's servers (the serving worker and the API server)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def run_lifespan(
    receive: Any,
    send: Any,
    startup: Callable[[], Awaitable[None]],
    shutdown: Callable[[], Awaitable[None]],
    log: logging.Logger,
) -> None:
    """Answer an ASGI ``lifespan`` scope: ``startup()`` before the server takes requests (a
    failure is logged and reported, so the server does not start), ``shutdown()`` at the end."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                log.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
