"""text/csv: reading, writing, delimiters, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from openmaker.data import Dataset, iter_batches, read_dataset, write_dataset
from openmaker.errors import DataFormatError, UnsupportedContentTypeError

from .data_helpers import assert_same, dense_dataset


def _write(path, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)
    return str(path)


def test_round_trip_with_label(tmp_path):
    ds = dense_dataset(100, 6)
    f = str(tmp_path / "d.csv")
    write_dataset(ds, f, "text/csv")
    assert_same(read_dataset([f], "text/csv"), ds)


def test_round_trip_float32_exactly(tmp_path):
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((30, 3)) * 10.0 ** rng.integers(-20, 20, (30, 3))).astype(np.float32)
    ds = Dataset(X=X, y=np.arange(30, dtype=np.float32))
    f = str(tmp_path / "d.csv")
    write_dataset(ds, f, "csv")
    assert_same(read_dataset(f, "csv"), ds)


def test_round_trip_with_weights_and_gzip(tmp_path):
    ds = dense_dataset(40, 3, weights=True)
    f = str(tmp_path / "d.csv.gz")
    write_dataset(ds, f, "text/csv", gzip=True)
    with open(f, "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    got = read_dataset([f], "text/csv", weight_column=True)
    assert_same(got, ds)


def test_label_size_zero_and_two(tmp_path):
    f = _write(tmp_path / "d.csv", "1,2,3\n4,5,6\n")
    unl = read_dataset([f], "text/csv;label_size=0")
    assert unl.y is None
    np.testing.assert_array_equal(unl.X, [[1, 2, 3], [4, 5, 6]])
    two = read_dataset([f], "text/csv", {"label_size": "2"})
    np.testing.assert_array_equal(two.y, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(two.X, [[3], [6]])
    assert read_dataset([f], "text/csv", label_size=0).y is None
    # a label_size parameter wins over the keyword argument
    assert read_dataset([f], "text/csv;label_size=1", label_size=0).y is not None


def test_empty_cells_are_nan_and_blank_lines_skipped(tmp_path):
    f = _write(tmp_path / "d.csv", "1,,3\n\n0,nan,\n")
    ds = read_dataset([f], "text/csv")
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert np.isnan(ds.X[0, 0]) and ds.X[0, 1] == 3
    assert np.isnan(ds.X[1]).all()


@pytest.mark.parametrize("delim", [";", "\t", "|", " "])
def test_delimiter_is_sniffed(tmp_path, delim):
    f = _write(tmp_path / "d.csv", f"1{delim}2.5{delim}3\n0{delim}4{delim}5\n")
    ds = read_dataset([f], "text/csv")
    np.testing.assert_array_equal(ds.y, [1, 0])
    np.testing.assert_array_equal(ds.X, [[2.5, 3], [4, 5]])


def test_delimiter_parameter(tmp_path):
    f = _write(tmp_path / "d.csv", "1;2\n3;4\n")
    ds = read_dataset([f], "text/csv;delimiter=;")
    np.testing.assert_array_equal(ds.X, [[2], [4]])


def test_folder_of_files_in_order(tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    _write(d / "part-1.csv", "1,1\n2,2\n")
    _write(d / "part-0.csv", "0,0\n")
    _write(d / "_SUCCESS", "")
    _write(d / ".part-1.csv.crc", "garbage")
    (d / "nested").mkdir()
    _write(d / "nested" / "p.csv", gzip.compress(b"3,3\n"))
    ds = read_dataset([str(d)], "text/csv")
    np.testing.assert_array_equal(ds.y, [3, 0, 1, 2])  # "nested/" sorts before "part-*"


def test_ragged_row_names_file_and_line(tmp_path):
    f = _write(tmp_path / "bad.csv", "1,2,3\n4,5,6\n\n7,8\n")
    with pytest.raises(DataFormatError) as err:
        read_dataset([f], "text/csv")
    assert err.value.source == f and err.value.line == 4
    assert "bad.csv, line 4" in str(err.value)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    f = _write(tmp_path / "bad.csv", "1,2,3\n4,5,6\n7,abc,9\n")
    with pytest.raises(DataFormatError, match=r"line 3: column 2: 'abc'") as err:
        read_dataset([f], "text/csv")
    assert err.value.line == 3


def test_error_in_second_gzipped_file(tmp_path):
    d = tmp_path / "ch"
    d.mkdir()
    _write(d / "a.csv", "1,2\n")
    _write(d / "b.csv.gz", gzip.compress(b"1,2\n3,4\nx,5\n"))
    with pytest.raises(DataFormatError) as err:
        read_dataset([str(d)], "text/csv")
    assert err.value.source.endswith("b.csv.gz") and err.value.line == 3


def test_files_of_different_width(tmp_path):
    d = tmp_path / "ch"
    d.mkdir()
    _write(d / "a.csv", "1,2\n")
    _write(d / "b.csv", "1,2,3\n")
    with pytest.raises(DataFormatError) as err:
        read_dataset([str(d)], "text/csv")
    assert err.value.source.endswith("b.csv") and err.value.line == 1


def test_error_on_a_late_line_of_a_big_file(tmp_path):
    rows = ["1,2,3"] * 20_000 + ["1,2,3,4"] + ["1,2,3"] * 10
    f = _write(tmp_path / "big.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataFormatError) as err:
        read_dataset([f], "text/csv")
    assert err.value.line == 20_001
    with pytest.raises(DataFormatError) as err:
        list(iter_batches([f], "text/csv", batch_size=1000))
    assert err.value.line == 20_001


def test_cells_pyarrow_refuses_but_python_accepts_are_read(tmp_path):
    # "1_0" is a number to Python's float() but not to pyarrow: the slow path reads it.
    f = _write(tmp_path / "d.csv", "1,2\n0,1_0\n")
    ds = read_dataset([f], "text/csv")
    np.testing.assert_array_equal(ds.X, [[2], [10]])
    batches = list(iter_batches([f], "text/csv"))
    np.testing.assert_array_equal(batches[0].X, [[2], [10]])


def test_no_records(tmp_path):
    f = _write(tmp_path / "empty.csv", "\n\n")
    with pytest.raises(DataFormatError, match="contains no records") as err:
        read_dataset([f], "text/csv")
    assert f in str(err.value)
    with pytest.raises(DataFormatError, match="contains no records"):
        list(iter_batches([f], "text/csv"))


def test_n_features_is_validated_for_dense(tmp_path):
    f = _write(tmp_path / "d.csv", "1,2,3\n")
    assert read_dataset([f], "text/csv", n_features=2).n_features == 2
    with pytest.raises(DataFormatError, match="3 are expected"):
        read_dataset([f], "text/csv", n_features=3)


def test_label_size_larger_than_row(tmp_path):
    f = _write(tmp_path / "d.csv", "1,2\n")
    with pytest.raises(DataFormatError, match="label_size"):
        read_dataset([f], "text/csv;label_size=3")


def test_unsupported_content_type(tmp_path):
    f = _write(tmp_path / "d.csv", "1,2\n")
    with pytest.raises(UnsupportedContentTypeError):
        read_dataset([f], "application/json")
    with pytest.raises(UnsupportedContentTypeError):
        read_dataset([f], "image/png")


def test_iter_batches_matches_read_dataset(tmp_path):
    ds = dense_dataset(2_345, 7, weights=True)
    f = str(tmp_path / "d.csv")
    write_dataset(ds, f, "text/csv")
    batches = list(iter_batches([f], "text/csv", batch_size=500, weight_column=True))
    assert [b.n_rows for b in batches] == [500, 500, 500, 500, 345]
    full = read_dataset([f], "text/csv", weight_column=True)
    got = Dataset(
        X=np.concatenate([b.X for b in batches]),
        y=np.concatenate([b.y for b in batches]),
        weights=np.concatenate([b.weights for b in batches]),
    )
    assert_same(got, full)
    assert_same(full, ds)


def test_small_bodies_of_plain_numbers_parse_as_the_exact_path() -> None:
    """Request bodies of plain numbers take one numpy call; on random bodies built from the
    characters it accepts (and a few it does not), it gives the exact path's matrix or steps
    aside, and the exact path still names the bad line."""
    import io
    import random

    import numpy as np

    from openmaker.data import csv as csvmod
    from openmaker.errors import DataFormatError

    rng = random.Random(0)
    alphabet = ["1", "2", "0", "9", ".", "e", "E", "+", "-", " ", "\t", "\r", "", "nan", "x"]
    taken = 0
    for trial in range(3000):
        ncols = rng.randint(1, 4)
        cells = []
        for _ in range(rng.randint(1, 4) * ncols):
            if rng.random() < 0.8:
                cells.append(repr(rng.uniform(-1e3, 1e3) * 10 ** rng.randint(-8, 8)))
            else:
                cells.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))))
        lines = [",".join(cells[i : i + ncols]) for i in range(0, len(cells), ncols)]
        body = ("\n" if trial % 3 else "\r\n").join(lines).encode() + b"\n" * (trial % 2)
        fast = csvmod.plain_numbers(body, ",", ncols)
        try:
            rows = list(csvmod.python_rows(io.BytesIO(body), ",", ncols, None))
            exact = np.array(rows, dtype=np.float32).reshape(-1, ncols)
        except DataFormatError:
            assert fast is None, body
            continue
        if fast is not None:
            taken += 1
            assert fast.dtype == np.float32
            np.testing.assert_array_equal(fast, exact)
    assert taken > 1000
    with pytest.raises(DataFormatError, match="line 2"):
        csvmod.parse_bytes(b"1,2\n3,x\n")
