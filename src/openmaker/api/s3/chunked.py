"""An incremental decoder for ``Content-Encoding: aws-chunked`` request bodies.

Two variants reach S3:

* signed (``x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``, the Java and
  Go SDKs): ``<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n`` ... ``0;chunk-signature=<sig>``;
* unsigned (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, botocore since 1.36 over HTTPS for
  streaming uploads): ``<hex size>\\r\\n<data>\\r\\n`` ... ``0\\r\\n``,

both optionally followed by trailing headers (``x-amz-checksum-crc32:<b64>\\r\\n``, with
``x-amz-trailer-signature:<sig>`` in the signed form) and a final ``\\r\\n``. The decoder takes
the body in whatever pieces the server receives and returns the payload bytes; it never holds
more than one header line in memory.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from openmaker.api.s3.errors import IncompleteBody

MAX_LINE = 8192


class ChunkVerifier(Protocol):
    """Checks chunk and trailer signatures of a signed ``aws-chunked`` body (see auth)."""

    def verify_chunk(self, payload_sha256: str, signature: str) -> None: ...

    def verify_trailer(self, trailer: bytes, signature: str) -> None: ...


_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Feed the raw body with :meth:`feed`, then call :meth:`finish`.

    Args:
        verifier: checks each ``chunk-signature`` when given; without it signatures are
            parsed and ignored.

    Attributes:
        trailers: trailing headers, lower-cased names (filled once the body is complete).
        decoded_length: payload bytes returned so far.
    """

    def __init__(self, verifier: ChunkVerifier | None = None) -> None:
        self._verifier = verifier
        self._state = _SIZE
        self._line = bytearray()
        self._remaining = 0
        self._signature: str | None = None
        self._chunk_hash = hashlib.sha256() if verifier else None
        self._trailer_lines: list[bytes] = []
        self.trailers: dict[str, str] = {}
        self.decoded_length = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Decode the next piece of the raw body; returns the payload pieces it held."""
        out: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._state == _DATA:
                take = min(self._remaining, end - pos)
                piece = data[pos : pos + take]
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                self.decoded_length += take
                self._remaining -= take
                pos += take
                if self._remaining == 0:
                    self._state = _DATA_END
                continue
            if self._state == _DONE:
                if data[pos:].strip():
                    raise IncompleteBody("Unexpected data after the end of the aws-chunked body.")
                return out
            newline = data.find(b"\n", pos)
            if newline < 0:
                self._line += data[pos:]
                if len(self._line) > MAX_LINE:
                    raise IncompleteBody("An aws-chunked header line is too long.")
                return out
            self._line += data[pos:newline]
            pos = newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            self._on_line(line)
        return out

    def finish(self) -> dict[str, str]:
        """Check that the body ended where the encoding says; returns the trailers.

        Raises:
            IncompleteBody: the body stopped inside a chunk or before the last chunk.
        """
        if self._state == _TRAILER and not self._line:
            self._state = _DONE  # the final empty line is optional in practice
        if self._state != _DONE:
            raise IncompleteBody(
                "The aws-chunked body ended before its last chunk "
                f"({self.decoded_length} payload bytes received)."
            )
        return self.trailers

    def _on_line(self, line: bytes) -> None:
        if self._state == _SIZE:
            self._start_chunk(line)
        elif self._state == _DATA_END:
            if line:
                raise IncompleteBody("An aws-chunked chunk is longer than its declared size.")
            self._end_chunk()
            self._state = _SIZE
        elif self._state == _TRAILER:
            if not line:
                self._end_trailers()
                self._state = _DONE
            else:
                self._trailer_lines.append(line)

    def _start_chunk(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise IncompleteBody(f"Bad aws-chunked chunk size {size_text[:40]!r}.") from None
        if size < 0:
            raise IncompleteBody(f"Bad aws-chunked chunk size {size_text[:40]!r}.")
        self._signature = None
        name, _, value = extension.partition(b"=")
        if name.strip() == b"chunk-signature":
            self._signature = value.strip().decode("ascii", "replace")
        if size == 0:
            self._end_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA

    def _end_chunk(self) -> None:
        if self._verifier is None or self._chunk_hash is None:
            return
        if self._signature is None:
            raise IncompleteBody("A signed aws-chunked chunk has no chunk-signature.")
        self._verifier.verify_chunk(self._chunk_hash.hexdigest(), self._signature)
        self._chunk_hash = hashlib.sha256()

    def _end_trailers(self) -> None:
        signed = bytearray()
        signature = None
        for raw in self._trailer_lines:
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise IncompleteBody(f"Bad aws-chunked trailer line {raw[:60]!r}.")
            name, value = name.strip().lower(), value.strip()
            if name == "x-amz-trailer-signature":
                signature = value
                continue
            self.trailers[name] = value
            signed += f"{name}:{value}\n".encode("latin-1")
        if self._verifier is not None and self.trailers:
            if signature is None:
                raise IncompleteBody("A signed aws-chunked body has no x-amz-trailer-signature.")
            self._verifier.verify_trailer(bytes(signed), signature)
