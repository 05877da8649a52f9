"""Converting a channel from one content type to another, streamed in batches."""

from __future__ import annotations

from openmaker.data.readers import DEFAULT_BATCH_SIZE, iter_batches
from openmaker.data.sources import list_files, open_uri
from openmaker.data.writers import DatasetWriter
from openmaker.errors import DataFormatError
from openmaker.spec.channels import ContentType, parse_content_type

EXTENSIONS: dict[str, str] = {
    ".csv": ContentType.CSV,
    ".libsvm": ContentType.LIBSVM,
    ".svm": ContentType.LIBSVM,
    ".pbr": ContentType.RECORDIO_PROTOBUF,
    ".recordio": ContentType.RECORDIO_PROTOBUF,
    ".rec": ContentType.RECORDIO_PROTOBUF,
    ".parquet": ContentType.PARQUET,
}


def guess_content_type(uri: str) -> str | None:
    """The content type a file name suggests (``.csv``, ``.libsvm``/``.svm``,
    ``.pbr``/``.recordio``/``.rec``, ``.parquet``, each optionally followed by ``.gz``)."""
    name = uri.rstrip("/").rsplit("/", 1)[-1].lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ext, ctype in EXTENSIONS.items():
        if name.endswith(ext):
            return ctype
    return None


def convert(
    in_uri: str,
    out_uri: str,
    to_content_type: str,
    *,
    from_content_type: str | None = None,
    label_size: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Convert a file or folder (all its files, concatenated in order) into one file.

    Rows are streamed batch by batch, so memory stays bounded. libsvm input is read twice:
    once to find its width, so that every output row has the same number of features. The
    output is gzipped when ``out_uri`` ends with ``.gz``.

    Args:
        in_uri: source file, folder or prefix.
        out_uri: destination file.
        to_content_type: content type to write.
        from_content_type: content type to read; guessed from the first file's extension
            when ``None``.
        label_size: label columns in the input (0: unlabelled).
        batch_size: rows per batch.

    Returns:
        The number of rows written.

    Raises:
        DataFormatError: when the input type cannot be guessed, or the data is malformed.
    """
    files = list_files(in_uri)
    if from_content_type is None:
        from_content_type = guess_content_type(files[0])
        if from_content_type is None:
            raise DataFormatError(
                "cannot tell the content type from the file name; pass from_content_type",
                source=files[0],
            )
    source_type, _ = parse_content_type(from_content_type)
    n_features = None
    if source_type == ContentType.LIBSVM:
        from openmaker.data import libsvm

        n_features = 0
        for f in files:
            with open_uri(f) as fh:
                n_features = max(n_features, libsvm.max_width(fh, f))
    with DatasetWriter(out_uri, to_content_type, gzip=out_uri.endswith(".gz")) as writer:
        for batch in iter_batches(
            files,
            from_content_type,
            batch_size=batch_size,
            label_size=label_size,
            n_features=n_features,
        ):
            writer.write(batch)
        return writer.rows
