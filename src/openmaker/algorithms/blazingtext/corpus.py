"""Reading BlazingText's channels: checked UTF-8 text, supervised lines, augmented manifests.

A channel's files (File mode: the materialised folder; Pipe mode: the streamed sources; gzip is
detected from the bytes) are read as one corpus, in order, line by line. Every line is decoded
as strict UTF-8: a byte sequence that is not UTF-8 fails the job with a
:class:`~openmaker.errors.DataFormatError` naming the file, the line and the byte offset in the
file. In supervised mode each line must hold at least one ``__label__`` token and one word.

An augmented-manifest channel (Pipe mode, ``AttributeNames: ["source", "label"]``,
``RecordWrapperType: RecordIO``, content type ``application/x-recordio-protobuf``) streams one
RecordIO record per attribute: the ``source`` text, then the ``label`` as compact JSON (``1``,
``[2, 4, 5]``) or text (``pos``); numbers and strings become ``__label__<value>`` (a label
that already has the prefix keeps it).

:func:`write_corpus` writes the checked lines to one local file (what fastText reads);
this host's share of the lines (``rank::size``) when several hosts split a replicated channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openmaker.algorithms.blazingtext.spec import LABEL_PREFIX
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput
from openmaker.spec.channels import ContentType


@dataclass
class CorpusStats:
    """What :func:`write_corpus` wrote."""

    lines: int = 0
    tokens: int = 0
    labels: int = 0


def decode_line(raw: bytes, source: str, line: int, offset: int) -> str:
    """``raw`` as UTF-8 text, or a DataFormatError naming the byte offset in ``source``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataFormatError(
            f"the corpus is not UTF-8: byte 0x{bad} at byte offset {offset + exc.start} of the "
            f"file cannot be decoded ({exc.reason}); BlazingText reads UTF-8 text",
            source=source,
            line=line,
        ) from None


def _text_lines(channel: ChannelInput) -> Iterator[tuple[str, int, str]]:
    """``(source, line number, text)`` of every line of a text channel's files."""
    from openmaker.data.sources import open_uri

    files = channel.sources()
    if not files:
        raise ChannelError(f"Channel {channel.name!r} holds no files", channel=channel.name)
    for source in files:
        offset = 0
        with open_uri(source, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                text = decode_line(raw, source, number, offset)
                offset += len(raw)
                yield source, number, text.rstrip("\r\n")


def _label_tokens(payload: bytes, source: str, record: int) -> list[str]:
    text = decode_line(payload, source, record + 1, 0).strip()
    try:
        value = json.loads(text)
    except ValueError:  # not JSON (or a huge integer): the label is the text
        value = text
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float | str) or str(v).strip() == "":
            raise DataFormatError(
                f"the label attribute must be a number, a string or a JSON array of them, got "
                f"{text!r}",
                source=source,
                record=record,
            )
        name = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
        out.append(name if name.startswith(LABEL_PREFIX) else LABEL_PREFIX + name)
    return out


def _is_label_payload(payload: bytes) -> bool:
    try:
        value = json.loads(payload)
    except ValueError:  # not JSON, not UTF-8, or a huge integer
        return False
    return isinstance(value, int | float | list) and not isinstance(value, bool)


def _manifest_lines(channel: ChannelInput) -> Iterator[tuple[str, int, str]]:
    """Supervised lines (``__label__x words``) from an augmented manifest's RecordIO stream."""
    from openmaker.data.recordio import iter_payloads
    from openmaker.data.sources import open_uri

    for source in channel.sources():
        with open_uri(source, "rb") as fh:
            data = fh.read()
        records = [payload for _, payload in iter_payloads(data, source)]
        if len(records) % 2:
            raise DataFormatError(
                f"an augmented manifest for BlazingText streams two attributes per line "
                f"(AttributeNames: ['source', 'label']); got {len(records)} records",
                source=source,
            )
        for i in range(0, len(records), 2):
            text, label = records[i], records[i + 1]
            if _is_label_payload(text) and not _is_label_payload(label):
                text, label = label, text  # AttributeNames given as ["label", "source"]
            words = decode_line(text, source, i // 2 + 1, 0).strip()
            labels = _label_tokens(label, source, i + 1)
            yield source, i // 2 + 1, " ".join([*labels, words])


def channel_lines(channel: ChannelInput) -> Iterator[tuple[str, int, str]]:
    """``(source, line number, text)`` of every line of a channel, decoded and in order."""
    if channel.content_type == ContentType.RECORDIO_PROTOBUF:
        if channel.input_mode != "Pipe":
            raise ChannelError(
                f"Channel {channel.name!r}: BlazingText reads {ContentType.RECORDIO_PROTOBUF} "
                f"only as a supervised augmented manifest in Pipe mode; use text/plain",
                channel=channel.name,
            )
        return _manifest_lines(channel)
    return _text_lines(channel)


def check_supervised_line(text: str, source: str, line: int) -> tuple[int, int]:
    """Refuse an empty or unlabelled supervised line; returns (labels, words)."""
    tokens = text.split()
    if not tokens:
        raise DataFormatError(
            "empty line: every line of a supervised channel needs at least one label "
            f"({LABEL_PREFIX}<name>) and one word",
            source=source,
            line=line,
        )
    labels = sum(t.startswith(LABEL_PREFIX) for t in tokens)
    if labels == 0:
        raise DataFormatError(
            f"no label: supervised lines need at least one label token with the prefix "
            f"{LABEL_PREFIX!r} (e.g. '{LABEL_PREFIX}{tokens[0]}'); labels without the "
            f"{LABEL_PREFIX!r} prefix are read as words. The line starts with {tokens[0]!r}",
            source=source,
            line=line,
        )
    if labels == len(tokens):
        raise DataFormatError(
            "the line has labels but no words to classify", source=source, line=line
        )
    return labels, len(tokens) - labels


_BLOCK = 1 << 24
_GZIP_MAGIC = b"\x1f\x8b"


def check_utf8_file(path: Path) -> CorpusStats:
    """Check a whole file is UTF-8 (in large blocks); count its non-empty lines and tokens.

    Raises:
        DataFormatError: naming the line and byte offset of the first byte that is not UTF-8.
    """
    stats = CorpusStats()
    base = 0
    lines_before = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                break
            if not block.endswith(b"\n"):
                block += fh.readline()  # end the block at a line end
            try:
                block.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = lines_before + block.count(b"\n", 0, exc.start) + 1
                start = block.rfind(b"\n", 0, exc.start) + 1
                end = block.find(b"\n", exc.start)
                raw = block[start : end + 1 if end >= 0 else len(block)]
                decode_line(raw, str(path), line, base + start)
            stats.tokens += len(block.split())
            newlines = block.count(b"\n")
            stats.lines += newlines + (0 if block.endswith(b"\n") else 1)
            lines_before += newlines
            base += len(block)
    if stats.tokens == 0:
        raise DataFormatError("the corpus holds no words", source=str(path))
    return stats


#: A line (empty, or blank) without a label token, and a line of label tokens only.
_UNLABELLED = re.compile(rb"(?m)^(?![^\n]*(?:^|[ \t\v\f\r])__label__)[^\n]*$")
_LABELS_ONLY = re.compile(rb"(?m)^[ \t\v\f\r]*(?:__label__\S*[ \t\v\f\r]*)+$")


def check_supervised_file(path: Path) -> CorpusStats:
    """:func:`check_utf8_file` plus the supervised line checks, in large blocks (regular
    expressions find a bad line; :func:`check_supervised_line` then words the error).

    Raises:
        DataFormatError: not UTF-8; an empty line, one without a label or without words.
    """
    stats = check_utf8_file(path)
    lines_before = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                break
            if not block.endswith(b"\n"):
                block += fh.readline()
            body = block[:-1] if block.endswith(b"\n") else block
            bad = [m.start() for m in (_UNLABELLED.search(body), _LABELS_ONLY.search(body)) if m]
            if bad:
                at = min(bad)
                end = body.find(b"\n", at)
                text = body[at : end if end >= 0 else len(body)].decode("utf-8")
                line = lines_before + body.count(b"\n", 0, at) + 1
                check_supervised_line(text, str(path), line)
            labels = len(re.findall(rb"(?:^|\s)__label__", block))
            stats.labels += labels
            lines_before += block.count(b"\n")
    stats.tokens -= stats.labels
    return stats


def supervised_corpus(channel: ChannelInput, work: Path) -> tuple[Path, CorpusStats]:
    """A checked local file of the channel's labelled lines (the file itself when it can)."""
    path = single_local_file(channel)
    if path is not None:
        return path, check_supervised_file(path)
    dest = work / f"{channel.name}.txt"
    return dest, write_corpus(channel, dest, supervised=True)


def single_local_file(channel: ChannelInput) -> Path | None:
    """The channel's one plain local text file, when it is that (read in place, no copy)."""
    if channel.content_type == ContentType.RECORDIO_PROTOBUF:
        return None
    files = channel.sources()
    if len(files) != 1:
        return None
    from openmaker.data.sources import is_local, local_path

    if not is_local(files[0]):
        return None
    path = Path(local_path(files[0]))
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        if fh.read(2) == _GZIP_MAGIC:
            return None
    return path


def word2vec_corpus(channel: ChannelInput, work: Path) -> tuple[Path, CorpusStats]:
    """A checked local file of the channel's sentences: the file itself when the channel is
    one plain local file, else a UTF-8 copy of its lines under ``work``."""
    path = single_local_file(channel)
    if path is not None:
        return path, check_utf8_file(path)
    dest = work / f"{channel.name}.txt"
    return dest, write_corpus(channel, dest, supervised=False)


def write_corpus(
    channel: ChannelInput,
    dest: Path,
    *,
    supervised: bool,
    rank: int = 0,
    size: int = 1,
) -> CorpusStats:
    """Write the channel's checked lines (this host's share) to ``dest``, one per line.

    Raises:
        DataFormatError: text that is not UTF-8; in supervised mode an empty line, a line
            without a ``__label__`` token or without words; a channel with no words at all.
    """
    stats = CorpusStats()
    dest.parent.mkdir(parents=True, exist_ok=True)
    index = -1
    with open(dest, "w", encoding="utf-8", newline="\n") as out:
        for source, number, text in channel_lines(channel):
            labels = 0
            if supervised:
                labels, words = check_supervised_line(text, source, number)
            else:
                words = len(text.split())
                if words == 0:
                    continue
            index += 1
            if size > 1 and index % size != rank:
                continue
            stats.labels += labels
            stats.tokens += words
            out.write(text)
            out.write("\n")
            stats.lines += 1
    if index < 0:
        raise DataFormatError(f"Channel {channel.name!r} holds no words", source=channel.name)
    return stats
