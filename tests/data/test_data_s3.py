"""s3:// through fsspec against moto's standalone server."""

from __future__ import annotations

import gzip
import socket

import numpy as np
import pytest

from openmaker.data import (
    convert,
    iter_batches,
    list_files,
    open_uri,
    read_dataset,
    write_dataset,
)
from openmaker.errors import DataSourceError

from .data_helpers import assert_same, dense_dataset, sparse_dataset

pytestmark = pytest.mark.s3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def s3(monkeypatch):
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "OPENMAKER_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="bucket")
    yield client
    server.stop()


@pytest.mark.parametrize(
    ("content_type", "key"),
    [
        ("text/csv", "d/train.csv"),
        ("text/libsvm", "d/train.libsvm.gz"),
        ("application/x-recordio-protobuf", "d/train.pbr"),
        ("application/x-parquet", "d/train.parquet"),
    ],
)
def test_write_then_read(s3, content_type, key):
    ds = sparse_dataset(60, 8) if content_type == "text/libsvm" else dense_dataset(60, 8)
    uri = f"s3://bucket/{key}"
    write_dataset(ds, uri, content_type, gzip=key.endswith(".gz"))
    assert list_files(uri) == [uri]
    assert_same(read_dataset([uri], content_type, n_features=8), ds)
    batches = list(iter_batches([uri], content_type, batch_size=25, n_features=8))
    assert [b.n_rows for b in batches] == [25, 25, 10]


def test_prefix_listing_skips_hidden_and_streams_gzip(s3):
    s3.put_object(Bucket="bucket", Key="ch/part-0.csv", Body=b"1,2\n")
    s3.put_object(Bucket="bucket", Key="ch/part-1.csv.gz", Body=gzip.compress(b"3,4\n5,6\n"))
    s3.put_object(Bucket="bucket", Key="ch/_SUCCESS", Body=b"")
    s3.put_object(Bucket="bucket", Key="ch/.hidden", Body=b"junk")
    s3.put_object(Bucket="bucket", Key="other/x.csv", Body=b"9,9\n")
    assert list_files("s3://bucket/ch") == [
        "s3://bucket/ch/part-0.csv",
        "s3://bucket/ch/part-1.csv.gz",
    ]
    assert list_files("s3://bucket/ch/part-") == list_files("s3://bucket/ch/")
    ds = read_dataset(["s3://bucket/ch/"], "text/csv")
    np.testing.assert_array_equal(ds.y, [1, 3, 5])
    rows = [b.n_rows for b in iter_batches(["s3://bucket/ch"], "text/csv", batch_size=2)]
    assert rows == [2, 1]
    with open_uri("s3://bucket/ch/part-1.csv.gz") as fh:
        assert fh.read() == b"3,4\n5,6\n"


def test_convert_between_buckets_paths(s3):
    write_dataset(dense_dataset(30, 3), "s3://bucket/in/a.csv", "text/csv")
    assert convert("s3://bucket/in/", "s3://bucket/out/a.pbr", "recordio-protobuf") == 30
    assert read_dataset(["s3://bucket/out/a.pbr"], "recordio-protobuf").n_rows == 30


def test_missing_key(s3):
    with pytest.raises(DataSourceError, match="nothing"):
        list_files("s3://bucket/nothing/")
