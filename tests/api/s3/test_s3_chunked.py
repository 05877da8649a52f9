"""aws-chunked bodies: AWS's documented signed example, botocore's trailing checksums over
HTTPS, and malformed or tampered bodies."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import random
import zlib
from pathlib import Path

import httpx
import pytest

from openmaker.api import auth
from openmaker.api.s3.chunked import AwsChunkedDecoder
from openmaker.api.s3.errors import IncompleteBody

from .conftest import ACCESS_KEY, SECRET_KEY, Served, serve, start

# The example of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
DOC_KEY, DOC_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_HEADERS = {
    "Host": "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    ),
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "Content-Encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "Content-Length": "66824",
}
DOC_BODY = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + b"a" * 65536
    + b"\r\n"
    + b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + b"a" * 1024
    + b"\r\n"
    + b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
)


def _doc_request() -> auth.SignedRequest:
    now = dt.datetime(2013, 5, 24, 0, 5, tzinfo=dt.UTC)
    return auth.authenticate(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        DOC_HEADERS,
        None,
        {DOC_KEY: DOC_SECRET},
        now=now,
    )


def test_aws_documented_streaming_example_verifies():
    signed = _doc_request()
    assert len(DOC_BODY) == int(DOC_HEADERS["Content-Length"])
    decoder = AwsChunkedDecoder(signed.chunk_verifier())
    rng = random.Random(1)
    out, pos = [], 0
    while pos < len(DOC_BODY):  # in pieces of any size, as a server receives them
        step = rng.choice([1, 2, 7, 100, 4096, 70000])
        out += decoder.feed(DOC_BODY[pos : pos + step])
        pos += step
    decoder.finish()
    assert b"".join(out) == b"a" * 66560


def test_tampered_or_truncated_streaming_bodies_fail():
    tampered = DOC_BODY.replace(b"a" * 1024, b"a" * 1023 + b"b")
    decoder = AwsChunkedDecoder(_doc_request().chunk_verifier())
    with pytest.raises(auth.SignatureMismatchError):
        decoder.feed(tampered)
    decoder = AwsChunkedDecoder(_doc_request().chunk_verifier())
    decoder.feed(DOC_BODY[:-60])
    with pytest.raises(IncompleteBody):
        decoder.finish()
    for bad in (b"zz\r\n", b"5\r\nhelloXX\r\n", b"-5\r\n"):
        with pytest.raises(IncompleteBody):
            AwsChunkedDecoder().feed(bad)


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _trailer_put(served: Served, key: str, body: bytes, trailer: str, **extra: str):
    encoded = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n" + trailer.encode() + b"\r\n\r\n"
    headers = {
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(body)),
        **extra,
    }
    return httpx.put(f"{served.endpoint}/bucket/{key}", content=encoded, headers=headers)


def test_unsigned_trailer_bodies_are_decoded_and_checked(s3, server):
    ok = _trailer_put(server, "t", b"hello", f"x-amz-checksum-crc32:{_crc32(b'hello')}")
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-amz-checksum-crc32"] == _crc32(b"hello")
    got = s3.get_object(Bucket="bucket", Key="t", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"hello"
    assert got["ChecksumCRC32"] == _crc32(b"hello")
    assert "aws-chunked" not in got.get("ContentEncoding", "")
    bad = _trailer_put(server, "t2", b"hello", f"x-amz-checksum-crc32:{_crc32(b'other')}")
    assert (bad.status_code, "<Code>BadDigest</Code>" in bad.text) == (400, True)
    short = _trailer_put(
        server,
        "t3",
        b"hello",
        f"x-amz-checksum-crc32:{_crc32(b'hello')}",
        **{"x-amz-decoded-content-length": "6"},
    )
    assert (short.status_code, "<Code>IncompleteBody</Code>" in short.text) == (400, True)
    missing = _trailer_put(server, "t4", b"hello", "x-amz-other:1")
    assert missing.status_code == 400
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bucket")["Contents"]]
    assert keys == ["t"]


class _Recorder:
    """ASGI middleware noting the headers of every request."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_boto3_over_https_sends_trailing_checksums(tmp_path, home):
    from boto3.s3.transfer import TransferConfig

    from openmaker.api.s3 import create_s3_app

    cert, key = _self_signed(tmp_path)
    recorder = _Recorder(create_s3_app(tmp_path / "store", min_part_size=5 * 1024 * 1024))
    with serve(recorder, ssl_certfile=str(cert), ssl_keyfile=str(key)) as (endpoint, port):
        served = Served(endpoint, tmp_path / "store", port)
        s3 = served.client(verify=str(cert))
        s3.create_bucket(Bucket="bucket")
        source = tmp_path / "data.bin"
        data = random.Random(0).randbytes(6 * 1024 * 1024 + 5)
        source.write_bytes(data)
        with open(source, "rb") as fh:
            s3.put_object(Bucket="bucket", Key="single", Body=fh)
        config = TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
        )
        s3.upload_file(str(source), "bucket", "multi", Config=config)
        chunked = [h for h in recorder.headers if "aws-chunked" in h.get("content-encoding", "")]
        assert len(chunked) == 3  # PutObject and two UploadParts
        assert {h["x-amz-content-sha256"] for h in chunked} == {auth.STREAMING_UNSIGNED_TRAILER}
        assert {h["x-amz-trailer"] for h in chunked} == {"x-amz-checksum-crc32"}
        single = s3.get_object(Bucket="bucket", Key="single", ChecksumMode="ENABLED")
        assert single["ChecksumCRC32"] == _crc32(data)
        assert single["Body"].read() == data
        assert s3.get_object(Bucket="bucket", Key="multi")["Body"].read() == data
        s3.close()  # an open TLS connection would hold the server's shutdown


def _sign_chunks(signed: auth.SignedRequest, chunks: list[bytes]) -> bytes:
    """Encode ``chunks`` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD (the documented algorithm)."""
    body, previous = b"", signed.signature
    for chunk in [*chunks, b""]:
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                signed.amz_date,
                signed.scope,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(signed.signing_key, string_to_sign.encode(), "sha256").hexdigest()
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk + b"\r\n"
    return body


def test_signed_streaming_upload_through_the_server(tmp_path, home):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    chunks = [b"x" * 70000, b"y" * 100]
    with start(tmp_path / "store", credentials={ACCESS_KEY: SECRET_KEY}) as served:
        served.client().create_bucket(Bucket="bucket")
        for tamper in (False, True):
            url = f"{served.endpoint}/bucket/streamed"
            request = AWSRequest(
                "PUT",
                url,
                headers={
                    "x-amz-content-sha256": auth.STREAMING_SIGNED,
                    "content-encoding": "aws-chunked",
                    "x-amz-decoded-content-length": str(sum(map(len, chunks))),
                },
            )
            SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
            headers = dict(request.headers.items())
            signed = auth.authenticate(
                "PUT",
                "/bucket/streamed",
                "",
                {**headers, "host": f"127.0.0.1:{served.port}"},
                None,
                {ACCESS_KEY: SECRET_KEY},
            )
            body = _sign_chunks(signed, chunks)
            if tamper:
                body = body.replace(b"y" * 100, b"y" * 99 + b"z")
            conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
            conn.request("PUT", "/bucket/streamed", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            conn.close()
            if tamper:
                assert (response.status, "SignatureDoesNotMatch" in text) == (403, True)
            else:
                assert response.status == 200, text
        got = served.client().get_object(Bucket="bucket", Key="streamed")["Body"].read()
        assert got == b"".join(chunks)
