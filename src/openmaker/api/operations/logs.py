"""CloudWatch Logs, the two calls the SageMaker SDK makes: DescribeLogStreams and GetLogEvents.

``fit(logs=True)``, ``logs_for_job`` and ``Transformer.wait(logs=True)`` ask for log group
``/aws/sagemaker/TrainingJobs`` (or ``/aws/sagemaker/TransformJobs``) and the streams starting
with ``<job>/``, then read each stream from its head. Each job has one stream,
``<job>/algo-1-<creation epoch seconds>`` (SageMaker's form), served from the job's log file.

Event timestamps: the log file holds the algorithm's lines without times, so event ``i``
(0-based) of a stream carries the job's creation time plus ``i`` milliseconds. The times are
therefore stable, strictly increasing and unique per stream, which is what the SDK's reading
position (last timestamp plus a count of events to skip) needs; ``startTime`` / ``endTime``
select lines by that numbering. Only complete lines are events while the job runs (a last line
without its newline is one once the job has ended).

Tokens: ``f/<line>/<byte offset>`` (forward) and ``b/<line>/<byte offset>`` (backward); a
forward read with nothing new returns the token it was given, as CloudWatch does. Errors use
the Logs service's codes: ``ResourceNotFoundException`` for an unknown group or stream,
``InvalidParameterException`` for bad arguments.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import operation
from openmaker.api.services import Services
from openmaker.errors import ResourceNotFoundError, ValidationError

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"
HOST = "algo-1"
MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576
LOGS_CODES: Mapping[type, str] = {
    ResourceNotFoundError: "ResourceNotFoundException",
    ValidationError: "InvalidParameterException",
}
_TOKEN = re.compile(r"^(?P<dir>[fb])/(?P<line>\d{1,12})/(?P<offset>\d{1,15})$")


@dataclass(frozen=True)
class Stream:
    """One job's log as a log stream."""

    name: str
    path: Path
    base_ms: int
    terminal: bool

    def describe(self) -> dict[str, Any]:
        """A ``LogStream`` entry of DescribeLogStreams."""
        count, size = _count_lines(self.path, self.terminal)
        out: dict[str, Any] = {
            "logStreamName": self.name,
            "creationTime": self.base_ms,
            "storedBytes": size,
        }
        if count:
            out["firstEventTimestamp"] = self.base_ms
            out["lastEventTimestamp"] = self.base_ms + count - 1
            out["lastIngestionTime"] = self.base_ms + count - 1
        return out


class _Group:
    """A log group backed by one kind of job."""

    def __init__(self, services: Services, group: str) -> None:
        if group == TRAINING_GROUP:
            self.get: Callable[[str], Any] = services.training.get
            self.log_file: Callable[[str], Path] = services.training.log_file
            self.list: Callable[..., Any] = services.training.list
        elif group == TRANSFORM_GROUP:
            self.get = services.transform.get
            self.log_file = services.transform.log_file
            self.list = services.transform.list
        else:
            raise ResourceNotFoundError(
                f"The specified log group does not exist: {group!r}.",
                aws_message="The specified log group does not exist.",  # CloudWatch's text
            )

    def stream(self, job: str) -> Stream | None:
        """The job's stream, or ``None`` while it has no log yet."""
        record = self.get(job)
        path = self.log_file(job)
        if not path.exists():
            return None
        base_ms = int(record.creation_time.timestamp() * 1000)
        name = f"{record.name}/{HOST}-{base_ms // 1000}"
        return Stream(name, path, base_ms, record.status in ("Completed", "Failed", "Stopped"))


def _job_of(stream_or_prefix: str) -> str:
    return stream_or_prefix.split("/", 1)[0]


@operation(
    "DescribeLogStreams",
    {
        "logGroupName": s.String(min=1, max=512),
        "logGroupIdentifier": s.String(min=1, max=2048),
        "logStreamNamePrefix": s.String(min=1, max=512),
        "orderBy": s.String(enum=("LogStreamName", "LastEventTime")),
        "descending": s.Boolean(),
        "nextToken": s.String(min=1),
        "limit": s.Integer(min=1, max=50),
    },
    codes=LOGS_CODES,
)
def describe_log_streams(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeLogStreams: the streams of the jobs whose stream names start with the prefix."""
    group = _Group(services, _group_name(request))
    prefix = request.get("logStreamNamePrefix", "")
    descending = request.get("descending", False)
    streams: list[Stream] = []
    token = None
    if "/" in prefix:
        try:
            found = group.stream(_job_of(prefix))
        except ResourceNotFoundError:
            found = None
        if found is not None and found.name.startswith(prefix):
            streams.append(found)
    else:
        # Jobs are listed by name (streams sort by name too); a page may come back short.
        records, token = group.list(
            name_contains=prefix or None,
            sort_by="Name",
            sort_order="Descending" if descending else "Ascending",
            max_results=request.get("limit", 50),
            next_token=request.get("nextToken"),
        )
        for record in records:
            if record.name.startswith(prefix):
                found = group.stream(record.name)
                if found is not None:
                    streams.append(found)
    out: dict[str, Any] = {"logStreams": [st.describe() for st in streams]}
    if token:
        out["nextToken"] = token
    return out


@operation(
    "GetLogEvents",
    {
        "logGroupName": s.String(min=1, max=512),
        "logGroupIdentifier": s.String(min=1, max=2048),
        "logStreamName": s.String(min=1, max=512),
        "startTime": s.Integer(min=0, long=True),
        "endTime": s.Integer(min=0, long=True),
        "nextToken": s.String(min=1),
        "limit": s.Integer(min=1, max=MAX_EVENTS),
        "startFromHead": s.Boolean(),
        "unmask": s.Boolean(),
    },
    required=("logStreamName",),
    codes=LOGS_CODES,
)
def get_log_events(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """GetLogEvents: the stream's lines as events, forward from a token or a time, or the last
    ones (``startFromHead`` false, CloudWatch's default)."""
    group = _Group(services, _group_name(request))
    name = request["logStreamName"]
    missing = ResourceNotFoundError(
        f"The specified log stream does not exist: {name!r}.",
        aws_message="The specified log stream does not exist.",
    )
    try:
        stream = group.stream(_job_of(name))
    except ResourceNotFoundError:
        raise missing from None
    if stream is None or stream.name != name:
        raise missing
    limit = request.get("limit", MAX_EVENTS)
    first = _line_of(request.get("startTime"), stream.base_ms)
    stop = _line_of(request.get("endTime"), stream.base_ms)
    token = request.get("nextToken")
    if token is not None:
        direction, line, offset = _parse_token(token)
    elif request.get("startFromHead", False):
        direction, line, offset = "f", 0, 0
    else:
        direction, line, offset = "b", -1, -1
    if direction == "f":
        events, end_line, end_offset = _forward(stream, line, offset, first, stop, limit)
        first_line, first_offset = (events[0][0], events[0][1]) if events else (line, offset)
        forward = f"f/{end_line}/{end_offset}"
        backward = f"b/{first_line}/{first_offset}"
    else:
        events = _backward(stream, line, offset, first, stop, limit)
        if events:
            last = events[-1]
            forward = f"f/{last[0] + 1}/{last[1] + last[3]}"
            backward = f"b/{events[0][0]}/{events[0][1]}"
        else:
            forward = backward = f"f/{max(line, 0)}/{max(offset, 0)}"
    return {
        "events": [
            {"timestamp": stream.base_ms + i, "message": text, "ingestionTime": stream.base_ms + i}
            for i, _, text, _ in events
        ],
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }


# --- reading a log file as numbered lines ------------------------------------------------------

Line = tuple[int, int, str, int]  # (index, byte offset, text, byte length)


def _group_name(request: dict[str, Any]) -> str:
    group = request.get("logGroupName") or request.get("logGroupIdentifier")
    if not group:
        raise ValidationError("logGroupName or logGroupIdentifier is required")
    return str(group).rsplit(":log-group:", 1)[-1].removesuffix(":*")


def _line_of(millis: int | None, base_ms: int) -> int | None:
    return None if millis is None else max(0, millis - base_ms)


def _parse_token(token: str) -> tuple[str, int, int]:
    m = _TOKEN.match(token)
    if m is None:
        raise ValidationError(f"The specified nextToken is invalid: {token!r}")
    return m.group("dir"), int(m.group("line")), int(m.group("offset"))


def _lines(path: Path, line: int, offset: int, terminal: bool) -> Iterator[Line]:
    """Complete lines from byte ``offset`` (which starts line number ``line``)."""
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n") and not terminal:
                return
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            yield line, offset, text, len(raw)
            line += 1
            offset += len(raw)


def _forward(
    stream: Stream, line: int, offset: int, first: int | None, stop: int | None, limit: int
) -> tuple[list[Line], int, int]:
    events: list[Line] = []
    size = 0
    for item in _lines(stream.path, line, offset, stream.terminal):
        index, start, _, length = item
        if first is not None and index < first:
            line, offset = index + 1, start + length
            continue
        if (stop is not None and index >= stop) or len(events) >= limit or size > MAX_BYTES:
            break
        events.append(item)
        size += length
        line, offset = index + 1, start + length
    return events, line, offset


def _backward(
    stream: Stream, line: int, offset: int, first: int | None, stop: int | None, limit: int
) -> list[Line]:
    window: deque[Line] = deque(maxlen=limit)
    for item in _lines(stream.path, 0, 0, stream.terminal):
        index = item[0]
        if (line >= 0 and index >= line) or (stop is not None and index >= stop):
            break
        if first is None or index >= first:
            window.append(item)
    return list(window)


def _count_lines(path: Path, terminal: bool) -> tuple[int, int]:
    count = size = 0
    for *_, length in _lines(path, 0, 0, terminal):
        count += 1
        size += length
    return count, size


OPERATIONS = (describe_log_streams, get_log_events)
