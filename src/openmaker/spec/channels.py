"""Channels, content types and input modes."""

from __future__ import annotations

from dataclasses import dataclass

from openmaker.errors import UnsupportedContentTypeError


class ContentType:
    """Canonical MIME types; :func:`parse_content_type` maps SageMaker's aliases onto them."""

    CSV = "text/csv"
    LIBSVM = "text/libsvm"
    RECORDIO_PROTOBUF = "application/x-recordio-protobuf"
    PARQUET = "application/x-parquet"
    JSON = "application/json"
    JSONLINES = "application/jsonlines"
    NPY = "application/x-npy"
    TEXT = "text/plain"  # BlazingText's corpora, NTM's auxiliary vocabulary


_ALIASES = {
    "csv": ContentType.CSV,
    "text/csv": ContentType.CSV,
    "libsvm": ContentType.LIBSVM,
    "text/libsvm": ContentType.LIBSVM,
    "text/x-libsvm": ContentType.LIBSVM,
    "recordio-protobuf": ContentType.RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": ContentType.RECORDIO_PROTOBUF,
    "parquet": ContentType.PARQUET,
    "application/x-parquet": ContentType.PARQUET,
    "application/json": ContentType.JSON,
    "json": ContentType.JSON,
    "application/jsonlines": ContentType.JSONLINES,
    "application/x-jsonlines": ContentType.JSONLINES,
    "application/json-lines": ContentType.JSONLINES,
    "jsonlines": ContentType.JSONLINES,
    "application/x-npy": ContentType.NPY,
    "text/plain": ContentType.TEXT,
}

KNOWN_CONTENT_TYPES: tuple[str, ...] = tuple(sorted(set(_ALIASES.values())))

INPUT_MODES: tuple[str, ...] = ("File", "Pipe", "FastFile")


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split ``"text/csv; label_size=0"`` into ``("text/csv", {"label_size": "0"})``.

    The media type is lower-cased and SageMaker's aliases (``csv``, ``text/x-libsvm``,
    ``recordio-protobuf``...) are mapped to the canonical type. Unknown media types raise
    :class:`UnsupportedContentTypeError`.
    """
    parts = [p.strip() for p in value.split(";")]
    media = parts[0].lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        if not part:
            continue
        key, _, val = part.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    if media not in _ALIASES:
        raise UnsupportedContentTypeError(value, KNOWN_CONTENT_TYPES)
    return _ALIASES[media], params


@dataclass(frozen=True)
class Channel:
    """A named input channel an algorithm declares.

    Attributes:
        name: SageMaker's channel name (``train``, ``validation``, ``test``...).
        required: whether training fails without it.
        content_types: canonical content types accepted (first is the default).
        input_modes: ``File`` and/or ``Pipe``.
        description: one line shown by ``openmaker algorithms describe``.
        pipe_content_types: content types accepted in Pipe mode, when narrower than
            ``content_types`` (XGBoost refuses libsvm in Pipe mode).
    """

    name: str
    required: bool = False
    content_types: tuple[str, ...] = (ContentType.CSV,)
    input_modes: tuple[str, ...] = ("File", "Pipe")
    description: str = ""
    pipe_content_types: tuple[str, ...] | None = None

    @property
    def default_content_type(self) -> str:
        """The content type assumed when the channel declares none."""
        return self.content_types[0]

    def accepts(self, content_type: str, input_mode: str) -> bool:
        """Whether a canonical content type is accepted in the given input mode."""
        allowed = self.content_types
        if input_mode == "Pipe" and self.pipe_content_types is not None:
            allowed = self.pipe_content_types
        return content_type in allowed
