"""(entity, IPv4) pairs: training CSV (File and Pipe mode alike) and inference requests.

Training data (reference 8.2) is ``text/csv`` without a header, two columns per line: an
opaque entity id and an IPv4 address in dotted-decimal form (``entity_id_1, 192.168.1.2``).
Cells are trimmed of white space; CSV quoting is honoured (``"smith, john",10.0.0.1``); blank
lines are skipped but counted in line numbers. Refused, with a :class:`DataFormatError`
naming the file and 1-based line: a line without exactly two columns, an empty entity id,
and an IP that is not a dotted-decimal IPv4 address (IPv6 included).

The files are read in blocks of whole lines (``channel.sources()``: the materialised files in
File mode, the streamed URIs in Pipe mode), so memory holds one block, never a whole file.
Each block is parsed by ``pyarrow.csv`` and checked with vectorised operations; when a check
fails the block is scanned again line by line to name the exact line of the problem.
"""

from __future__ import annotations

import csv as _csv
import io
from collections.abc import Iterator
from typing import Any

import numpy as np

from openmaker import json_input
from openmaker.algorithms.ip_insights.ipv4 import ipv4_problem, parse_ipv4_array
from openmaker.algorithms.ip_insights.spec import REQUEST_CONTENT_TYPES
from openmaker.data.sources import open_uri
from openmaker.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.spec.algorithm import ChannelInput
from openmaker.spec.channels import ContentType, parse_content_type

#: Bytes of CSV text parsed at once when streaming a file.
BLOCK_BYTES = 1 << 22
#: Bodies up to this size are parsed line by line in Python: pyarrow's per-call set-up
#: (~0.3-0.5 ms) dwarfs parsing a few lines (the size of most inference requests).
SMALL_BYTES = 16 * 1024
#: The two columns, for messages.
COLUMNS = "entity id, IPv4 address"

Pairs = tuple[Any, np.ndarray]
"""``(entities, ips)``: a pyarrow string array of trimmed ids and uint32 addresses."""


def _empty() -> Pairs:
    import pyarrow as pa

    return pa.array([], type=pa.string()), np.zeros(0, dtype=np.uint32)


def _arrow_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowTypeError)


def _fast(data: bytes) -> Pairs | None:
    """Parse with pyarrow; ``None`` when anything is off (the slow path then says what)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=BLOCK_BYTES)
    convert = pacsv.ConvertOptions(
        column_types={"f0": pa.string(), "f1": pa.string()}, strings_can_be_null=False
    )
    try:
        table = pacsv.read_csv(io.BytesIO(data), read, pacsv.ParseOptions(), convert)
    except _arrow_errors():
        return None
    if table.num_columns != 2:
        return None
    entities = pc.utf8_trim_whitespace(table.column(0).combine_chunks())
    if len(entities) and pc.min(pc.utf8_length(entities)).as_py() == 0:
        return None
    ips, valid = parse_ipv4_array(table.column(1).combine_chunks())
    if not valid.all():
        return None
    return entities, ips


def _line_problem(cells: list[str], line: int) -> str | None:
    if len(cells) != 2:
        return f"expected 2 columns ({COLUMNS}), found {len(cells)}"
    if not cells[0].strip():
        return "the entity id (column 1) is empty"
    problem = ipv4_problem(cells[1])
    if problem is not None and line == 1:
        problem += "; the data must have no header row"
    return problem


def _scan(data: bytes, source: str | None, first_line_no: int) -> Pairs:
    """The exact path: parse line by line, raising at the first problem."""
    import pyarrow as pa

    from openmaker.algorithms.ip_insights.ipv4 import ipv4_to_int

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line_no + data.count(b"\n", 0, exc.start)
        raise DataFormatError("the data is not UTF-8 text", source=source, line=line) from None
    entities: list[str] = []
    ips: list[int] = []
    reader = _csv.reader(io.StringIO(text, newline=""))
    line = first_line_no
    try:
        for cells in reader:
            line = reader.line_num + first_line_no - 1
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            problem = _line_problem(cells, line)
            if problem is not None:
                raise DataFormatError(problem, source=source, line=line)
            entities.append(cells[0].strip())
            ips.append(ipv4_to_int(cells[1]))
    except _csv.Error as exc:
        raise DataFormatError(f"malformed CSV: {exc}", source=source, line=line) from None
    return pa.array(entities, type=pa.string()), np.asarray(ips, dtype=np.uint32)


def parse_csv(data: bytes, *, source: str | None = None, first_line_no: int = 1) -> Pairs:
    """Parse whole lines of ``entity,ip`` CSV.

    Args:
        data: the text (complete lines).
        source: the file or URI, for messages (``None`` for a request body).
        first_line_no: the 1-based line number of the first line of ``data``.

    Raises:
        DataFormatError: naming the line of the first bad row.
    """
    if not data.strip():
        return _empty()
    fast = _fast(data) if len(data) > SMALL_BYTES else None
    return fast if fast is not None else _scan(data, source, first_line_no)


def iter_line_blocks(uri: str, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """``(1-based number of the first line, bytes)`` of consecutive blocks of whole lines."""
    line_no = 1
    rest = b""
    with open_uri(uri) as fh:
        while True:
            chunk = fh.read(block_bytes)
            data = rest + chunk
            if chunk:
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                rest, data = data[cut + 1 :], data[: cut + 1]
            if data:
                yield line_no, data
                line_no += data.count(b"\n")
            if not chunk:
                return


def iter_pairs(channel: ChannelInput, block_bytes: int = BLOCK_BYTES) -> Iterator[Pairs]:
    """One pass over a channel's files, block by block (File and Pipe mode alike).

    Raises:
        UnsupportedContentTypeError: the channel is not ``text/csv``.
        DataFormatError: a bad line (file and line named).
    """
    if channel.content_type != ContentType.CSV:
        raise UnsupportedContentTypeError(channel.content_type, (ContentType.CSV,))
    for uri in channel.sources():
        for first, data in iter_line_blocks(uri, block_bytes):
            entities, ips = parse_csv(data, source=uri, first_line_no=first)
            if len(ips):
                yield entities, ips


# --- inference requests -----------------------------------------------------------------------


def _pair_of(instance: Any, where: dict[str, Any]) -> tuple[str, str]:
    values: Any = None
    if isinstance(instance, dict):
        if "features" in instance:
            values = instance["features"]
        else:
            data = instance.get("data")
            features = data.get("features") if isinstance(data, dict) else None
            values = features.get("values") if isinstance(features, dict) else None
    if not isinstance(values, list):
        raise DataFormatError(
            'an instance must be {"features": [entity, ip]} or '
            '{"data": {"features": {"values": [entity, ip]}}}',
            **where,
        )
    if len(values) != 2:
        raise DataFormatError(f"expected 2 values ({COLUMNS}), found {len(values)}", **where)
    entity, ip = values
    if isinstance(entity, int) and not isinstance(entity, bool):
        entity = str(entity)
    if not isinstance(entity, str) or not entity.strip():
        raise DataFormatError(f"the entity id must be a non-empty string, got {entity!r}", **where)
    if not isinstance(ip, str):
        raise DataFormatError(f"the IP address must be a string, got {ip!r}", **where)
    problem = ipv4_problem(ip)
    if problem is not None:
        raise DataFormatError(problem, **where)
    return entity.strip(), ip


def _from_instances(pairs: list[tuple[str, str]]) -> Pairs:
    import pyarrow as pa

    from openmaker.algorithms.ip_insights.ipv4 import ipv4_to_int

    entities = pa.array([e for e, _ in pairs], type=pa.string())
    return entities, np.asarray([ipv4_to_int(ip) for _, ip in pairs], dtype=np.uint32)


def _json(body: bytes) -> Pairs:
    try:
        doc = json_input.loads(body)
    except json_input.InvalidJSONError as exc:
        raise DataFormatError(f"the body is not valid JSON: {exc.reason}", line=exc.line) from None
    instances = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(instances, list):
        raise DataFormatError('a JSON request must be {"instances": [...]}')
    return _from_instances([_pair_of(inst, {"record": i}) for i, inst in enumerate(instances)])


def _jsonlines(body: bytes) -> Pairs:
    pairs = []
    for n, raw in enumerate(body.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            inst = json_input.loads(raw)
        except json_input.InvalidJSONError as exc:
            raise DataFormatError(f"not a JSON object: {exc.reason}", line=n) from None
        pairs.append(_pair_of(inst, {"line": n}))
    return _from_instances(pairs)


def decode_request(body: bytes, content_type: str | None) -> Pairs:
    """The (entity, IP) pairs of an inference request (reference 8.3).

    ``text/csv``: ``entity,ip`` lines; ``application/json``: ``{"instances": [{"features":
    [entity, ip]}, {"data": {"features": {"values": [entity, ip]}}}]}``;
    ``application/jsonlines``: one instance object a line.

    Raises:
        UnsupportedContentTypeError: (415) any other content type (RecordIO included).
        DataFormatError: (400) a malformed record, named by line or index.
    """
    supported = REQUEST_CONTENT_TYPES
    try:
        media, _ = parse_content_type(content_type or ContentType.CSV)
    except UnsupportedContentTypeError:
        raise UnsupportedContentTypeError(str(content_type), supported) from None
    if media == ContentType.CSV:
        return parse_csv(body)
    if media == ContentType.JSON:
        return _json(body)
    if media == ContentType.JSONLINES:
        return _jsonlines(body)
    raise UnsupportedContentTypeError(str(content_type), supported)
