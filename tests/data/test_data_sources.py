"""Listing and opening URIs."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest

from openmaker.data import list_files, open_uri
from openmaker.errors import DataSourceError


def _touch(path, data: bytes = b"x") -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path)


def test_single_file_is_returned_as_is(tmp_path):
    f = _touch(tmp_path / "a.csv")
    assert list_files(f) == [f]
    assert list_files("file://" + f) == [f]


def test_folder_is_listed_recursively_sorted_skipping_hidden(tmp_path):
    _touch(tmp_path / "b.csv")
    _touch(tmp_path / "a.csv")
    _touch(tmp_path / "sub" / "c.csv")
    _touch(tmp_path / ".hidden.csv")
    _touch(tmp_path / "_SUCCESS")
    _touch(tmp_path / "_tmp" / "d.csv")
    _touch(tmp_path / ".ipynb_checkpoints" / "e.csv")
    got = list_files(str(tmp_path))
    assert got == [
        str(tmp_path / "a.csv"),
        str(tmp_path / "b.csv"),
        str(tmp_path / "sub" / "c.csv"),
    ]
    assert list_files("file://" + str(tmp_path)) == got


def test_missing_or_empty_location_names_the_uri(tmp_path):
    with pytest.raises(DataSourceError, match="nope") as err:
        list_files(str(tmp_path / "nope"))
    assert err.value.uri == str(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    _touch(tmp_path / "empty" / "_SUCCESS")
    with pytest.raises(DataSourceError, match="empty"):
        list_files(str(tmp_path / "empty"))


def test_open_uri_gunzips_by_magic_not_by_name(tmp_path):
    f = _touch(tmp_path / "plain.csv", gzip.compress(b"1,2\n"))
    with open_uri(f) as fh:
        assert fh.read() == b"1,2\n"
    g = _touch(tmp_path / "notgz.gz", b"3,4\n")
    with open_uri(g) as fh:
        assert fh.read() == b"3,4\n"
    with open_uri(f, "r") as fh:
        assert fh.read() == "1,2\n"


def test_open_uri_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(DataSourceError), open_uri(str(tmp_path / "missing.csv")) as fh:
        fh.read()


def test_open_uri_writes(tmp_path):
    f = str(tmp_path / "w.bin")
    with open_uri(f, "wb") as fh:
        fh.write(b"abc")
    with open_uri("file://" + f) as fh:
        assert fh.read() == b"abc"


def test_importing_the_package_is_light():
    code = (
        "import sys, openmaker.data\n"
        "heavy = [m for m in ('pyarrow', 'pandas', 'google.protobuf', 'scipy', 's3fs')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
