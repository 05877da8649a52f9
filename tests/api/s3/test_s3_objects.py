"""Buckets and objects through the real boto3 client: the single-request operations."""

from __future__ import annotations

import base64
import hashlib
import threading
import zlib

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .conftest import start


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle(server):
    s3 = server.client()
    s3.create_bucket(Bucket="one")
    s3.create_bucket(Bucket="two", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["one", "two"]
    head = s3.head_bucket(Bucket="two")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket="two")["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket="one").get("LocationConstraint") is None
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="one")
    assert _code(exc) == ("BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket="one", Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket="one")
    assert _code(exc) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="one", Key="k")
    s3.delete_bucket(Bucket="one")
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket="one")
    assert _code(exc) == ("404", 404)
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="one")
    assert _code(exc) == ("NoSuchBucket", 404)
    assert exc.value.response["Error"]["BucketName"] == "one"


@pytest.mark.parametrize("name", ["ab", "Upper", "under_score", "-dash", "a..b", "192.168.1.1"])
def test_invalid_bucket_names(server, name):
    s3 = server.client()
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert _code(exc) == ("InvalidBucketName", 400)


def test_put_get_head_with_metadata(s3):
    body = b"hello, world\n" * 100
    put = s3.put_object(
        Bucket="bucket",
        Key="dir/hello.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"Owner": "me", "purpose": "test"},
        CacheControl="max-age=60",
        ContentDisposition="attachment",
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket="bucket", Key="dir/hello.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == etag
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"owner": "me", "purpose": "test"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    head = s3.head_object(Bucket="bucket", Key="dir/hello.txt")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == etag
    assert head["LastModified"] == got["LastModified"]
    default = s3.put_object(Bucket="bucket", Key="empty", Body=b"")
    assert default["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    got = s3.get_object(Bucket="bucket", Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentType"] == "binary/octet-stream"


def test_missing_key_and_bucket(s3):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="nope")
    assert _code(exc) == ("NoSuchKey", 404)
    assert exc.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="bucket", Key="nope")
    assert _code(exc) == ("404", 404)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="missing-bucket", Key="k", Body=b"x")
    assert _code(exc) == ("NoSuchBucket", 404)
    s3.delete_object(Bucket="bucket", Key="nope")  # S3 answers 204 for a missing key


def test_ranges(s3):
    body = bytes(range(256)) * 4
    s3.put_object(Bucket="bucket", Key="r", Body=body)
    for header, first, end in [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=10-5000", 10, 1023),
    ]:
        got = s3.get_object(Bucket="bucket", Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == f"bytes {first}-{end}/1024"
        assert got["Body"].read() == body[first : end + 1]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="r", Range="bytes=1024-")
    assert _code(exc) == ("InvalidRange", 416)
    assert exc.value.response["Error"]["ActualObjectSize"] == "1024"
    whole = s3.get_object(Bucket="bucket", Key="r", Range="bytes=5-1,junk")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert whole["Body"].read() == body
    head = s3.head_object(Bucket="bucket", Key="r", Range="bytes=0-99")
    assert head["ContentLength"] == 100


def test_conditional_get(s3):
    etag = s3.put_object(Bucket="bucket", Key="c", Body=b"abc")["ETag"]
    assert s3.get_object(Bucket="bucket", Key="c", IfMatch=etag)["Body"].read() == b"abc"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="c", IfMatch='"0000"')
    assert _code(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="c", IfNoneMatch=etag)
    assert _code(exc) == ("304", 304)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="c", Body=b"new", IfNoneMatch="*")
    assert _code(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket="bucket", Key="c")["Body"].read() == b"abc"


def test_content_md5_and_checksums_are_verified(server, s3):
    # botocore retries BadDigest (a transfer may have corrupted the body): once is enough here.
    s3 = server.client(config=Config(retries={"total_max_attempts": 1}))
    body = b"payload"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket="bucket", Key="m", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="m2", Body=body, ContentMD5=bad)
    assert _code(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="m2", Body=body, ContentMD5="not-base64!")
    assert _code(exc) == ("InvalidDigest", 400)
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket="bucket", Key="c32", Body=body, ChecksumCRC32=crc)
    assert put["ChecksumCRC32"] == crc
    wrong = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="c32b", Body=body, ChecksumCRC32=wrong)
    assert _code(exc) == ("BadDigest", 400)
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    s3.put_object(Bucket="bucket", Key="s256", Body=body, ChecksumSHA256=sha)
    got = s3.get_object(Bucket="bucket", Key="s256", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha
    assert got["Body"].read() == body  # botocore validates the checksum while reading
    for key in ("m2", "c32b"):
        with pytest.raises(ClientError):
            s3.head_object(Bucket="bucket", Key=key)


def test_copy_object(s3):
    s3.put_object(
        Bucket="bucket", Key="src", Body=b"data", ContentType="text/csv", Metadata={"a": "1"}
    )
    s3.create_bucket(Bucket="other")
    result = s3.copy_object(
        Bucket="other", Key="dst", CopySource={"Bucket": "bucket", "Key": "src"}
    )
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"data").hexdigest()}"'
    got = s3.get_object(Bucket="other", Key="dst")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
        b"data",
        "text/csv",
        {"a": "1"},
    )
    s3.copy_object(
        Bucket="bucket",
        Key="src",
        CopySource="bucket/src",
        Metadata={"b": "2"},
        MetadataDirective="REPLACE",
        ContentType="text/plain",
    )
    got = s3.head_object(Bucket="bucket", Key="src")
    assert (got["Metadata"], got["ContentType"]) == ({"b": "2"}, "text/plain")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket="bucket", Key="src", CopySource="bucket/src")
    assert _code(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket="bucket", Key="x", CopySource="bucket/missing")
    assert _code(exc) == ("NoSuchKey", 404)
    odd = "sp ace+plus/é?&=#"
    s3.put_object(Bucket="bucket", Key=odd, Body=b"odd")
    s3.copy_object(Bucket="other", Key=odd, CopySource={"Bucket": "bucket", "Key": odd})
    assert s3.get_object(Bucket="other", Key=odd)["Body"].read() == b"odd"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket="other", Key="v", CopySource={"Bucket": "bucket", "Key": "src", "VersionId": "3"}
        )
    assert _code(exc) == ("InvalidArgument", 400)
    # the managed copy (CopyObject under the multipart threshold)
    s3.copy({"Bucket": "bucket", "Key": "src"}, "other", "managed")
    assert s3.get_object(Bucket="other", Key="managed")["Body"].read() == b"data"


def test_delete_objects(s3):
    for key in ("a", "b/c", "d"):
        s3.put_object(Bucket="bucket", Key=key, Body=b"x")
    result = s3.delete_objects(
        Bucket="bucket",
        Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}, {"Key": "never"}, {"Key": "x/../y"}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b/c", "never"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("x/../y", "InvalidArgument")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="bucket")["Contents"]] == ["d"]
    quiet = s3.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "d"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket="bucket")["KeyCount"] == 0


def test_unsupported_subresource_is_not_ignored(s3):
    s3.put_object(Bucket="bucket", Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket="bucket", Key="k", Tagging={"TagSet": []})
    assert _code(exc) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="k", VersionId="abc")
    assert _code(exc) == ("InvalidArgument", 400)


def test_expected_bucket_owner(s3):
    s3.head_bucket(Bucket="bucket", ExpectedBucketOwner="000000000000")
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket="bucket", ExpectedBucketOwner="123456789012")
    assert _code(exc) == ("403", 403)


def test_objects_survive_a_restart(tmp_path, home):
    root = tmp_path / "store"
    with start(root) as first:
        s3 = first.client()
        s3.create_bucket(Bucket="keep")
        s3.put_object(
            Bucket="keep", Key="a/b.bin", Body=b"\x00\x01", ContentType="x/y", Metadata={"k": "v"}
        )
    with start(root) as second:
        s3 = second.client()
        got = s3.get_object(Bucket="keep", Key="a/b.bin")
        assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
            b"\x00\x01",
            "x/y",
            {"k": "v"},
        )
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["keep"]
    assert (root / "keep" / "a" / "b.bin").read_bytes() == b"\x00\x01"


def test_files_added_by_hand_are_objects(server):
    s3 = server.client()
    s3.create_bucket(Bucket="hand")
    (server.root / "hand" / "dir").mkdir()
    (server.root / "hand" / "dir" / "data.csv").write_bytes(b"1,2\n")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hand")["Contents"]]
    assert keys == ["dir/data.csv"]
    got = s3.get_object(Bucket="hand", Key="dir/data.csv")
    assert got["Body"].read() == b"1,2\n"
    assert got["ETag"] == '"' + hashlib.md5(b"1,2\n").hexdigest() + '"'


def test_concurrent_uploads_of_one_key_leave_one_whole(s3):
    bodies = [bytes([i]) * (300_000 + i) for i in range(6)]
    errors = []

    def upload(body: bytes) -> None:
        try:
            s3.put_object(Bucket="bucket", Key="hot", Body=body)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = s3.get_object(Bucket="bucket", Key="hot")
    data = got["Body"].read()
    assert data in bodies
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_key_and_prefix_of_same_name_conflict(s3):
    s3.put_object(Bucket="bucket", Key="a", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="a/b", Body=b"y")
    assert _code(exc) == ("ObjectPrefixConflict", 409)
    s3.put_object(Bucket="bucket", Key="c/d", Body=b"y")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="c", Body=b"x")
    assert _code(exc) == ("ObjectPrefixConflict", 409)
    assert s3.get_object(Bucket="bucket", Key="a")["Body"].read() == b"x"
