"""text/libsvm: reading, writing, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from openmaker.data import Dataset, iter_batches, read_dataset, write_dataset
from openmaker.errors import DataFormatError

from .data_helpers import assert_same, dense, sparse_dataset


def _write(path, text: str | bytes) -> str:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_round_trip_sparse_with_weights(tmp_path):
    ds = sparse_dataset(80, 15, weights=True)
    f = str(tmp_path / "d.libsvm")
    write_dataset(ds, f, "text/libsvm")
    got = read_dataset([f], "libsvm", n_features=15)
    assert got.is_sparse and got.X.dtype == np.float32
    assert_same(got, ds)


def test_round_trip_dense_input_gzip(tmp_path):
    X = np.array([[0, 1.5, 0], [2, 0, np.nan]], dtype=np.float32)
    ds = Dataset(X=X, y=np.array([1, 0], np.float32))
    f = str(tmp_path / "d.svm")
    write_dataset(ds, f, "text/x-libsvm", gzip=True)
    with gzip.open(f) as fh:
        assert fh.read() == b"1 1:1.5\n0 0:2 2:nan\n"
    got = read_dataset([f], "text/libsvm")
    np.testing.assert_array_equal(dense(got.X), X)
    assert got.weights is None


def test_parse_zero_based_weights_and_blank_lines(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1:0.5 0:1 3:2.5\n\n0 2:-1\n2\n")
    ds = read_dataset([f], "text/libsvm")
    assert ds.X.shape == (3, 4)
    np.testing.assert_array_equal(dense(ds.X), [[1, 0, 0, 2.5], [0, 0, -1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(ds.y, [1, 0, 2])
    np.testing.assert_array_equal(ds.weights, [0.5, 1, 1])  # lines without :weight weigh 1


def test_one_based_file_gets_an_empty_column_zero(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1 1:1 2:2\n0 3:3\n")
    ds = read_dataset([f], "text/libsvm")
    assert ds.n_features == 4
    assert ds.X[:, 0].nnz == 0


def test_n_features_pads_and_rejects_wider(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1 0:1 2:2\n")
    assert read_dataset([f], "text/libsvm", n_features=10).X.shape == (1, 10)
    with pytest.raises(DataFormatError, match="feature index 2"):
        read_dataset([f], "text/libsvm", n_features=2)


def test_label_size_zero_drops_labels(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1:3 0:1\n")
    ds = read_dataset([f], "text/libsvm;label_size=0")
    assert ds.y is None and ds.weights is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1 0:1 3", "'3' should be 'index:value'"),
        ("1 -1:3", "feature index '-1'"),
        ("1 a:3", "feature index 'a'"),
        ("1 1.5:3", "feature index '1.5'"),
        ("x 1:2", "label 'x' is not a number"),
        ("1:w 1:2", "weight 'w' is not a number"),
        ("1 1:2:3", "'1:2:3' should be 'index:value'"),
        ("1 1:", "value '' of feature 1"),
        ("1 1:abc", "value 'abc' of feature 1"),
    ],
)
def test_errors_name_file_and_line(tmp_path, line, message):
    f = _write(tmp_path / "bad.libsvm", f"0 0:1\n\n1 2:3\n{line}\n0 1:1\n")
    with pytest.raises(DataFormatError) as err:
        read_dataset([f], "text/libsvm")
    assert err.value.source == f and err.value.line == 4
    assert message in str(err.value)


def test_error_line_counts_across_blocks(tmp_path):
    lines = ["1 0:1 5:2"] * 30_000 + ["1 0:x"]
    f = _write(tmp_path / "big.libsvm", "\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as err:
        list(iter_batches([f], "text/libsvm", batch_size=100))
    assert err.value.line == 30_001


def test_last_line_without_newline(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1 0:1\n0 1:2")
    assert read_dataset([f], "text/libsvm").n_rows == 2
    assert sum(b.n_rows for b in iter_batches([f], "text/libsvm", batch_size=1)) == 2


def test_several_labels_refused(tmp_path):
    f = _write(tmp_path / "d.libsvm", "1 0:1\n")
    with pytest.raises(DataFormatError, match="one label"):
        read_dataset([f], "text/libsvm;label_size=2")


def test_iter_batches_matches_read_dataset(tmp_path):
    ds = sparse_dataset(1_050, 20, weights=True)
    d = tmp_path / "ch"
    d.mkdir()
    write_dataset(ds.slice(0, 600), str(d / "a.libsvm"), "text/libsvm")
    write_dataset(ds.slice(600, 1_050), str(d / "b.libsvm.gz"), "text/libsvm", gzip=True)
    batches = list(iter_batches([str(d)], "text/libsvm", batch_size=200, n_features=20))
    assert [b.n_rows for b in batches] == [200, 200, 200, 200, 200, 50]
    assert all(b.n_features == 20 for b in batches)
    import scipy.sparse as sp

    got = Dataset(
        X=sp.vstack([b.X for b in batches], format="csr"),
        y=np.concatenate([b.y for b in batches]),
        weights=np.concatenate([b.weights for b in batches]),
    )
    assert_same(got, read_dataset([str(d)], "text/libsvm", n_features=20))
    assert_same(got, ds)
