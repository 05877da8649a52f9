"""Requests from an input file, per ``SplitType``, ``BatchStrategy`` and ``MaxPayloadInMB``.

* ``None``: the whole file is one request (one record); over ``MaxPayloadInMB`` it fails.
* ``Line``: a record is a line (numbered from 1, blank lines counted but never sent).
  ``MultiRecord`` packs whole lines into requests of at most ``MaxPayloadInMB``: the file is
  read in blocks cut at the last newline, without splitting lines in Python, so large CSV files
  stream fast. ``SingleRecord`` sends each line alone.
* ``RecordIO``: a record is a RecordIO frame (numbered from 1); requests are whole frames.

A single record larger than the payload limit fails the job, naming the file and record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from openmaker.errors import ValidationError


class RecordError(ValidationError):
    """A record could not be transformed; the message names the file and the record."""

    def __init__(self, message: str, *, source: str, record: int) -> None:
        super().__init__(f"{source}, record {record}: {message}")
        self.source = source
        self.record = record
        self.detail = message


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
    for number, line in enumerate(fh, start=1):  # type: ignore[call-overload]
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
