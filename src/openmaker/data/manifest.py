"""SageMaker's ``S3DataType``: which objects a channel (or a transform input) is made of.

* ``S3Prefix`` (and ``S3Object`` for batch transform): every object under the URI
  (:func:`openmaker.data.sources.list_files`).
* ``ManifestFile``: the URI names a JSON array whose first element is ``{"prefix": P}`` and
  whose other elements are keys relative to ``P``; the channel is exactly the objects ``P + key``,
  in the manifest's order (this is what the SageMaker SDK's ``record_set()`` writes:
  ``<prefix>/.amazon.manifest`` listing ``matrix_0.pbr`` ...). Every listed object must exist: a
  missing one is a :class:`~openmaker.errors.DataSourceError` naming it, so the job fails with
  ``ClientError: ... 'key' listed in the manifest ... does not exist``. File mode lays the
  objects out under their key (``input/data/<channel>/<key>``); ``ShardedByS3Key`` deals out
  the listed objects.
* ``AugmentedManifestFile`` (training, Pipe mode only): the URI names a JSON Lines file; for each
  line, the attributes named in ``AttributeNames`` are streamed in that order. An attribute
  whose name ends in ``-ref`` holds the URI of an object, whose bytes are streamed; any other
  attribute streams its value (a string as its UTF-8 text, anything else as compact JSON).
  With ``RecordWrapperType=RecordIO`` each attribute becomes one RecordIO record, so an
  attribute holding one serialised protobuf ``Record`` per line gives exactly the
  ``application/x-recordio-protobuf`` stream the first-party algorithms read in Pipe mode; with
  ``None`` the payloads are concatenated (e.g. ``-ref`` objects that are RecordIO files already).
  :func:`write_augmented_stream` writes the stream to a file in the host's container, which
  every pass (epoch) then reads; ``ShardedByS3Key`` gives host ``r`` of ``n`` the lines
  ``r, r + n, ...``.

One module serves training (:mod:`openmaker.jobs.runner`, :mod:`openmaker.executors.hosts`)
and batch transform (:mod:`openmaker.transform.runner`).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openmaker.data.sources import filesystem, list_files, open_uri
from openmaker.errors import ChannelError, DataFormatError, DataSourceError, ValidationError
from openmaker.spec.channels import ContentType

S3_PREFIX = "S3Prefix"
S3_OBJECT = "S3Object"
MANIFEST_FILE = "ManifestFile"
AUGMENTED_MANIFEST_FILE = "AugmentedManifestFile"

TRAINING_DATA_TYPES: tuple[str, ...] = (S3_PREFIX, MANIFEST_FILE, AUGMENTED_MANIFEST_FILE)
TRANSFORM_DATA_TYPES: tuple[str, ...] = (S3_PREFIX, S3_OBJECT, MANIFEST_FILE)

#: Content types an augmented-manifest channel may declare: the payloads must form a stream
#: the algorithm's Pipe-mode reader decodes, i.e. RecordIO records (see the module docstring).
AUGMENTED_CONTENT_TYPES: tuple[str, ...] = (ContentType.RECORDIO_PROTOBUF,)
#: At most this many attribute names (SageMaker's limit).
MAX_ATTRIBUTE_NAMES = 16
#: A manifest listing more keys than this is checked with one listing instead of one request
#: per key.
_LIST_ONCE_ABOVE = 64


@dataclass(frozen=True)
class Manifest:
    """A parsed ``ManifestFile``.

    Attributes:
        uri: where the manifest itself lives.
        prefix: the ``{"prefix": ...}`` entry.
        keys: the listed keys, relative to ``prefix``, in the manifest's order.
    """

    uri: str
    prefix: str
    keys: tuple[str, ...]

    @property
    def files(self) -> list[str]:
        """The listed objects' URIs (``prefix + key``, as SageMaker joins them)."""
        return [self.prefix + key for key in self.keys]

    @property
    def base(self) -> str:
        """The folder the keys are relative to (File mode lays each object out under its key)."""
        if self.prefix.endswith("/"):
            return self.prefix
        head = posixpath.dirname(self.prefix)
        return head + "/" if head else self.prefix


def read_manifest(uri: str) -> Manifest:
    """Parse the ``ManifestFile`` at ``uri`` (gzip or not).

    Raises:
        DataSourceError: the manifest cannot be read.
        DataFormatError: it is not a JSON array of ``{"prefix": ...}`` then key strings.
    """
    try:
        with open_uri(uri, "r") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise DataFormatError("the manifest is not UTF-8 text", source=uri) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(f"the manifest is not valid JSON ({exc})", source=uri) from None
    expected = 'a JSON array: {"prefix": "s3://bucket/path/"}, then keys relative to it'
    if not isinstance(data, list) or not data:
        raise DataFormatError(f"the manifest must be {expected}", source=uri)
    head = data[0]
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise DataFormatError(
            f'the manifest\'s first element must be {{"prefix": ...}}; it must be {expected}',
            source=uri,
        )
    prefix = head["prefix"].strip()
    if not prefix:
        raise DataFormatError("the manifest's prefix is empty", source=uri)
    keys = []
    for i, key in enumerate(data[1:], start=1):
        if not isinstance(key, str) or not key:
            raise DataFormatError(
                f"element {i} of the manifest must be a non-empty key string, got {key!r}",
                source=uri,
            )
        if ".." in key.split("/"):
            raise DataFormatError(
                f"element {i} of the manifest, {key!r}, has a '..' part", source=uri
            )
        keys.append(key)
    if not keys:
        raise DataSourceError(f"the manifest {uri!r} lists no objects", uri=uri)
    return Manifest(uri=uri, prefix=prefix, keys=tuple(keys))


def check_listed(manifest: Manifest) -> None:
    """Every object the manifest lists exists.

    Raises:
        DataSourceError: naming the first listed key that is not an object.
    """
    files = manifest.files
    fs, _ = filesystem(files[0])
    paths = [filesystem(f)[1] for f in files]
    try:
        if len(paths) > _LIST_ONCE_ABOVE:
            root = posixpath.commonpath(paths) if len(paths) > 1 else posixpath.dirname(paths[0])
            present = set(fs.find(root))
            exists = [p in present for p in paths]
        else:
            exists = [fs.isfile(p) for p in paths]
    except (OSError, ValueError) as exc:
        raise DataSourceError(
            f"cannot list the objects of the manifest {manifest.uri!r}: {exc}", uri=manifest.uri
        ) from exc
    for key, file, found in zip(manifest.keys, files, exists, strict=True):
        if not found:
            raise DataSourceError(
                f"the object {key!r} listed in the manifest {manifest.uri!r} does not exist "
                f"({file})",
                uri=file,
            )


@dataclass(frozen=True)
class ChannelData:
    """What a channel's ``S3DataSource`` resolves to.

    Attributes:
        base: the URI the files' relative names start from (File-mode layout, output names).
        files: the objects, in order (for an augmented manifest: the manifest itself).
        data_type: the ``S3DataType``.
    """

    base: str
    files: list[str]
    data_type: str


def resolve(source: Mapping[str, Any]) -> ChannelData:
    """The objects of an ``S3DataSource`` (``S3Uri`` and ``S3DataType``).

    Raises:
        DataSourceError: nothing at the URI, an unreadable manifest, or a listed object missing.
        DataFormatError: a malformed manifest.
        ValidationError: an ``S3DataType`` openmaker does not read.
    """
    uri = str(source["S3Uri"])
    data_type = source.get("S3DataType") or S3_PREFIX
    if data_type in (S3_PREFIX, S3_OBJECT):
        return ChannelData(uri, list_files(uri), data_type)
    if data_type == MANIFEST_FILE:
        manifest = read_manifest(uri)
        check_listed(manifest)
        return ChannelData(manifest.base, manifest.files, data_type)
    if data_type == AUGMENTED_MANIFEST_FILE:
        fs, path = filesystem(uri)
        try:
            found = fs.isfile(path)
        except (OSError, ValueError) as exc:
            raise DataSourceError(
                f"cannot read the augmented manifest {uri!r}: {exc}", uri=uri
            ) from exc
        if not found:
            raise DataSourceError(f"the augmented manifest {uri!r} does not exist", uri=uri)
        return ChannelData(uri, [uri], data_type)
    raise ValidationError(
        f"S3DataType {data_type!r} is not supported; supported: {', '.join(TRAINING_DATA_TYPES)}"
    )


# --- request checks -------------------------------------------------------------------------


def check_training_channel(
    channel: Mapping[str, Any], input_mode: str, content_type: str | None
) -> None:
    """Refuse a channel whose data type does not fit its settings (CreateTrainingJob).

    Args:
        channel: the ``InputDataConfig`` entry.
        input_mode: the channel's effective input mode.
        content_type: its canonical content type (the algorithm's default when none given).

    Raises:
        ChannelError: an unknown ``S3DataType``; ``AttributeNames`` without an augmented
            manifest; an augmented manifest outside Pipe mode, without ``AttributeNames`` or
            with a content type its stream cannot carry.
    """
    name = channel.get("ChannelName")
    source = channel["DataSource"]["S3DataSource"]
    data_type = source.get("S3DataType") or S3_PREFIX
    if data_type not in TRAINING_DATA_TYPES:
        raise ChannelError(
            f"Channel {name!r}: S3DataType {data_type!r} is not supported; supported: "
            f"{', '.join(TRAINING_DATA_TYPES)}",
            channel=name,
        )
    attributes = source.get("AttributeNames")
    if data_type != AUGMENTED_MANIFEST_FILE:
        if attributes:
            raise ChannelError(
                f"Channel {name!r}: AttributeNames is only valid with S3DataType "
                f"{AUGMENTED_MANIFEST_FILE}",
                channel=name,
            )
        return
    if input_mode != "Pipe":
        raise ChannelError(
            f"Channel {name!r}: S3DataType {AUGMENTED_MANIFEST_FILE} is only supported in Pipe "
            f"input mode, not {input_mode}",
            channel=name,
        )
    if (
        not isinstance(attributes, list)
        or not attributes
        or len(attributes) > MAX_ATTRIBUTE_NAMES
        or not all(isinstance(a, str) and a for a in attributes)
    ):
        raise ChannelError(
            f"Channel {name!r}: an {AUGMENTED_MANIFEST_FILE} channel needs AttributeNames, a "
            f"list of 1 to {MAX_ATTRIBUTE_NAMES} attribute names",
            channel=name,
        )
    if content_type not in AUGMENTED_CONTENT_TYPES:
        raise ChannelError(
            f"Channel {name!r}: an {AUGMENTED_MANIFEST_FILE} channel must carry "
            f"{', '.join(AUGMENTED_CONTENT_TYPES)} (RecordIO records of protobuf Records); "
            f"got {content_type!r}",
            channel=name,
        )


def check_transform_input(source: Mapping[str, Any]) -> None:
    """Refuse an ``S3DataType`` batch transform does not read.

    Raises:
        ValidationError: naming the supported types.
    """
    data_type = source.get("S3DataType") or S3_PREFIX
    if data_type not in TRANSFORM_DATA_TYPES:
        raise ValidationError(
            f"TransformInput.DataSource.S3DataSource.S3DataType {data_type!r} is not "
            f"supported; supported: {', '.join(TRANSFORM_DATA_TYPES)}"
        )


# --- augmented manifests ----------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentedSource:
    """An augmented-manifest channel as one host streams it.

    Attributes:
        uri: the JSON Lines manifest.
        attribute_names: ``AttributeNames``, in streaming order.
        record_wrapper: ``RecordWrapperType``: ``RecordIO`` or ``None``.
        rank: this host (0-based).
        hosts: the number of hosts.
        sharded: ``ShardedByS3Key``: this host streams only lines ``rank, rank + hosts, ...``.
    """

    uri: str
    attribute_names: tuple[str, ...]
    record_wrapper: str = "None"
    rank: int = 0
    hosts: int = 1
    sharded: bool = False


def _lines(uri: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with open_uri(uri, "r") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                raise DataFormatError("not a JSON object", source=uri, line=number) from None
            if not isinstance(obj, dict):
                raise DataFormatError("not a JSON object", source=uri, line=number)
            yield number, obj


def _read_ref(ref: Any, source: str, line: int, attribute: str) -> bytes:
    if not isinstance(ref, str) or not ref:
        raise DataFormatError(
            f"attribute {attribute!r} must hold an object URI, got {ref!r}",
            source=source,
            line=line,
        )
    fs, path = filesystem(ref)
    try:
        with fs.open(path, "rb") as fh:  # the object's bytes as stored (no gunzip)
            return bytes(fh.read())
    except FileNotFoundError:
        raise DataSourceError(
            f"the object {ref!r} named by attribute {attribute!r} on line {line} of the "
            f"augmented manifest {source!r} does not exist",
            uri=ref,
        ) from None
    except (OSError, ValueError) as exc:
        raise DataSourceError(
            f"cannot read {ref!r} (line {line} of {source!r}): {exc}", uri=ref
        ) from exc


def payloads(source: AugmentedSource) -> Iterator[bytes]:
    """The attribute payloads of the lines this host streams, in order.

    Raises:
        DataFormatError: a line that is not a JSON object or lacks a listed attribute.
        DataSourceError: a ``-ref`` object that does not exist.
    """
    index = -1
    for number, obj in _lines(source.uri):
        index += 1
        if source.sharded and source.hosts > 1 and index % source.hosts != source.rank:
            continue
        for attribute in source.attribute_names:
            if attribute not in obj:
                raise DataFormatError(
                    f"the line has no attribute {attribute!r} (AttributeNames: "
                    f"{', '.join(source.attribute_names)})",
                    source=source.uri,
                    line=number,
                )
            value = obj[attribute]
            if attribute.endswith("-ref"):
                yield _read_ref(value, source.uri, number, attribute)
            elif isinstance(value, str):
                yield value.encode("utf-8")
            else:
                yield json.dumps(value, separators=(",", ":")).encode("utf-8")


def write_augmented_stream(source: AugmentedSource, dest: Path) -> int:
    """Write the channel's Pipe-mode stream to ``dest``; return the number of payloads.

    Memory holds one payload at a time.
    """
    from openmaker.data.recordio import frame

    wrap = source.record_wrapper == "RecordIO"
    dest.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = dest.with_name(dest.name + ".partial")
    with open(tmp, "wb") as out:
        for payload in payloads(source):
            out.write(frame(payload) if wrap else payload)
            count += 1
    tmp.replace(dest)
    if count == 0:
        raise DataSourceError(
            f"the augmented manifest {source.uri!r} gives this host no records", uri=source.uri
        )
    return count


def augmented_source(channel: Mapping[str, Any], rank: int = 0, hosts: int = 1) -> AugmentedSource:
    """The :class:`AugmentedSource` of an ``InputDataConfig`` entry, for host ``rank``."""
    source = channel["DataSource"]["S3DataSource"]
    return AugmentedSource(
        uri=str(source["S3Uri"]),
        attribute_names=tuple(source.get("AttributeNames") or ()),
        record_wrapper=channel.get("RecordWrapperType") or "None",
        rank=rank,
        hosts=hosts,
        sharded=source.get("S3DataDistributionType") == "ShardedByS3Key",
    )
