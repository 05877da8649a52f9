"""application/x-parquet: reading, writing, streaming."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openmaker.data import Dataset, iter_batches, read_dataset, write_dataset
from openmaker.errors import DataFormatError

from .data_helpers import assert_same, dense_dataset, sparse_dataset


def test_round_trip_with_weights(tmp_path):
    ds = dense_dataset(64, 5, weights=True)
    f = str(tmp_path / "d.parquet")
    write_dataset(ds, f, "application/x-parquet")
    assert pq.read_schema(f).names == ["label", "weight", "f0", "f1", "f2", "f3", "f4"]
    assert_same(read_dataset([f], "parquet", weight_column=True), ds)


def test_sparse_is_written_dense(tmp_path):
    ds = sparse_dataset(20, 6)
    f = str(tmp_path / "s.parquet")
    write_dataset(ds, f, "parquet", gzip=True)
    got = read_dataset([f], "parquet")
    assert not got.is_sparse
    assert_same(got, ds)


def test_columns_by_position_any_numeric_type_nulls_are_nan(tmp_path):
    table = pa.table(
        {
            "target": pa.array([1, 0, 1], pa.int64()),
            "a": pa.array([1.5, None, 3.0], pa.float64()),
            "b": pa.array([True, False, True]),
        }
    )
    f = str(tmp_path / "t.parquet")
    pq.write_table(table, f)
    ds = read_dataset([f], "parquet")
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    np.testing.assert_array_equal(ds.X, [[1.5, 1], [np.nan, 0], [3, 1]])
    assert ds.X.dtype == np.float32
    assert read_dataset([f], "parquet;label_size=0").n_features == 3


def test_string_column_refused(tmp_path):
    f = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"y": [1.0], "s": ["x"]}), f)
    with pytest.raises(DataFormatError, match="'s'") as err:
        read_dataset([f], "parquet")
    assert err.value.source == f


def test_not_parquet(tmp_path):
    f = tmp_path / "x.parquet"
    f.write_bytes(b"1,2,3\n")
    with pytest.raises(DataFormatError, match="Parquet") as err:
        read_dataset([str(f)], "parquet")
    assert err.value.source == str(f)


def test_iter_batches_by_row_groups(tmp_path):
    ds = dense_dataset(1_000, 4)
    f = str(tmp_path / "d.parquet")
    from openmaker.data.parquet import to_table

    pq.write_table(to_table(ds), f, row_group_size=300)
    batches = list(iter_batches([f], "parquet", batch_size=256))
    assert [b.n_rows for b in batches] == [256, 256, 256, 232]
    got = Dataset(
        X=np.concatenate([b.X for b in batches]), y=np.concatenate([b.y for b in batches])
    )
    assert_same(got, read_dataset([f], "parquet"))
    assert_same(got, ds)
