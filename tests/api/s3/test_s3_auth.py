"""The S3 app with ``credentials``: SigV4 from real boto3 clients is checked on every request."""

from __future__ import annotations

import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from .conftest import ACCESS_KEY, SECRET_KEY, SMALL_PART, start


@pytest.fixture()
def secured(tmp_path, home):  # type: ignore[no-untyped-def]
    with start(
        tmp_path / "store", credentials={ACCESS_KEY: SECRET_KEY}, min_part_size=SMALL_PART
    ) as served:
        yield served


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_signed_clients_work_for_every_operation(secured):
    s3 = secured.client()
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="a b/c+d é.txt", Body=b"hello")
    assert s3.get_object(Bucket="bucket", Key="a b/c+d é.txt")["Body"].read() == b"hello"
    listed = s3.list_objects_v2(Bucket="bucket", Prefix="a b/c+", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["a b/c+d é.txt"]
    uid = s3.create_multipart_upload(Bucket="bucket", Key="multi")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket="bucket", Key="multi", UploadId=uid, PartNumber=n, Body=b"z" * SMALL_PART
            )["ETag"],
        }
        for n in (1, 2)
    ]
    s3.complete_multipart_upload(
        Bucket="bucket", Key="multi", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    s3.copy_object(Bucket="bucket", Key="copy", CopySource="bucket/multi")
    deleted = s3.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "copy"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["copy"]


def test_wrong_unknown_and_missing_credentials_are_refused(secured):
    secured.client().create_bucket(Bucket="bucket")
    with pytest.raises(ClientError) as exc:
        secured.client(aws_secret_access_key="wrong").list_objects_v2(Bucket="bucket")
    assert _code(exc) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as exc:
        secured.client(aws_access_key_id="NOBODY").put_object(Bucket="bucket", Key="k", Body=b"x")
    assert _code(exc) == ("InvalidAccessKeyId", 403)
    anonymous = secured.client(config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as exc:
        anonymous.get_object(Bucket="bucket", Key="k")
    assert _code(exc) == ("AccessDenied", 403)
    assert httpx.get(f"{secured.endpoint}/bucket/k").status_code == 403
    assert "Contents" not in secured.client().list_objects_v2(Bucket="bucket")


def test_presigned_urls(secured):
    s3 = secured.client(config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="bucket")
    s3.put_object(Bucket="bucket", Key="doc.txt", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "doc.txt"})
    assert httpx.get(url).content == b"shared"
    tampered = url.replace("doc.txt", "doc.txt2")
    response = httpx.get(tampered)
    assert response.status_code == 403 and b"SignatureDoesNotMatch" in response.content
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "bucket", "Key": "up"})
    assert httpx.put(put_url, content=b"uploaded").status_code == 200
    assert s3.get_object(Bucket="bucket", Key="up")["Body"].read() == b"uploaded"
