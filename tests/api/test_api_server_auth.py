"""``--auth``: the server accepts requests SigV4-signed by its key pairs, on every route, and
refuses the rest in each protocol's error shape; the CLI's credential sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from botocore.exceptions import ClientError

from .conftest import ApiServer

pytest.importorskip("openmaker.api.auth", reason="SigV4 verification is not installed")
KEYS = {"AKIDOPENMAKER": "s3cr3t", "AKIDOTHER": "other-secret"}


@pytest.fixture(scope="module")
def secured(api_home: Path) -> Iterator[ApiServer]:
    pytest.importorskip("boto3")
    server = ApiServer(credentials=KEYS)
    try:
        yield server
    finally:
        server.close()


def _client(api: ApiServer, service: str, key: str, secret: str, **kw: Any) -> Any:
    return api.client(service, aws_access_key_id=key, aws_secret_access_key=secret, **kw)


def test_signed_requests_pass(secured: ApiServer) -> None:
    for key, secret in KEYS.items():
        sm = _client(secured, "sagemaker", key, secret)
        assert sm.list_models()["Models"] == []
    logs = _client(secured, "logs", "AKIDOPENMAKER", "s3cr3t")
    assert logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"] == []


def test_wrong_secret_and_unknown_key_are_refused(secured: ApiServer) -> None:
    with pytest.raises(ClientError) as exc:
        _client(secured, "sagemaker", "AKIDOPENMAKER", "wrong").list_models()
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:
        _client(secured, "sagemaker", "AKIDNOBODY", "s3cr3t").list_models()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_requests_are_refused_on_every_route(secured: ApiServer) -> None:
    response = httpx.post(
        secured.url + "/", content=b"{}", headers={"X-Amz-Target": "SageMaker.ListModels"}
    )
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    runtime = httpx.post(secured.url + "/endpoints/x/invocations", content=b"1,2")
    assert runtime.status_code == 403
    assert runtime.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    s3 = httpx.get(secured.url + "/s3/")
    assert s3.status_code == 403 and b"<Code>AccessDenied</Code>" in s3.content


def test_the_runtime_checks_signatures(secured: ApiServer) -> None:
    runtime = _client(secured, "sagemaker-runtime", "AKIDOPENMAKER", "s3cr3t")
    with pytest.raises(runtime.exceptions.ValidationError):  # signed: reaches the runtime
        runtime.invoke_endpoint(EndpointName="missing", Body=b"1,2", ContentType="text/csv")


def test_the_mounted_s3_checks_signatures(secured: ApiServer) -> None:
    pytest.importorskip("openmaker.api.s3", reason="the S3 subset is not installed")
    good = _client(secured, "s3", "AKIDOPENMAKER", "s3cr3t", endpoint_url=secured.url + "/s3")
    good.create_bucket(Bucket="signed")
    good.put_object(Bucket="signed", Key="k", Body=b"v")
    bad = _client(secured, "s3", "AKIDOPENMAKER", "nope", endpoint_url=secured.url + "/s3")
    with pytest.raises(ClientError) as exc:
        bad.list_objects_v2(Bucket="signed")
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_credential_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openmaker.cli.server import parse_credentials, resolve_credentials

    assert parse_credentials("A:1, B:2\n# comment\nC:3") == {"A": "1", "B": "2", "C": "3"}
    assert parse_credentials('{"A": "1"}') == {"A": "1"}
    with pytest.raises(click.BadParameter):
        parse_credentials("no-secret")
    file = tmp_path / "keys"
    file.write_text("FILEKEY:filesecret\n")
    assert resolve_credentials(file) == {"FILEKEY": "filesecret"}
    monkeypatch.setenv("OPENMAKER_API_CREDENTIALS", "ENVKEY:envsecret")
    assert resolve_credentials(None) == {"ENVKEY": "envsecret"}
    monkeypatch.delenv("OPENMAKER_API_CREDENTIALS")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AWSKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "awssecret")
    assert resolve_credentials(None) == {"AWSKEY": "awssecret"}
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(click.UsageError):
        resolve_credentials(None)


def test_the_health_check_needs_no_signature(secured: ApiServer) -> None:
    assert httpx.get(secured.url + "/ping").status_code == 200
