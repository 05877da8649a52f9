"""The S3 app's request and response on top of raw ASGI, so bodies stream both ways.

A :class:`Request` is parsed from the ASGI scope: path-style addressing (``/<bucket>/<key>``)
under the mount point, the decoded query, and lower-cased headers. A :class:`Response` carries
either bytes or an async iterator of bytes with its length; :func:`send_response` writes it,
without the body for ``HEAD``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio

from openmaker.api.auth import SignedRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ClientDisconnected(Exception):
    """The client went away while its body was being received (nothing to answer)."""


@dataclass
class Request:
    """One S3 request.

    Attributes:
        method: the HTTP method, upper case.
        bucket: the bucket of the path (``None`` for the service: ListBuckets).
        key: the object key (``None`` for bucket operations).
        query: query parameters, decoded (the first of repeated names wins).
        headers: headers with lower-case names (repeated ones joined with ``,``).
        raw_path: the path as sent, percent-encoded, mount point included (what is signed).
        raw_query: the query string as sent.
        mount: the path the app is served under (``""`` or ``/s3``).
        request_id: the id sent back in ``x-amz-request-id``.
        signed: what the request was signed with, when auth is on.
    """

    method: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    headers: dict[str, str]
    raw_path: str
    raw_query: str
    mount: str
    request_id: str
    receive: Receive
    signed: SignedRequest | None = None
    body_read: bool = False

    @property
    def has_body(self) -> bool:
        """Whether the request announces a body (length above 0, or chunked)."""
        length = self.headers.get("content-length", "0").strip()
        return length not in ("", "0") or "chunked" in self.headers.get("transfer-encoding", "")

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value (``name`` in lower case)."""
        return self.headers.get(name, default)

    @property
    def resource(self) -> str:
        """The path of the bucket or object, as S3 names it in errors."""
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key is not None else "")

    async def body_chunks(self) -> AsyncIterator[bytes]:
        """The raw request body, piece by piece as it arrives.

        Raises:
            ClientDisconnected: the connection closed before the body was complete.
        """
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                self.body_read = True
            if chunk:
                yield chunk
            if self.body_read:
                return


def parse_request(scope: Scope, receive: Receive, prefix: str, request_id: str) -> Request:
    """Build a :class:`Request` from an ASGI HTTP scope.

    The route path is the scope's ``path`` without its ``root_path`` (set when the app is
    mounted, for example under ``/s3``) and without ``prefix`` (for a server that forwards
    ``/s3/...`` unchanged).
    """
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "") or ""
    mount = ""
    for base in (root_path.rstrip("/"), prefix.rstrip("/")):
        if base and (path == base or path.startswith(base + "/")):
            path, mount = path[len(base) :], mount + base
    bucket: str | None = None
    key: str | None = None
    trimmed = path[1:] if path.startswith("/") else path
    if trimmed:
        bucket, slash, rest = trimmed.partition("/")
        key = rest if slash and rest else None
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(name, value)
    raw_path = scope.get("raw_path")
    return Request(
        method=scope["method"].upper(),
        bucket=bucket,
        key=key,
        query=query,
        headers=headers,
        raw_path=raw_path.decode("latin-1") if raw_path else scope["path"],
        raw_query=raw_query,
        mount=mount,
        request_id=request_id,
        receive=receive,
    )


@dataclass
class Response:
    """A response: status, headers, and a body of bytes or a stream of ``length`` bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | AsyncIterator[bytes] = b""
    length: int | None = None


def xml_response(
    body: bytes, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A response carrying an XML document."""
    return Response(status, [("content-type", "application/xml"), *(headers or [])], body)


async def send_response(
    send: Send, response: Response, request_id: str, *, head: bool, receive: Receive | None = None
) -> None:
    """Write ``response`` (its headers only for ``HEAD``), then close any body stream.

    A streamed body stops as soon as ``receive`` reports that the client went away, rather
    than reading the rest of a large object for nobody.
    """
    body = response.body
    length = response.length if response.length is not None else len(body)  # type: ignore[arg-type]
    headers = [(b"x-amz-request-id", request_id.encode()), (b"x-amz-id-2", request_id.encode())]
    headers += [
        (n.lower().encode("latin-1"), v.encode("latin-1", "replace")) for n, v in response.headers
    ]
    if response.status not in (204, 304):
        headers.append((b"content-length", str(length).encode()))
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if isinstance(body, bytes) or head or response.status in (204, 304):
            await send({"type": "http.response.body", "body": b"" if head else body})
            return
        async with anyio.create_task_group() as group:
            if receive is not None:
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            group.cancel_scope.cancel()
    finally:
        if not isinstance(body, bytes):
            await body.aclose()  # type: ignore[attr-defined]


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
