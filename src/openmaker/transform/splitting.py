"""Requests from an input file, per ``SplitType``, ``BatchStrategy`` and ``MaxPayloadInMB``.

* ``None``: the whole file is one request (one record); over ``MaxPayloadInMB`` it fails.
* ``Line``: a record is a line (numbered from 1, blank lines counted but never sent).
  ``MultiRecord`` packs whole lines into requests of at most ``MaxPayloadInMB``: the file is
  read in blocks cut at the last newline, without splitting lines in Python, so large CSV files
  stream fast. ``SingleRecord`` sends each line alone.
* ``RecordIO``: a record is a RecordIO frame (numbered from 1); requests are whole frames.

A single record larger than the payload limit fails the job, naming the file and record.

For a local, uncompressed file with ``Line`` / ``MultiRecord``, :func:`plan_line_ranges`
cuts the same requests as byte ranges (:class:`ByteRange`) without reading the file: a pool
worker reads its range itself (:func:`read_range`), so the supervisor never copies the data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from openmaker.errors import ValidationError

#: How far back :func:`plan_line_ranges` reads at a time to find the end of a line.
_WINDOW = 64 * 1024


class RecordError(ValidationError):
    """A record could not be transformed; the message names the file and the record."""

    def __init__(self, message: str, *, source: str, record: int) -> None:
        super().__init__(f"{source}, record {record}: {message}")
        self.source = source
        self.record = record
        self.detail = message

    def __reduce__(self) -> tuple[object, tuple[str, str, int]]:
        # raised in a pool worker, it crosses to the supervisor pickled
        return _record_error, (self.detail, self.source, self.record)


def _record_error(message: str, source: str, record: int) -> RecordError:
    return RecordError(message, source=source, record=record)


@dataclass(frozen=True)
class Request:
    """One request of a transform job.

    Attributes:
        file_index: which input file (position in the job's file list).
        first_record: 1-based number of the request's first record in its file.
        count: records covered (lines including blank ones, frames, or 1).
        body: the payload.
        last: whether this is the file's last request.
    """

    file_index: int
    first_record: int
    count: int
    body: bytes
    last: bool = False


def iter_requests(
    fh: object,
    *,
    file_index: int,
    source: str,
    split_type: str,
    strategy: str,
    max_payload: int,
) -> Iterator[Request]:
    """Every request of one file (``fh``: a binary file object), in order; the last is marked."""
    if split_type == "Line":
        gen = (
            _lines_single(fh, file_index)
            if strategy == "SingleRecord"
            else _lines_multi(fh, file_index, source, max_payload)
        )
    elif split_type == "RecordIO":
        gen = _recordio(fh, file_index, source, strategy, max_payload)
    else:
        gen = _whole(fh, file_index, source, max_payload)
    previous: Request | None = None
    for request in gen:
        if previous is not None:
            yield previous
        previous = request
    if previous is not None:
        yield Request(previous.file_index, previous.first_record, previous.count, previous.body,
                      last=True)  # fmt: skip
    else:  # an empty file still gets its (empty) output
        yield Request(file_index, 1, 0, b"", last=True)


def _whole(fh: object, file_index: int, source: str, max_payload: int) -> Iterator[Request]:
    body = fh.read()  # type: ignore[attr-defined]
    if max_payload and len(body) > max_payload:
        raise RecordError(
            f"the object is {len(body)} bytes, over MaxPayloadInMB ({max_payload} bytes) with "
            "SplitType None; use SplitType Line or RecordIO",
            source=source,
            record=1,
        )
    if body:
        yield Request(file_index, 1, 1, body)


def _lines_single(fh: object, file_index: int) -> Iterator[Request]:
    lines: Iterable[bytes] = fh  # type: ignore[assignment]  # a binary file iterates lines
    for number, line in enumerate(lines, start=1):
        body = line.rstrip(b"\r\n")
        if body.strip():
            yield Request(file_index, number, 1, body)


def _lines_multi(fh: object, file_index: int, source: str, max_payload: int) -> Iterator[Request]:
    block = max_payload or 6 * 1024 * 1024
    carry = b""
    record = 1
    while True:
        chunk = fh.read(block - len(carry) if len(carry) < block else 1 << 16)  # type: ignore[attr-defined]
        data = carry + chunk
        if not chunk:
            if data.strip():
                yield Request(file_index, record, data.count(b"\n") + 1, data)
            return
        cut = data.rfind(b"\n", 0, block)
        if cut < 0:
            if len(data) >= block:
                raise RecordError(
                    f"the record is longer than MaxPayloadInMB ({block} bytes)",
                    source=source,
                    record=record,
                )
            carry = data
            continue
        body, carry = data[: cut + 1], data[cut + 1 :]
        lines = body.count(b"\n")
        if body.strip():
            yield Request(file_index, record, lines, body)
        record += lines


def _recordio(
    fh: object, file_index: int, source: str, strategy: str, max_payload: int
) -> Iterator[Request]:
    from openmaker.data.recordio import frame, iter_payloads

    data = fh.read()  # type: ignore[attr-defined]
    limit = max_payload or 6 * 1024 * 1024
    batch: list[bytes] = []
    size = 0
    first = 1
    for index, payload in iter_payloads(data, source):
        framed = frame(payload)
        if len(framed) > limit:
            raise RecordError(
                f"the record is longer than MaxPayloadInMB ({limit} bytes)",
                source=source,
                record=index + 1,
            )
        if batch and (strategy == "SingleRecord" or size + len(framed) > limit):
            yield Request(file_index, first, len(batch), b"".join(batch))
            batch, size, first = [], 0, index + 1
        batch.append(framed)
        size += len(framed)
    if batch:
        yield Request(file_index, first, len(batch), b"".join(batch))


def split_records(body: bytes, split_type: str) -> list[bytes | None]:
    """A request's records (``None`` for a blank line, kept so numbering stays right)."""
    if split_type == "Line":
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return [line.rstrip(b"\r") if line.strip() else None for line in lines]
    if split_type == "RecordIO":
        from openmaker.data.recordio import frame, iter_payloads

        return [frame(p) for _, p in iter_payloads(body)]
    return [body]


# --- byte ranges: requests a worker reads itself -------------------------------------------------
@dataclass(frozen=True)
class ByteRange:
    """A ``Line`` / ``MultiRecord`` request as bytes ``[start, end)`` of a local file.

    The range holds whole lines (it ends after a newline, or at the end of the file). Its
    records are numbered from 1 by whoever reads it; the supervisor, which gets the results in
    order, knows how many lines came before and renumbers them.
    """

    file_index: int
    path: str
    start: int
    end: int
    last: bool = False


def plan_line_ranges(
    path: str, *, file_index: int, source: str, max_payload: int, target: int | None = None
) -> Iterator[ByteRange]:
    """The ``MultiRecord`` requests of a local file as byte ranges, in order; the last marked.

    Each range is at most ``max_payload`` bytes and ends at the last newline before
    ``target`` bytes (default ``max_payload``) when there is one. Only a few kilobytes around
    each cut are read.

    Raises:
        RecordError: a line longer than ``max_payload`` (named by its number).
    """
    block = max_payload or 6 * 1024 * 1024
    want = min(target or block, block)
    size = os.path.getsize(path)
    if size == 0:  # an empty file still gets its (empty) output
        yield ByteRange(file_index, path, 0, 0, last=True)
        return
    with open(path, "rb") as f:
        start = 0
        while start < size:
            if size - start <= want:
                end = size
            else:
                cut = _last_newline(f, start, start + want)
                if cut < 0 and want < block:
                    cut = _last_newline(f, start + want, min(start + block, size))
                if cut < 0:
                    if size - start <= block:
                        cut = size - 1
                    else:
                        raise RecordError(
                            f"the record is longer than MaxPayloadInMB ({block} bytes)",
                            source=source,
                            record=_line_number(f, start),
                        )
                end = cut + 1
            yield ByteRange(file_index, path, start, end, last=end >= size)
            start = end


def _last_newline(f: BinaryIO, start: int, end: int) -> int:
    """Offset of the last newline in ``[start, end)`` of ``f``, or -1."""
    pos = end
    while pos > start:
        lo = max(start, pos - _WINDOW)
        f.seek(lo)
        found = f.read(pos - lo).rfind(b"\n")
        if found >= 0:
            return lo + found
        pos = lo
    return -1


def _line_number(f: BinaryIO, offset: int) -> int:
    """The 1-based number of the line that starts at ``offset``."""
    f.seek(0)
    newlines = 0
    left = offset
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        left -= len(chunk)
    return newlines + 1


def read_range(path: str, start: int, end: int, fds: dict[str, int] | None = None) -> bytes:
    """Bytes ``[start, end)`` of a local file (``fds``: a cache of open descriptors by path).

    Raises:
        DataSourceError: the file cannot be read or is shorter than the range.
    """
    from openmaker.errors import DataSourceError

    try:
        fd = fds.get(path) if fds is not None else None
        if fd is None:
            fd = os.open(path, os.O_RDONLY)
            if fds is not None:
                fds[path] = fd
        try:
            parts = []
            pos = start
            while pos < end:
                piece = os.pread(fd, end - pos, pos)
                if not piece:
                    raise DataSourceError(
                        f"{path} is shorter than expected (changed while transforming?)", uri=path
                    )
                parts.append(piece)
                pos += len(piece)
        finally:
            if fds is None:
                os.close(fd)
    except OSError as exc:
        raise DataSourceError(f"Cannot read {path!r}: {exc}", uri=path) from exc
    return parts[0] if len(parts) == 1 else b"".join(parts)


def line_count(body: bytes) -> int:
    """Lines in a ``Line`` request body (a last line without newline counts)."""
    if not body:
        return 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
