"""Reading training data: File mode (:func:`read_dataset`) and Pipe mode (:func:`iter_batches`).

Both take the channel's sources (files, folders, prefixes; local, ``file://`` or ``s3://``,
gzip or not) and its content type with SageMaker's parameters (``text/csv;label_size=0``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from openmaker.data.dataset import Dataset, concat, fit_width
from openmaker.data.sources import list_all, open_uri
from openmaker.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.spec.channels import ContentType, parse_content_type

TRAINING_CONTENT_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.LIBSVM,
    ContentType.RECORDIO_PROTOBUF,
    ContentType.PARQUET,
)
DEFAULT_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class ReadOptions:
    """How to decode a channel, after content-type parameters are merged in."""

    content_type: str
    label_size: int = 1
    weight_column: bool = False
    delimiter: str | None = None
    n_features: int | None = None


def resolve_options(
    content_type: str,
    params: Mapping[str, str] | None = None,
    *,
    label_size: int = 1,
    weight_column: bool = False,
    n_features: int | None = None,
    supported: tuple[str, ...] = TRAINING_CONTENT_TYPES,
) -> ReadOptions:
    """Canonicalise the content type and merge its parameters.

    Parameters given in ``params`` win over those in the content-type string; a
    ``label_size`` parameter wins over the ``label_size`` argument. A ``delimiter`` parameter
    (CSV) turns delimiter sniffing off.

    Raises:
        UnsupportedContentTypeError: for a content type that is not in ``supported``.
        DataFormatError: for a ``label_size`` that is not a non-negative integer.
    """
    canonical, ct_params = parse_content_type(content_type)
    if canonical not in supported:
        raise UnsupportedContentTypeError(content_type, supported)
    merged = {**ct_params, **{k.lower(): str(v) for k, v in (params or {}).items()}}
    if "label_size" in merged:
        try:
            label_size = int(merged["label_size"])
        except ValueError:
            label_size = -1
        if label_size < 0:
            raise DataFormatError(
                f"label_size must be a non-negative integer, got {merged['label_size']!r}"
            )
    delimiter = merged.get("delimiter") or None
    if delimiter == "\\t":
        delimiter = "\t"
    return ReadOptions(canonical, label_size, weight_column, delimiter, n_features)


def _no_records(sources: Sequence[str]) -> DataFormatError:
    names = ", ".join(sources)
    return DataFormatError(f"{names} contains no records", source=names)


def _as_list(sources: str | Sequence[str]) -> list[str]:
    return [sources] if isinstance(sources, str) else list(sources)


# --- per-format plumbing ----------------------------------------------------------------------


def _csv_layout(files: list[str], opts: ReadOptions) -> tuple[str, int, int] | None:
    """(delimiter, number of columns, bytes of the first line) from the first non-empty file."""
    from openmaker.data import csv as csvmod

    for f in files:
        with open_uri(f) as fh:
            line = csvmod.first_line(fh)
        if line is not None:
            delimiter = opts.delimiter or csvmod.sniff_delimiter(line)
            return delimiter, csvmod.count_columns(line, delimiter), len(line) + 1
    return None


def _check_labels(opts: ReadOptions) -> None:
    if opts.content_type == ContentType.LIBSVM and opts.label_size > 1:
        raise DataFormatError(f"libsvm rows have one label; label_size={opts.label_size}")


def _read_file_parts(files: list[str], opts: ReadOptions) -> Iterator[tuple[str, Dataset]]:
    """Every file decoded whole (File mode)."""
    from openmaker.data import csv as csvmod
    from openmaker.data import libsvm, parquet, recordio

    ct = opts.content_type
    keep = opts.label_size > 0
    if ct == ContentType.CSV:
        layout = _csv_layout(files, opts)
        if layout is None:
            return
        delimiter, ncols, _ = layout
        for f in files:
            ds = csvmod.read_file(f, delimiter, ncols, opts.label_size, opts.weight_column)
            if ds is not None and ds.n_rows:
                yield f, ds
    elif ct == ContentType.LIBSVM:
        for f in files:
            with open_uri(f) as fh:
                blocks = [libsvm.block_to_dataset(b, keep) for b in libsvm.iter_blocks(fh, f)]
            if blocks:
                yield f, concat(blocks)
    elif ct == ContentType.RECORDIO_PROTOBUF:
        for f in files:
            with open_uri(f) as fh:
                data = fh.read()
            ds = recordio.decode_bytes(data, f, keep_labels=keep)
            del data
            if ds is not None and ds.n_rows:
                yield f, ds
    elif ct == ContentType.PARQUET:
        for f in files:
            with open_uri(f) as fh:
                ds = parquet.read_file(fh, f, opts.label_size, opts.weight_column)
            if ds is not None and ds.n_rows:
                yield f, ds


def _stream_file_parts(
    files: list[str], opts: ReadOptions, batch_size: int
) -> Iterator[tuple[str, Dataset]]:
    """Blocks of roughly ``batch_size`` rows, file after file (Pipe mode)."""
    from openmaker.data import csv as csvmod
    from openmaker.data import libsvm, parquet, recordio

    ct = opts.content_type
    keep = opts.label_size > 0
    if ct == ContentType.CSV:
        layout = _csv_layout(files, opts)
        if layout is None:
            return
        delimiter, ncols, row_bytes = layout
        for f in files:
            for ds in csvmod.iter_file(
                f, delimiter, ncols, opts.label_size, opts.weight_column, batch_size, row_bytes
            ):
                yield f, ds
    elif ct == ContentType.LIBSVM:
        for f in files:
            with open_uri(f) as fh:
                # ~64 bytes a row is a guess; blocks only need to be near the batch in size.
                block = int(min(max(64 * batch_size, 1 << 16), libsvm.BLOCK_BYTES))
                for b in libsvm.iter_blocks(fh, f, block):
                    yield f, libsvm.block_to_dataset(b, keep, opts.n_features)
    elif ct == ContentType.RECORDIO_PROTOBUF:
        for f in files:
            with open_uri(f) as fh:
                for ds in recordio.iter_file(fh, f, keep_labels=keep, target_rows=batch_size):
                    yield f, ds
    elif ct == ContentType.PARQUET:
        for f in files:
            with open_uri(f) as fh:
                for ds in parquet.iter_file(fh, f, opts.label_size, opts.weight_column, batch_size):
                    yield f, ds


class _Consistency:
    """Checks that every part agrees on width (dense) and on having labels and weights."""

    def __init__(self) -> None:
        self.first: tuple[str, Dataset] | None = None

    def check(self, source: str, ds: Dataset) -> None:
        if self.first is None:
            self.first = (source, ds)
            return
        src0, ds0 = self.first
        if not ds.is_sparse and not ds0.is_sparse and ds.n_features != ds0.n_features:
            raise DataFormatError(
                f"has {ds.n_features} feature columns but {src0} has {ds0.n_features}",
                source=source,
            )
        if (ds.y is None) != (ds0.y is None):
            raise DataFormatError(
                f"{'has' if ds.y is not None else 'has no'} labels, unlike {src0}", source=source
            )
        if ds.y is not None and ds0.y is not None and ds.y.shape[1:] != ds0.y.shape[1:]:
            raise DataFormatError(f"label width differs from {src0}", source=source)
        if (ds.weights is None) != (ds0.weights is None):
            if ds0.weights is None:  # weights appear in a later file: earlier rows weigh 1
                return
            raise DataFormatError(f"has no instance weights, unlike {src0}", source=source)


def _fill_weights(parts: list[Dataset]) -> list[Dataset]:
    import numpy as np

    if all(p.weights is None for p in parts) or all(p.weights is not None for p in parts):
        return parts
    return [
        p if p.weights is not None else Dataset(p.X, p.y, np.ones(p.n_rows, np.float32))
        for p in parts
    ]


# --- public -----------------------------------------------------------------------------------


def read_dataset(
    sources: str | Sequence[str],
    content_type: str,
    params: Mapping[str, str] | None = None,
    *,
    label_size: int = 1,
    weight_column: bool = False,
    n_features: int | None = None,
) -> Dataset:
    """Read a channel into memory (File mode).

    Args:
        sources: URIs of files, folders or prefixes (a single string is accepted too).
        content_type: canonical type or SageMaker alias, with optional parameters
            (``"text/csv;label_size=0"``).
        params: more content-type parameters; they win over those in ``content_type``.
        label_size: number of leading label columns (CSV, Parquet); 0 means unlabelled.
            For libsvm and recordio-protobuf, 0 drops the labels.
        weight_column: CSV/Parquet: the column after the label(s) is the instance weight
            (XGBoost's ``csv_weights=1``).
        n_features: expected width: sparse data is padded to it, wider or (dense) different
            data is an error.

    Returns:
        The decoded rows of every file, in order.

    Raises:
        DataSourceError: a source does not exist or cannot be read.
        DataFormatError: malformed data (naming file and line or record), inconsistent files,
            or no records at all.
        UnsupportedContentTypeError: a content type that is not a training format.
    """
    srcs = _as_list(sources)
    opts = resolve_options(
        content_type, params, label_size=label_size, weight_column=weight_column,
        n_features=n_features,
    )  # fmt: skip
    _check_labels(opts)
    files = list_all(srcs)
    check = _Consistency()
    parts: list[Dataset] = []
    for f, ds in _read_file_parts(files, opts):
        check.check(f, ds)
        parts.append(ds)
    if not parts:
        raise _no_records(srcs)
    merged = concat(_fill_weights(parts))
    return fit_width(merged, n_features, ", ".join(srcs))


def iter_batches(
    sources: str | Sequence[str],
    content_type: str,
    params: Mapping[str, str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    label_size: int = 1,
    weight_column: bool = False,
    n_features: int | None = None,
) -> Iterator[Dataset]:
    """Stream a channel in batches of at most ``batch_size`` rows (Pipe mode).

    Files are read in chunks sized to the batch, so memory does not grow with the data.
    Every batch but the last has exactly ``batch_size`` rows (batches run across files).
    Arguments and errors are those of :func:`read_dataset`.

    Sparse batches (libsvm, sparse recordio) are ``max index + 1`` wide batch by batch
    unless ``n_features`` is given; pass it to get one width for every batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    srcs = _as_list(sources)
    opts = resolve_options(
        content_type, params, label_size=label_size, weight_column=weight_column,
        n_features=n_features,
    )  # fmt: skip
    _check_labels(opts)
    files = list_all(srcs)
    check = _Consistency()
    pending: list[Dataset] = []
    count = 0
    yielded = False
    for f, part in _stream_file_parts(files, opts, batch_size):
        check.check(f, part)
        part = fit_width(part, n_features, f)
        pending.append(part)
        count += part.n_rows
        while count >= batch_size:
            merged = concat(_fill_weights(pending))
            yield merged.slice(0, batch_size)
            yielded = True
            count -= batch_size
            pending = [merged.slice(batch_size, merged.n_rows)] if count else []
    if count:
        yield concat(_fill_weights(pending))
        yielded = True
    if not yielded:
        raise _no_records(srcs)
