"""Writing datasets: :func:`write_dataset` and the streaming :class:`DatasetWriter` behind it.

Local files are written under a temporary name in the same folder and renamed into place when
complete, so readers never see half a file. Other URIs (``s3://``) are written directly: an
object only appears once its upload completes.
"""

from __future__ import annotations

import contextlib
import gzip as _gzip
import os
import uuid
from typing import IO, Any, cast

from openmaker.data.dataset import Dataset
from openmaker.data.readers import TRAINING_CONTENT_TYPES
from openmaker.data.sources import is_local, local_path, storage_options
from openmaker.errors import DataSourceError, UnsupportedContentTypeError
from openmaker.spec.channels import ContentType, parse_content_type


class DatasetWriter:
    """Append datasets to one file in one content type.

    Use as a context manager; the file is committed (renamed into place) on a clean exit and
    removed on an exception.

    Args:
        uri: destination (local path, ``file://`` or ``s3://``).
        content_type: ``text/csv``, ``text/libsvm``, ``application/x-recordio-protobuf`` or
            ``application/x-parquet`` (aliases accepted).
        gzip: compress the output.
    """

    def __init__(self, uri: str, content_type: str, *, gzip: bool = False) -> None:
        canonical, _ = parse_content_type(content_type)
        if canonical not in TRAINING_CONTENT_TYPES:
            raise UnsupportedContentTypeError(content_type, TRAINING_CONTENT_TYPES)
        self.uri = uri
        self.content_type = canonical
        self.rows = 0
        self._stack = contextlib.ExitStack()
        self._tmp: str | None = None
        self._parquet: Any = None
        self._fh = self._open(gzip)

    def _open(self, gzip: bool) -> IO[bytes]:
        try:
            if is_local(self.uri):
                path = os.path.abspath(local_path(self.uri))
                folder = os.path.dirname(path)
                os.makedirs(folder, exist_ok=True)
                self._tmp = os.path.join(
                    folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp"
                )
                raw: IO[bytes] = open(self._tmp, "wb")  # noqa: SIM115 - closed by the stack
            else:
                import fsspec

                raw = fsspec.open(self.uri, "wb", **storage_options(self.uri)).open()
        except (OSError, ValueError, ImportError) as exc:
            raise DataSourceError(f"cannot write {self.uri!r}: {exc}", uri=self.uri) from exc
        self._stack.callback(raw.close)
        if gzip:
            gz = _gzip.GzipFile(fileobj=raw, mode="wb")
            self._stack.callback(gz.close)
            return cast("IO[bytes]", gz)
        return raw

    def write(self, ds: Dataset) -> None:
        """Append the rows of ``ds``."""
        from openmaker.data import csv, libsvm, parquet, recordio

        if self.content_type == ContentType.CSV:
            self._fh.write(csv.encode(ds))
        elif self.content_type == ContentType.LIBSVM:
            self._fh.write(libsvm.encode(ds))
        elif self.content_type == ContentType.RECORDIO_PROTOBUF:
            self._fh.write(recordio.encode_dataset(ds))
        else:
            import pyarrow.parquet as pq

            table = parquet.to_table(ds)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._fh, table.schema)
                self._stack.callback(self._parquet.close)
            # Small row groups keep Pipe-mode reading (one row group at a time) bounded.
            rows = max(1024, min(65536, (4 << 20) // max(1, 4 * table.num_columns)))
            self._parquet.write_table(table, row_group_size=rows)
        self.rows += ds.n_rows

    def close(self, commit: bool = True) -> None:
        """Finish the file; ``commit=False`` throws it away."""
        try:
            if commit and self.content_type == ContentType.PARQUET and self._parquet is None:
                import pyarrow.parquet as pq

                # An empty dataset still makes a valid (empty) Parquet file.
                pq.ParquetWriter(self._fh, _empty_schema()).close()
            self._stack.close()
        finally:
            if self._tmp is not None:
                if commit:
                    os.replace(self._tmp, os.path.abspath(local_path(self.uri)))
                else:
                    with contextlib.suppress(OSError):
                        os.remove(self._tmp)
                self._tmp = None

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(commit=exc_type is None)


def _empty_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("label", pa.float32())])


def write_dataset(dataset: Dataset, uri: str, content_type: str, *, gzip: bool = False) -> None:
    """Write a dataset to one file.

    * ``text/csv``: label column(s) first, then the weight (when present), then features; no
      header; shortest float32 round-trip text; NaN as an empty cell.
    * ``text/libsvm``: ``label[:weight] index:value ...``, zero-based indices.
    * ``application/x-recordio-protobuf``: one Record per row, as the SageMaker SDK writes:
      dense rows as ``Float32Tensor`` values, CSR rows as ``keys`` + ``values`` + ``shape``;
      the label in ``label["values"]``. Weights have no place in the format and are dropped.
    * ``application/x-parquet``: columns ``label``, ``weight``, ``f0``..``fN``.

    Raises:
        UnsupportedContentTypeError: for other content types.
        DataSourceError: when the destination cannot be written.
    """
    with DatasetWriter(uri, content_type, gzip=gzip) as writer:
        writer.write(dataset)
