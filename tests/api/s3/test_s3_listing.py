"""ListObjectsV2 / ListObjects through boto3: order, prefixes, delimiters, pages, encoding."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

KEYS = [
    "a",
    "a-c",
    "a/b",
    "a/b/c",
    "a/b/d",
    "a/e",
    "b/",
    "b/x y+z%.txt",
    "c/d/e/f",
    "données/é.csv",
]


@pytest.fixture()
def filled(s3):  # type: ignore[no-untyped-def]
    # "a" and "a/b" cannot both be objects here (see ObjectPrefixConflict): use a fresh layout
    keys = [k for k in KEYS if k not in ("a", "a/b")]
    for key in keys:
        s3.put_object(Bucket="bucket", Key=key, Body=key.encode())
    return s3, sorted(keys)


def _all_keys(s3, **kwargs):  # type: ignore[no-untyped-def]
    keys, prefixes = [], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bucket", **kwargs):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def test_full_listing_is_in_s3_byte_order(filled):
    s3, keys = filled
    listed = s3.list_objects_v2(Bucket="bucket")
    assert [o["Key"] for o in listed["Contents"]] == keys
    assert listed["KeyCount"] == len(keys)
    assert not listed["IsTruncated"]
    sizes = {o["Key"]: o["Size"] for o in listed["Contents"]}
    assert sizes == {k: len(k.encode()) for k in keys}


def test_prefix_and_delimiter(filled):
    s3, _ = filled
    top = s3.list_objects_v2(Bucket="bucket", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a-c"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "c/", "données/"]
    assert top["KeyCount"] == 5
    under_a = s3.list_objects_v2(Bucket="bucket", Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in under_a["Contents"]] == ["a/e"]
    assert [p["Prefix"] for p in under_a["CommonPrefixes"]] == ["a/b/"]
    partial = s3.list_objects_v2(Bucket="bucket", Prefix="a", Delimiter="/")
    assert [o["Key"] for o in partial["Contents"]] == ["a-c"]
    assert [p["Prefix"] for p in partial["CommonPrefixes"]] == ["a/"]
    marker_dir = s3.list_objects_v2(Bucket="bucket", Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in marker_dir["Contents"]] == ["b/", "b/x y+z%.txt"]
    assert s3.list_objects_v2(Bucket="bucket", Prefix="zzz")["KeyCount"] == 0
    # a delimiter other than "/"
    dashed = s3.list_objects_v2(Bucket="bucket", Delimiter="-")
    assert [p["Prefix"] for p in dashed["CommonPrefixes"]] == ["a-"]
    assert "a-c" not in [o["Key"] for o in dashed["Contents"]]


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_pagination_visits_every_key_once(filled, page_size):
    s3, keys = filled
    listed, _ = _all_keys(s3, PaginationConfig={"PageSize": page_size})
    assert listed == keys
    listed, prefixes = _all_keys(s3, Delimiter="/", PaginationConfig={"PageSize": page_size})
    assert listed == ["a-c"]
    assert prefixes == ["a/", "b/", "c/", "données/"]


def test_max_keys_and_start_after(filled):
    s3, keys = filled
    first = s3.list_objects_v2(Bucket="bucket", MaxKeys=2)
    assert [o["Key"] for o in first["Contents"]] == keys[:2]
    assert first["IsTruncated"] and first["MaxKeys"] == 2
    nxt = s3.list_objects_v2(
        Bucket="bucket", MaxKeys=2, ContinuationToken=first["NextContinuationToken"]
    )
    assert [o["Key"] for o in nxt["Contents"]] == keys[2:4]
    after = s3.list_objects_v2(Bucket="bucket", StartAfter="a/b/d")
    assert [o["Key"] for o in after["Contents"]] == [k for k in keys if k > "a/b/d"]
    after_prefix = s3.list_objects_v2(Bucket="bucket", StartAfter="a/b/c", Delimiter="/")
    assert [p["Prefix"] for p in after_prefix["CommonPrefixes"]] == ["b/", "c/", "données/"]
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="bucket", ContinuationToken="%%%")
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"


def test_list_objects_v1_and_resource_collection(filled):
    s3, keys = filled
    listed = []
    for page in s3.get_paginator("list_objects").paginate(
        Bucket="bucket", PaginationConfig={"PageSize": 3}
    ):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert listed == keys
    page = s3.list_objects(Bucket="bucket", Delimiter="/", MaxKeys=2)
    assert page["IsTruncated"]
    assert page["NextMarker"] == "a/"
    rest = s3.list_objects(Bucket="bucket", Delimiter="/", Marker=page["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["b/", "c/", "données/"]
    import boto3

    resource = boto3.resource(
        "s3",
        endpoint_url=s3.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    found = [o.key for o in resource.Bucket("bucket").objects.filter(Prefix="a/")]
    assert found == [k for k in keys if k.startswith("a/")]


def test_deleting_prunes_empty_folders_from_listings(s3, server):
    s3.put_object(Bucket="bucket", Key="deep/er/file", Body=b"x")
    s3.put_object(Bucket="bucket", Key="keep", Body=b"x")
    s3.delete_object(Bucket="bucket", Key="deep/er/file")
    listed = s3.list_objects_v2(Bucket="bucket", Delimiter="/")
    assert "CommonPrefixes" not in listed
    assert not (server.root / "bucket" / "deep").exists()
    # an empty folder made by hand is not a prefix either
    (server.root / "bucket" / "hollow" / "inside").mkdir(parents=True)
    assert "CommonPrefixes" not in s3.list_objects_v2(Bucket="bucket", Delimiter="/")
