"""Other ways in: mounted under ``/s3`` in a larger app, s3fs / aiobotocore, and openmaker's own
``s3://`` readers and training channels pointed at this server."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import ACCESS_KEY, SECRET_KEY, Served, serve


@pytest.fixture()
def mounted(tmp_path, home):  # type: ignore[no-untyped-def]
    """The S3 app mounted at /s3 in a FastAPI app (as ``openmaker server`` mounts it)."""
    fastapi = pytest.importorskip("fastapi")
    from openmaker.api.s3 import create_s3_app

    parent = fastapi.FastAPI()

    @parent.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    parent.mount("/s3", create_s3_app(tmp_path / "store", min_part_size=64 * 1024))
    with serve(parent, mount="/s3") as (endpoint, port):
        yield Served(endpoint, tmp_path / "store", port)


@pytest.fixture()
def s3_env(monkeypatch, mounted):  # type: ignore[no-untyped-def]
    """Point openmaker's s3:// URIs (fsspec / s3fs) at the mounted server."""
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    for name, value in {
        "OPENMAKER_S3_ENDPOINT_URL": mounted.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = mounted.client()
    client.create_bucket(Bucket="bucket")
    return client


def test_boto3_through_a_mount_point(mounted):
    import httpx
    from boto3.s3.transfer import TransferConfig

    assert httpx.get(mounted.endpoint.removesuffix("/s3") + "/ping").json() == {"status": "ok"}
    s3 = mounted.client()
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="dir/a.txt", Body=b"hello")
    assert s3.get_object(Bucket="bucket", Key="dir/a.txt")["Body"].read() == b"hello"
    listed = s3.list_objects_v2(Bucket="bucket", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["dir/"]
    data = np.random.default_rng(0).bytes(6 * 1024 * 1024)
    config = TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    import io

    s3.upload_fileobj(io.BytesIO(data), "bucket", "big", Config=config)
    assert s3.get_object(Bucket="bucket", Key="big")["Body"].read() == data
    assert (mounted.root / "bucket" / "dir" / "a.txt").read_bytes() == b"hello"


def test_prefix_argument_serves_the_full_path(tmp_path, home):
    from openmaker.api.s3 import create_s3_app

    app = create_s3_app(tmp_path / "store", prefix="/s3")
    with serve(app, mount="/s3") as (endpoint, port):
        s3 = Served(endpoint, tmp_path / "store", port).client()
        s3.create_bucket(Bucket="bucket")
        s3.put_object(Bucket="bucket", Key="k", Body=b"v")
        assert [o["Key"] for o in s3.list_objects(Bucket="bucket")["Contents"]] == ["k"]
        assert (tmp_path / "store" / "bucket" / "k").read_bytes() == b"v"


def test_s3fs_reads_writes_and_lists(s3_env):
    import s3fs

    from openmaker import uris

    fs, path = uris.filesystem("s3://bucket/x/data.bin")
    assert isinstance(fs, s3fs.S3FileSystem)
    payload = np.random.default_rng(1).bytes(3 * 1024 * 1024)
    with fs.open(path, "wb") as fh:
        fh.write(payload)
    with fs.open(path, "rb", block_size=256 * 1024) as fh:
        fh.seek(1000)
        assert fh.read(5000) == payload[1000:6000]  # a ranged GET
    assert fs.cat_file(path) == payload
    fs.pipe_file("bucket/x/y/z.txt", b"z")
    assert fs.ls("bucket/x", detail=False) == ["bucket/x/data.bin", "bucket/x/y"]
    assert sorted(fs.find("bucket/x")) == ["bucket/x/data.bin", "bucket/x/y/z.txt"]
    assert fs.info("bucket/x/data.bin")["size"] == len(payload)
    fs.rm("bucket/x", recursive=True)
    assert s3_env.list_objects_v2(Bucket="bucket")["KeyCount"] == 0


def test_openmaker_readers_read_s3_uris_from_this_server(s3_env):
    from openmaker.data import list_files, read_dataset

    s3_env.put_object(Bucket="bucket", Key="ch/part-0.csv", Body=b"1,2,3\n4,5,6\n")
    s3_env.put_object(Bucket="bucket", Key="ch/part-1.csv", Body=b"7,8,9\n")
    assert list_files("s3://bucket/ch/") == [
        "s3://bucket/ch/part-0.csv",
        "s3://bucket/ch/part-1.csv",
    ]
    ds = read_dataset(["s3://bucket/ch/"], "text/csv")
    np.testing.assert_array_equal(ds.y, [1, 4, 7])


@pytest.mark.slow
def test_training_channel_is_read_from_this_server(s3_env, tmp_path):
    from openmaker import Estimator, load_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.01 * rng.normal(size=200)
    rows = "\n".join(",".join(f"{v:.6f}" for v in (t, *x)) for t, x in zip(y, X, strict=True))
    s3_env.put_object(Bucket="bucket", Key="train.csv", Body=rows.encode() + b"\n")
    est = Estimator(
        "xgboost", {"num_round": "5", "max_depth": "2"}, output_path="s3://bucket/models"
    )
    job = est.fit("s3://bucket/train.csv", content_type="text/csv")
    assert job.status == "Completed", job.record.failure_reason
    key = f"models/{job.name}/output/model.tar.gz"
    assert s3_env.head_object(Bucket="bucket", Key=key)["ContentLength"] > 0
    model = load_model(est.model_data)
    out, _ = model.predict(b"0.1,0.2,0.3", "text/csv", "text/csv")
    float(out.decode().strip())


@pytest.mark.slow
def test_sagemaker_sdk_uploads_lists_and_downloads(server, monkeypatch, tmp_path):
    sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")
    import boto3
    from sagemaker.s3 import S3Downloader, S3Uploader

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint)
    boto_session = boto3.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )
    session = sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker", endpoint_url="http://127.0.0.1:9"),
    )
    boto_session.client("s3").create_bucket(Bucket="sdk-bucket")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "train.csv").write_text("1,2\n")
    (data / "sub" / "x.csv").write_text("3,4\n")
    assert session.upload_data(str(data), bucket="sdk-bucket", key_prefix="input") == (
        "s3://sdk-bucket/input"
    )
    assert session.list_s3_files("sdk-bucket", "input") == ["input/sub/x.csv", "input/train.csv"]
    assert S3Downloader.read_file("s3://sdk-bucket/input/train.csv", session) == "1,2\n"
    S3Uploader.upload_string_as_file_body("hello", "s3://sdk-bucket/out/h.txt", None, session)
    assert session.read_s3_file("sdk-bucket", "out/h.txt") == "hello"
    S3Downloader.download(
        "s3://sdk-bucket/input", str(tmp_path / "back"), sagemaker_session=session
    )
    assert (tmp_path / "back" / "sub" / "x.csv").read_text() == "3,4\n"
