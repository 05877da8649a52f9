"""SigV4 verification against signatures made by botocore itself (real clients, captured
before they are sent), with wrong secrets, unknown keys, skewed clocks and tampering."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from openmaker.api import auth

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDENTIALS = {KEY: SECRET, "OTHERKEY": "other-secret"}
ENDPOINT = "http://127.0.0.1:8080"


class _Captured(Exception):
    def __init__(self, request) -> None:  # type: ignore[no-untyped-def]
        super().__init__("captured")
        self.request = request


def _capture(client, call):  # type: ignore[no-untyped-def]
    """Run a boto3 call but stop it right before sending; returns what verify() is given."""

    def stop(request, **_):  # type: ignore[no-untyped-def]
        raise _Captured(request)

    client.meta.events.register("before-send", stop)
    with pytest.raises(_Captured) as caught:
        call(client)
    request = caught.value.request
    url = urlsplit(request.url)
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers["Host"] = url.netloc
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return request.method, url.path, url.query, headers, body or b""


def _client(service: str, *, secret: str = SECRET, endpoint: str = ENDPOINT, **config):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-west-2",
        aws_access_key_id=KEY,
        aws_secret_access_key=secret,
        config=Config(**config),
    )


CALLS = {
    "sagemaker-json": ("sagemaker", lambda c: c.describe_training_job(TrainingJobName="job-1")),
    "sagemaker-runtime": (
        "sagemaker-runtime",
        lambda c: c.invoke_endpoint(
            EndpointName="my-endpoint", Body=b"1,2,3", ContentType="text/csv"
        ),
    ),
    "s3-put": ("s3", lambda c: c.put_object(Bucket="bucket", Key="a b/c+d~é", Body=b"data")),
    "s3-list-query": (
        "s3",
        lambda c: c.list_objects_v2(Bucket="bucket", Prefix="a b/+é=&", StartAfter="x y"),
    ),
    "s3-multipart": (
        "s3",
        lambda c: c.upload_part(
            Bucket="bucket", Key="k", UploadId="u/1+", PartNumber=2, Body=b"x" * 100
        ),
    ),
    "logs": ("logs", lambda c: c.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_botocore_signatures_verify(name):
    service, call = CALLS[name]
    method, path, query, headers, body = _capture(_client(service), call)
    assert auth.verify(method, path, query, headers, body, CREDENTIALS) == KEY
    streamed = (
        auth.verify(method, path, query, headers, None, CREDENTIALS) if service == "s3" else KEY
    )
    assert streamed == KEY  # S3 bodies may be checked by the caller while streaming


@pytest.mark.parametrize("name", list(CALLS))
def test_wrong_secret_is_refused(name):
    service, call = CALLS[name]
    captured = _capture(_client(service, secret="not-the-secret"), call)
    with pytest.raises(auth.SignatureMismatchError) as exc:
        auth.verify(*captured, CREDENTIALS)
    assert (exc.value.code, exc.value.s3_code, exc.value.http_status) == (
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        403,
    )


def test_unknown_key_and_missing_signature():
    captured = _capture(_client("sagemaker"), CALLS["sagemaker-json"][1])
    with pytest.raises(auth.InvalidAccessKeyError) as exc:
        auth.verify(*captured, {"SOMEONE": "else"})
    assert (exc.value.code, exc.value.s3_code) == (
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
    )
    method, path, query, headers, body = captured
    unsigned = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    with pytest.raises(auth.MissingAuthenticationError):
        auth.verify(method, path, query, unsigned, body, CREDENTIALS)


def test_tampering_with_any_signed_part_is_detected():
    method, path, query, headers, body = _capture(_client("sagemaker"), CALLS["sagemaker-json"][1])
    tampered = [
        ("POST", path, query, headers, body.replace(b"job-1", b"job-2")),
        ("PUT", path, query, headers, body),
        (method, "/other", query, headers, body),
        (method, path, "x=1", headers, body),
        (method, path, query, {**headers, "X-Amz-Target": "SageMaker.DeleteModel"}, body),
        (method, path, query, {**headers, "Host": "evil:8080"}, body),
    ]
    for args in tampered:
        with pytest.raises(auth.SignatureMismatchError):
            auth.verify(*args, CREDENTIALS)
    # headers that were not signed may change (proxies add some)
    assert (
        auth.verify(
            method, path, query, {**headers, "X-Forwarded-For": "1.2.3.4"}, body, CREDENTIALS
        )
        == KEY
    )


def test_s3_payload_hash_must_match_the_body():
    captured = list(_capture(_client("s3"), CALLS["s3-put"][1]))
    captured[4] = b"other"
    with pytest.raises(auth.PayloadHashMismatchError) as exc:
        auth.verify(*captured, CREDENTIALS)
    assert (exc.value.s3_code, exc.value.http_status) == ("XAmzContentSHA256Mismatch", 400)


def test_unsigned_payload_over_https():
    captured = _capture(
        _client("s3", endpoint="https://127.0.0.1:8443", s3={"payload_signing_enabled": False}),
        lambda c: c.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "k"}]}),
    )
    assert captured[3]["X-Amz-Content-SHA256"] == auth.UNSIGNED_PAYLOAD
    assert auth.verify(*captured, CREDENTIALS) == KEY
    stream = _capture(
        _client("s3", endpoint="https://127.0.0.1:8443"),
        lambda c: c.put_object(Bucket="bucket", Key="k", Body=b"x"),
    )
    assert stream[3]["X-Amz-Content-SHA256"] == auth.STREAMING_UNSIGNED_TRAILER
    assert auth.verify(*stream, CREDENTIALS) == KEY


def test_clock_skew_of_fifteen_minutes():
    captured = _capture(_client("sagemaker"), CALLS["sagemaker-json"][1])
    signed_at = dt.datetime.strptime(captured[3]["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.UTC
    )
    for minutes in (-14, 14):
        now = signed_at + dt.timedelta(minutes=minutes)
        assert auth.verify(*captured, CREDENTIALS, now=now) == KEY
    for minutes in (-16, 16):
        with pytest.raises(auth.RequestTimeSkewedError) as exc:
            auth.verify(*captured, CREDENTIALS, now=signed_at + dt.timedelta(minutes=minutes))
        assert exc.value.s3_code == "RequestTimeTooSkewed"


def test_presigned_urls():
    s3 = _client("s3", signature_version="s3v4")
    url = urlsplit(
        s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bucket", "Key": "a b/c"}, ExpiresIn=600
        )
    )
    headers = {"host": url.netloc}
    assert auth.verify("GET", url.path, url.query, headers, None, CREDENTIALS) == KEY
    signed = auth.authenticate("GET", url.path, url.query, headers, None, CREDENTIALS)
    assert signed.presigned and signed.service == "s3" and signed.region == "us-west-2"
    start = dt.datetime.strptime(signed.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    with pytest.raises(auth.PresignedUrlExpiredError) as exc:
        auth.verify(
            "GET",
            url.path,
            url.query,
            headers,
            None,
            CREDENTIALS,
            now=start + dt.timedelta(seconds=601),
        )
    assert exc.value.s3_code == "AccessDenied"
    for path, query in [
        (url.path.replace("c", "d"), url.query),
        (url.path, url.query.replace("X-Amz-Expires=600", "X-Amz-Expires=6000")),
    ]:
        with pytest.raises(auth.SignatureMismatchError):
            auth.verify("GET", path, query, headers, None, CREDENTIALS)
    with pytest.raises(auth.MalformedAuthorizationError):
        auth.verify(
            "GET",
            url.path,
            url.query.replace("X-Amz-Expires=600", "X-Amz-Expires=0"),
            headers,
            None,
            CREDENTIALS,
        )


def test_date_header_session_token_and_odd_paths():
    credentials = Credentials(KEY, SECRET, token="session-token")
    request = AWSRequest(
        "POST",
        "http://api.local:9000/foo%20bar//baz/./x?b=2&a=1&a=0",
        data=b"{}",
        headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )
    SigV4Auth(credentials, "sagemaker", "eu-central-1").add_auth(request)
    url = urlsplit(request.url)
    headers = {**dict(request.headers.items()), "Host": url.netloc}
    assert "X-Amz-Date" not in headers and "X-Amz-Security-Token" in headers
    now = parsedate_to_datetime(headers["Date"])  # botocore re-dates the request
    assert auth.verify("POST", url.path, url.query, headers, b"{}", CREDENTIALS, now=now) == KEY


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS AKIDEXAMPLE:abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, "
        "SignedHeaders=x-amz-date, Signature=00",
    ],
)
def test_malformed_authorization(authorization):
    headers = {
        "Authorization": authorization,
        "X-Amz-Date": "20240101T000000Z",
        "Host": "h",
        "x-amz-content-sha256": auth.UNSIGNED_PAYLOAD,
    }
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(auth.MalformedAuthorizationError) as exc:
        auth.verify("GET", "/", "", headers, None, CREDENTIALS, now=now)
    assert (exc.value.code, exc.value.s3_code, exc.value.http_status) == (
        "IncompleteSignatureException",
        "AuthorizationHeaderMalformed",
        400,
    )
