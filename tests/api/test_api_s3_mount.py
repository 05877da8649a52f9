"""The S3 subset mounted at ``/s3`` of the API server: boto3 and s3fs reach it with a path
prefix in ``endpoint_url``, and a training job reads its data from and writes its model to it
(offline use: no S3 anywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import XGBOOST_IMAGE, ApiServer, channel, fast_waiter, regression, training_request

pytest.importorskip("openmaker.api.s3", reason="the S3 subset is not installed")
BUCKET = "offline"


@pytest.fixture(scope="module")
def s3(api: ApiServer) -> Any:
    client = api.client("s3", endpoint_url=f"{api.url}/s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def own_s3(api: ApiServer, s3: Any) -> Any:
    """``s3://`` URIs of requests resolve to this server's ``/s3`` (as ``openmaker server``
    sets up when no S3 endpoint is configured)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENMAKER_S3_ENDPOINT_URL", f"{api.url}/s3")
        yield s3


def test_boto3_reaches_the_mounted_s3(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="notes/a.txt", Body=b"hello")
    assert s3.get_object(Bucket=BUCKET, Key="notes/a.txt")["Body"].read() == b"hello"
    ranged = s3.get_object(Bucket=BUCKET, Key="notes/a.txt", Range="bytes=1-3")
    assert ranged["Body"].read() == b"ell"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="notes/")["Contents"]]
    assert keys == ["notes/a.txt"]
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("key", ["../../escape.txt", "a/../../../escape.txt", "./x/../../y"])
def test_keys_cannot_escape_the_store(s3: Any, api_home: Path, key: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["Error"]["Code"]
    assert not any(p.name in ("escape.txt", "y") for p in api_home.parent.rglob("*"))


@pytest.mark.slow
def test_a_training_job_reads_and_writes_the_own_s3(own_s3: Any, sm: Any, api_home: Path) -> None:
    X, y = regression(150)
    body = "\n".join(",".join(f"{v:.5g}" for v in (t, *row)) for t, row in zip(y, X, strict=True))
    own_s3.put_object(Bucket=BUCKET, Key="data/train/part-0.csv", Body=body.encode())
    request = training_request(
        "own-s3", XGBOOST_IMAGE, [channel("train", f"s3://{BUCKET}/data/train/")],
        f"s3://{BUCKET}/models", {"num_round": "3", "objective": "reg:squarederror"},
    )  # fmt: skip
    sm.create_training_job(**request)
    waiter, config = fast_waiter(sm, "training_job_completed_or_stopped")
    waiter.wait(TrainingJobName="own-s3", WaiterConfig=config)
    described = sm.describe_training_job(TrainingJobName="own-s3")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://{BUCKET}/models/own-s3/output/model.tar.gz"
    )
    head = own_s3.head_object(Bucket=BUCKET, Key="models/own-s3/output/model.tar.gz")
    assert head["ContentLength"] > 0
    assert (api_home / "s3" / BUCKET / "models").exists()  # on disk: survives a restart


def test_server_points_s3_uris_at_itself_when_unconfigured(monkeypatch: Any) -> None:
    from openmaker.cli.server import use_own_s3

    monkeypatch.delenv("OPENMAKER_S3_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    assert use_own_s3("0.0.0.0", 9999, {"AK": "SK"}) == "http://127.0.0.1:9999/s3"
    import os

    assert os.environ["OPENMAKER_S3_ENDPOINT_URL"] == "http://127.0.0.1:9999/s3"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AK"
    monkeypatch.setenv("OPENMAKER_S3_ENDPOINT_URL", "http://minio:9000")
    assert use_own_s3("127.0.0.1", 9999, None) is None
