"""Multipart uploads: boto3's managed transfers and the individual operations."""

from __future__ import annotations

import hashlib
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from .conftest import SMALL_PART

MiB = 1024 * 1024


def _multipart_etag(data: bytes, part_size: int) -> str:
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def test_upload_file_and_download_file(s3, tmp_path):
    data = os.urandom(11 * MiB + 123)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(source), "bucket", "models/big.bin", Config=config)
    head = s3.head_object(Bucket="bucket", Key="models/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == _multipart_etag(data, 5 * MiB)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-mp-parts-count"] == "3"
    target = tmp_path / "back.bin"
    s3.download_file("bucket", "models/big.bin", str(target), Config=config)  # ranged GETs
    assert target.read_bytes() == data
    assert s3.list_multipart_uploads(Bucket="bucket").get("Uploads", []) == []


def test_multipart_operations(s3):
    upload = s3.create_multipart_upload(
        Bucket="bucket", Key="k", ContentType="text/plain", Metadata={"m": "1"}
    )
    uid = upload["UploadId"]
    parts = [b"a" * SMALL_PART, b"b" * SMALL_PART, b"tail"]
    etags = [
        s3.upload_part(Bucket="bucket", Key="k", UploadId=uid, PartNumber=i + 1, Body=p)["ETag"]
        for i, p in enumerate(parts)
    ]
    listed = s3.list_parts(Bucket="bucket", Key="k", UploadId=uid)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (i + 1, etags[i], len(p)) for i, p in enumerate(parts)
    ]
    paged = s3.list_parts(Bucket="bucket", Key="k", UploadId=uid, MaxParts=2)
    assert paged["IsTruncated"] and paged["NextPartNumberMarker"] == 2
    uploads = s3.list_multipart_uploads(Bucket="bucket")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("k", uid)]
    with pytest.raises(ClientError) as exc:  # not yet an object
        s3.head_object(Bucket="bucket", Key="k")
    done = s3.complete_multipart_upload(
        Bucket="bucket",
        Key="k",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    data = b"".join(parts)
    assert done["ETag"] == _multipart_etag(data, SMALL_PART)
    assert done["Location"].endswith("/bucket/k")
    got = s3.get_object(Bucket="bucket", Key="k")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (
        data,
        "text/plain",
        {"m": "1"},
    )
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket="bucket", Key="k", UploadId=uid)
    assert exc.value.response["Error"]["Code"] == "NoSuchUpload"


def test_complete_checks_the_part_list(s3):
    uid = s3.create_multipart_upload(Bucket="bucket", Key="k")["UploadId"]
    small = s3.upload_part(Bucket="bucket", Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    big = s3.upload_part(
        Bucket="bucket", Key="k", UploadId=uid, PartNumber=2, Body=b"y" * SMALL_PART
    )

    def complete(parts):  # type: ignore[no-untyped-def]
        with pytest.raises(ClientError) as exc:
            s3.complete_multipart_upload(
                Bucket="bucket", Key="k", UploadId=uid, MultipartUpload={"Parts": parts}
            )
        return exc.value.response["Error"]["Code"]

    assert (
        complete([{"PartNumber": 2, "ETag": big["ETag"]}, {"PartNumber": 1, "ETag": small["ETag"]}])
        == "InvalidPartOrder"
    )
    assert complete([{"PartNumber": 1, "ETag": '"0123"'}]) == "InvalidPart"
    assert complete([{"PartNumber": 3, "ETag": big["ETag"]}]) == "InvalidPart"
    assert (
        complete([{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": big["ETag"]}])
        == "EntityTooSmall"
    )
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket="bucket", Key="k", UploadId=uid, PartNumber=10001, Body=b"z")
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"
    # the last part may be small: only part 2 alone is fine
    s3.complete_multipart_upload(
        Bucket="bucket",
        Key="k",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": big["ETag"]}]},
    )
    assert s3.get_object(Bucket="bucket", Key="k")["Body"].read() == b"y" * SMALL_PART


def test_abort_and_unknown_upload_ids(s3, server):
    uid = s3.create_multipart_upload(Bucket="bucket", Key="k")["UploadId"]
    s3.upload_part(Bucket="bucket", Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket="bucket", Key="k", UploadId=uid)
    for upload_id in (uid, "../../../etc", "0" * 32):
        with pytest.raises(ClientError) as exc:
            s3.upload_part(Bucket="bucket", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
        assert exc.value.response["Error"]["Code"] == "NoSuchUpload"
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket="bucket", Key="k", UploadId=uid)
    assert exc.value.response["Error"]["Code"] == "NoSuchUpload"
    other = s3.create_multipart_upload(Bucket="bucket", Key="k")["UploadId"]
    with pytest.raises(ClientError) as exc:  # an upload id belongs to its key
        s3.list_parts(Bucket="bucket", Key="other-key", UploadId=other)
    assert exc.value.response["Error"]["Code"] == "NoSuchUpload"
    assert not any((server.root / ".uploads" / "bucket").glob(f"{uid}*"))


def test_upload_part_copy_and_managed_copy(s3):
    source = os.urandom(3 * SMALL_PART + 10)
    s3.put_object(Bucket="bucket", Key="src", Body=source)
    uid = s3.create_multipart_upload(Bucket="bucket", Key="dst")["UploadId"]
    first = s3.upload_part_copy(
        Bucket="bucket",
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource="bucket/src",
        CopySourceRange=f"bytes=0-{2 * SMALL_PART - 1}",
    )
    second = s3.upload_part_copy(
        Bucket="bucket",
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource="bucket/src",
        CopySourceRange=f"bytes={2 * SMALL_PART}-{len(source) - 1}",
    )
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(
            Bucket="bucket",
            Key="dst",
            UploadId=uid,
            PartNumber=3,
            CopySource="bucket/src",
            CopySourceRange="bytes=0-999999999",
        )
    assert exc.value.response["Error"]["Code"] == "InvalidRange"
    s3.complete_multipart_upload(
        Bucket="bucket",
        Key="dst",
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
            ]
        },
    )
    assert s3.get_object(Bucket="bucket", Key="dst")["Body"].read() == source
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = os.urandom(6 * MiB)
    s3.put_object(Bucket="bucket", Key="big", Body=big)
    s3.copy({"Bucket": "bucket", "Key": "big"}, "bucket", "big-copy", Config=config)
    assert s3.get_object(Bucket="bucket", Key="big-copy")["Body"].read() == big
