"""A training job that reads its data from S3 and writes its model to S3 (moto's server)."""

from __future__ import annotations

import socket

import pytest

from ..conftest import make_regression, write_csv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def s3(monkeypatch):
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    boto3 = pytest.importorskip("boto3")
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


def test_job_reads_and_writes_s3(home, tmp_path, s3):
    from openmaker import Estimator, load_model

    X, y = make_regression()
    local = write_csv(tmp_path / "train.csv", X, y)
    s3.upload_file(str(local), "bucket", "data/train/part-0.csv")
    s3.upload_file(str(local), "bucket", "data/train/part-1.csv")
    est = Estimator(
        "xgboost",
        {"num_round": "5", "max_depth": "2"},
        output_path="s3://bucket/models",
    )
    for mode in ("File", "Pipe"):
        job = est.fit("s3://bucket/data/train/", content_type="text/csv", input_mode=mode)
        assert job.status == "Completed", job.record.failure_reason
        assert est.model_data == f"s3://bucket/models/{job.name}/output/model.tar.gz"
        head = s3.head_object(Bucket="bucket", Key=f"models/{job.name}/output/model.tar.gz")
        assert head["ContentLength"] > 0
    model = load_model(est.model_data)
    out, ctype = model.predict(b"0.1,0.2,0.3,0.4,0.5", "text/csv", "text/csv")
    assert ctype.startswith("text/csv")
    float(out.decode().strip())


def test_unreadable_s3_uri_fails_the_job_naming_it(home, s3):
    from openmaker import Estimator
    from openmaker.errors import AlgorithmError

    with pytest.raises(AlgorithmError, match="s3://bucket/missing"):
        Estimator("xgboost", {"num_round": "2"}).fit(
            "s3://bucket/missing/", content_type="text/csv"
        )
