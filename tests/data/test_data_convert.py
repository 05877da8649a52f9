"""convert(): every format to every other, folders, gzip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from openmaker.data import convert, guess_content_type, read_dataset, write_dataset
from openmaker.errors import DataFormatError

from .data_helpers import assert_same, dense_dataset, sparse_dataset

EXT = {
    "text/csv": ".csv",
    "text/libsvm": ".libsvm",
    "application/x-recordio-protobuf": ".pbr",
    "application/x-parquet": ".parquet",
}


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(EXT, 2)))
def test_convert_pairs(tmp_path, src, dst):
    ds = sparse_dataset(230, 9) if src == "text/libsvm" else dense_dataset(230, 9)
    d = tmp_path / "in"
    d.mkdir()
    write_dataset(ds.slice(0, 100), str(d / f"a{EXT[src]}"), src)
    write_dataset(ds.slice(100, 230), str(d / f"b{EXT[src]}.gz"), src, gzip=True)
    out = str(tmp_path / f"out{EXT[dst]}.gz")
    assert convert(str(d), out, dst, batch_size=64) == 230
    got = read_dataset([out], dst, n_features=9 if dst == "text/libsvm" else None)
    assert_same(got, ds)


def test_guess_content_type():
    assert guess_content_type("s3://b/k/part.csv.gz") == "text/csv"
    assert guess_content_type("x.svm") == "text/libsvm"
    assert guess_content_type("matrix_0.pbr") == "application/x-recordio-protobuf"
    assert guess_content_type("a.rec") == "application/x-recordio-protobuf"
    assert guess_content_type("a.parquet") == "application/x-parquet"
    assert guess_content_type("a.bin") is None


def test_unknown_extension_needs_from_content_type(tmp_path):
    f = tmp_path / "data.bin"
    f.write_bytes(b"1,2\n")
    with pytest.raises(DataFormatError, match="from_content_type"):
        convert(str(f), str(tmp_path / "o.pbr"), "recordio-protobuf")
    assert convert(str(f), str(tmp_path / "o.pbr"), "recordio-protobuf", from_content_type="csv")
    got = read_dataset([str(tmp_path / "o.pbr")], "recordio-protobuf")
    np.testing.assert_array_equal(got.X, [[2]])


def test_failed_conversion_leaves_no_file(tmp_path):
    f = tmp_path / "in.csv"
    f.write_bytes(b"1,2\n" * 100 + b"1,x\n")
    out = tmp_path / "out.pbr"
    with pytest.raises(DataFormatError):
        convert(str(f), str(out), "recordio-protobuf", batch_size=10)
    assert list(tmp_path.iterdir()) == [f]
