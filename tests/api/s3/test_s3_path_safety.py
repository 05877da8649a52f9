"""No key, bucket name or upload id reaches outside the store; odd keys round-trip safely."""

from __future__ import annotations

import http.client
import os
import random
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from openmaker.api.s3.errors import InvalidArgument, KeyTooLongError
from openmaker.api.s3.names import decode_part, encode_part, split_key

SAFE_ODD_KEYS = [
    "/abs/path",
    "a\\..\\..\\b",
    "..\\x",
    ".hidden",
    "a//b",
    "dir/",
    "C:\\Windows\\x",
    "%2e%2e/x",
    "a%2Fb",
    "sp ace/ü/日本",
    "tab\tnew\nline",
    "...",
    "x/.../y",
    "~/x",
    "a:b*c?",
]
REFUSED_KEYS = ["../../etc/passwd", "a/../../../x", "./x", "a/./b", "..", "x/.."]


def _outside_files(tmp_path: Path, root: Path) -> set[str]:
    return {
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if root not in p.parents and p != root and "openmaker-home" not in p.parts
    }


def test_odd_keys_round_trip_inside_the_store(s3, server, tmp_path):
    before = _outside_files(tmp_path, server.root)
    for key in SAFE_ODD_KEYS:
        s3.put_object(Bucket="bucket", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="bucket", Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="bucket")["Contents"]]
    assert listed == sorted(SAFE_ODD_KEYS)
    for path in (server.root / "bucket").rglob("*"):
        assert server.root in path.resolve().parents
        assert path.name not in (".", "..")
    assert _outside_files(tmp_path, server.root) == before
    for key in SAFE_ODD_KEYS:
        s3.delete_object(Bucket="bucket", Key=key)
    assert s3.list_objects_v2(Bucket="bucket")["KeyCount"] == 0


@pytest.mark.parametrize("key", REFUSED_KEYS)
def test_dot_segments_are_refused(s3, server, tmp_path, key):
    before = _outside_files(tmp_path, server.root)
    for call in (
        lambda: s3.put_object(Bucket="bucket", Key=key, Body=b"pwned"),
        lambda: s3.get_object(Bucket="bucket", Key=key),
        lambda: s3.create_multipart_upload(Bucket="bucket", Key=key),
        lambda: s3.copy_object(Bucket="bucket", Key="dst", CopySource=f"bucket/{key}"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "InvalidArgument"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _outside_files(tmp_path, server.root) == before


RAW_PATHS = [
    ("/bucket/../../outside.txt", 400),
    ("/bucket/..%2F..%2Foutside.txt", 400),
    ("/bucket/%2E%2E/%2E%2E/outside.txt", 400),
    ("/../outside.txt", 400),
    ("/..%2F..%2Foutside.txt/x", 400),
    ("/bucket/a%00b", 400),
    ("/.staging/x", 400),
    ("/.uploads/bucket", 400),
    ("/bucket/" + "x" * 300, 400),
    ("/bucket/" + "y/" * 600, 400),
]


@pytest.mark.parametrize(("path", "status"), RAW_PATHS)
def test_raw_requests_with_escaping_paths(s3, server, tmp_path, path, status):
    before = _outside_files(tmp_path, server.root)
    for method in ("PUT", "GET", "DELETE", "HEAD"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(method, path, body=b"pwned" if method == "PUT" else None)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == status, (method, path, body)
        if method != "HEAD":
            assert b"<Code>" in body
    assert _outside_files(tmp_path, server.root) == before
    assert not (tmp_path / "outside.txt").exists()


def test_links_out_of_the_store_are_not_followed(s3, server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside, server.root / "bucket" / "link")
    os.symlink(outside, server.root / "linked-bucket")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="bucket", Key="link/secret")
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="bucket", Key="link/new", Body=b"x")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError):
        s3.get_object(Bucket="linked-bucket", Key="secret")
    assert "Contents" not in s3.list_objects_v2(Bucket="bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["bucket"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


def test_encoding_is_one_to_one_and_never_a_special_name():
    rng = random.Random(0)
    alphabet = "aZ09./\\%:*?\"<>| \t\n\x01\x7fé日~-_+=@!'()&$,;" + "."
    for _ in range(3000):
        part = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        name = encode_part(part)
        assert name not in (".", "..") and not name.startswith(".")
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert decode_part(name) == part
    for foreign in (".meta", "a%zz", "a%2f", "x:y", "50%", ""):
        assert decode_part(foreign) is None


def test_split_key_limits():
    assert split_key("a/b/") == ["a", "b", ""]
    with pytest.raises(KeyTooLongError):
        split_key("k" * 1025)
    with pytest.raises(KeyTooLongError):
        split_key("/".join(["\x01" * 90]))  # 270 bytes once encoded
    for key in ("", "a\x00b", "a/../b"):
        with pytest.raises(InvalidArgument):
            split_key(key)
