"""Parquet (``application/x-parquet``): label column(s) first, then the features.

Like SageMaker's XGBoost, columns are taken by position, not by name: the first
``label_size`` columns are labels, the next is the weight when ``weight_column`` is set, the
rest are features. Any numeric column type is accepted and cast to float32; nulls become NaN.
Written files name their columns ``label`` (``label_0``... for several), ``weight`` and
``f0``..``fN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from openmaker.data.csv import column_splits, matrices_to_dataset, table_to_matrices
from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError


def _to_float32(table: Any, source: str | None) -> Any:
    import pyarrow as pa

    columns = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if col.type != pa.float32():
            if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                    or pa.types.is_boolean(col.type) or pa.types.is_decimal(col.type)):  # fmt: skip
                raise DataFormatError(
                    f"column {name!r} has type {col.type}; only numeric columns are supported",
                    source=source,
                )
            col = col.cast(pa.float32())
        columns.append(col)
    return pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])


def _dataset(table: Any, label_size: int, weight_column: bool, source: str | None) -> Dataset:
    try:
        splits = column_splits(table.num_columns, label_size, weight_column)
    except DataFormatError as exc:
        raise DataFormatError(exc.detail, source=source) from None
    parts = table_to_matrices(_to_float32(table, source), splits)
    return matrices_to_dataset(parts, label_size, weight_column)


def _open(fh: IO[bytes], source: str | None, *, pre_buffer: bool = True) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(fh, pre_buffer=pre_buffer)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"not a readable Parquet file: {exc}", source=source) from None


def read_file(
    fh: IO[bytes], source: str | None, label_size: int, weight_column: bool
) -> Dataset | None:
    """Read a whole Parquet file; ``None`` when it has no rows."""
    import pyarrow as pa

    pf = _open(fh, source)
    try:
        table = pf.read()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"cannot read Parquet data: {exc}", source=source) from None
    if table.num_rows == 0:
        return None
    return _dataset(table, label_size, weight_column, source)


def iter_file(
    fh: IO[bytes], source: str | None, label_size: int, weight_column: bool, batch_size: int
) -> Iterator[Dataset]:
    """Stream a Parquet file in record batches of at most ``batch_size`` rows.

    Memory holds one row group's column chunks at most (pyarrow reads by row group); without
    ``pre_buffer=False`` pyarrow would read the whole file from a Python file object first.
    """
    import pyarrow as pa

    pf = _open(fh, source, pre_buffer=False)
    try:
        for batch in pf.iter_batches(batch_size=batch_size):
            if batch.num_rows:
                yield _dataset(pa.Table.from_batches([batch]), label_size, weight_column, source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"cannot read Parquet data: {exc}", source=source) from None


def to_table(ds: Dataset) -> Any:
    """An arrow table for a dataset: ``label`` (or ``label_0``..), ``weight``, ``f0``..``fN``."""
    import pyarrow as pa

    arrays: list[Any] = []
    names: list[str] = []
    if ds.y is not None:
        y = np.asarray(ds.y, dtype=np.float32)
        if y.ndim == 1:
            arrays.append(pa.array(y))
            names.append("label")
        else:
            for j in range(y.shape[1]):
                arrays.append(pa.array(np.ascontiguousarray(y[:, j])))
                names.append(f"label_{j}")
    if ds.weights is not None:
        arrays.append(pa.array(np.asarray(ds.weights, dtype=np.float32)))
        names.append("weight")
    X = ds.X.toarray() if ds.is_sparse else ds.X  # type: ignore[union-attr]
    X = np.asarray(X, dtype=np.float32)
    for j in range(X.shape[1]):
        arrays.append(pa.array(np.ascontiguousarray(X[:, j])))
        names.append(f"f{j}")
    return pa.Table.from_arrays(arrays, names=names)
