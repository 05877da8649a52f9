"""``S3DataType``: ManifestFile parsing and checks, augmented-manifest streams, request checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from openmaker.data import manifest, recordio
from openmaker.data.manifest import AugmentedSource
from openmaker.errors import ChannelError, DataFormatError, DataSourceError, ValidationError


def _write_manifest(path: Path, prefix: str, keys: list[object]) -> Path:
    path.write_text(json.dumps([{"prefix": prefix}, *keys]))
    return path


def _objects(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("1,2\n")


def test_a_manifest_lists_exactly_its_keys_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _objects(data, "b.csv", "sub/a.csv", "unlisted.csv")
    uri = _write_manifest(tmp_path / "m.json", f"{data}/", ["sub/a.csv", "b.csv"])
    resolved = manifest.resolve({"S3Uri": str(uri), "S3DataType": "ManifestFile"})
    assert resolved.files == [f"{data}/sub/a.csv", f"{data}/b.csv"]
    assert resolved.base == f"{data}/"


def test_a_gzipped_manifest_and_a_prefix_without_slash(tmp_path: Path) -> None:
    _objects(tmp_path, "part-1", "part-2")
    path = tmp_path / "m.json.gz"
    path.write_bytes(gzip.compress(json.dumps([{"prefix": f"{tmp_path}/par"}, "t-1"]).encode()))
    resolved = manifest.resolve({"S3Uri": str(path), "S3DataType": "ManifestFile"})
    assert resolved.files == [f"{tmp_path}/part-1"]  # prefix + key, as SageMaker joins them
    assert resolved.base == f"{tmp_path}/"


def test_a_missing_listed_object_is_named(tmp_path: Path) -> None:
    _objects(tmp_path, "a.csv")
    uri = _write_manifest(tmp_path / "m.json", f"{tmp_path}/", ["a.csv", "gone.csv"])
    with pytest.raises(DataSourceError, match=r"'gone\.csv' listed in the manifest") as err:
        manifest.resolve({"S3Uri": str(uri), "S3DataType": "ManifestFile"})
    assert err.value.failure_reason.startswith("ClientError: ")


def test_a_long_manifest_is_checked_with_one_listing(tmp_path: Path) -> None:
    names = [f"part-{i:03d}" for i in range(100)]
    _objects(tmp_path / "d", *names)
    ok = _write_manifest(tmp_path / "ok.json", f"{tmp_path}/d/", names)
    assert len(manifest.resolve({"S3Uri": str(ok), "S3DataType": "ManifestFile"}).files) == 100
    bad = _write_manifest(tmp_path / "bad.json", f"{tmp_path}/d/", [*names, "part-999"])
    with pytest.raises(DataSourceError, match="'part-999'"):
        manifest.resolve({"S3Uri": str(bad), "S3DataType": "ManifestFile"})


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "not valid JSON"),
        ('{"prefix": "/x/"}', "must be a JSON array"),
        ("[]", "must be a JSON array"),
        ('["a.csv"]', "first element"),
        ('[{"prefix": ""}, "a"]', "prefix is empty"),
        ('[{"prefix": "/x/"}, 3]', "element 1"),
        ('[{"prefix": "/x/"}, "../etc/passwd"]', "'..'"),
        ("[" * 5000, "not valid JSON"),
    ],
)
def test_malformed_manifests_are_refused(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=match):
        manifest.read_manifest(str(path))


def test_a_manifest_without_keys_is_refused(tmp_path: Path) -> None:
    path = _write_manifest(tmp_path / "m.json", "/x/", [])
    with pytest.raises(DataSourceError, match="lists no objects"):
        manifest.read_manifest(str(path))


def test_s3_prefix_is_the_folder_listing(tmp_path: Path) -> None:
    _objects(tmp_path, "a.csv", "_SUCCESS")
    resolved = manifest.resolve({"S3Uri": str(tmp_path), "S3DataType": "S3Prefix"})
    assert resolved.files == [str(tmp_path / "a.csv")]


# --- augmented manifests ------------------------------------------------------------------------


def _record(row: list[float], label: float) -> bytes:
    """One serialised protobuf Record (no RecordIO framing)."""
    framed = recordio.encode_dense(np.array([row], dtype="float32"), np.array([label]))
    return next(recordio.iter_payloads(framed))[1]


def test_the_recordio_wrapped_stream_is_a_recordio_protobuf_channel(tmp_path: Path) -> None:
    lines = []
    for i in range(5):
        ref = tmp_path / f"rec-{i}.pb"
        ref.write_bytes(_record([i, 2.0 * i], float(i % 2)))
        lines.append(json.dumps({"source": "ignored", "features-ref": str(ref), "n": i}))
    (tmp_path / "aug.jsonl").write_text("\n".join(lines) + "\n\n")
    source = AugmentedSource(str(tmp_path / "aug.jsonl"), ("features-ref",), "RecordIO")
    dest = tmp_path / "stream.rec"
    assert manifest.write_augmented_stream(source, dest) == 5
    ds = recordio.decode_bytes(dest.read_bytes())
    np.testing.assert_array_equal(ds.X, [[i, 2.0 * i] for i in range(5)])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 0])


def test_attribute_payloads_in_order_and_sharded_by_line(tmp_path: Path) -> None:
    rows = [{"a": f"line{i}", "b": {"k": i}} for i in range(4)]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    uri = str(tmp_path / "m.jsonl")
    every = list(manifest.payloads(AugmentedSource(uri, ("b", "a"))))
    assert every[:2] == [b'{"k":0}', b"line0"]
    second = AugmentedSource(uri, ("a",), rank=1, hosts=2, sharded=True)
    assert list(manifest.payloads(second)) == [b"line1", b"line3"]
    replicated = AugmentedSource(uri, ("a",), rank=1, hosts=2, sharded=False)
    assert len(list(manifest.payloads(replicated))) == 4
    framed = tmp_path / "s.rec"
    manifest.write_augmented_stream(AugmentedSource(uri, ("a",), "RecordIO"), framed)
    payloads = [p for _, p in recordio.iter_payloads(framed.read_bytes())]
    assert payloads == [b"line0", b"line1", b"line2", b"line3"]


def test_augmented_manifest_errors_name_the_line_and_the_object(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"a-ref": "%s"}\n{"b": 1}\n' % (tmp_path / "gone.pb"))
    with pytest.raises(DataSourceError, match=r"gone\.pb.*line 1"):
        list(manifest.payloads(AugmentedSource(str(path), ("a-ref",))))
    path.write_text('{"a": 1}\n{"b": 1}\n')
    with pytest.raises(DataFormatError, match=r"line 2.*no attribute 'a'"):
        list(manifest.payloads(AugmentedSource(str(path), ("a",))))
    path.write_text("[1, 2]\n")
    with pytest.raises(DataFormatError, match="line 1: not a JSON object"):
        list(manifest.payloads(AugmentedSource(str(path), ("a",))))
    with pytest.raises(DataSourceError, match="does not exist"):
        manifest.resolve(
            {"S3Uri": str(tmp_path / "nope.jsonl"), "S3DataType": "AugmentedManifestFile"}
        )


# --- request checks -----------------------------------------------------------------------------


def _channel(data_type: str, **source: object) -> dict[str, object]:
    return {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3Uri": "s3://b/m", "S3DataType": data_type, **source}},
    }


RIO = "application/x-recordio-protobuf"


def test_request_checks() -> None:
    aug = _channel("AugmentedManifestFile", AttributeNames=["features-ref"])
    manifest.check_training_channel(aug, "Pipe", RIO)
    manifest.check_training_channel(_channel("ManifestFile"), "File", RIO)
    with pytest.raises(ChannelError, match="only supported in Pipe input mode"):
        manifest.check_training_channel(aug, "File", RIO)
    with pytest.raises(ChannelError, match="must carry application/x-recordio-protobuf"):
        manifest.check_training_channel(aug, "Pipe", "text/csv")
    with pytest.raises(ChannelError, match="needs AttributeNames"):
        manifest.check_training_channel(_channel("AugmentedManifestFile"), "Pipe", RIO)
    with pytest.raises(ChannelError, match="AttributeNames is only valid"):
        manifest.check_training_channel(_channel("S3Prefix", AttributeNames=["a"]), "File", RIO)
    with pytest.raises(ChannelError, match="'Converse' is not supported"):
        manifest.check_training_channel(_channel("Converse"), "File", RIO)
    manifest.check_transform_input({"S3DataType": "ManifestFile"})
    with pytest.raises(ValidationError, match="AugmentedManifestFile' is not supported"):
        manifest.check_transform_input({"S3DataType": "AugmentedManifestFile"})


def test_materialise_never_writes_outside_the_channel(tmp_path: Path) -> None:
    from openmaker.executors.hosts import materialise

    with pytest.raises(DataSourceError, match="outside the channel"):
        materialise("s3://bucket/p/", ["s3://bucket/p/../../escape"], tmp_path / "train")
    assert not (tmp_path / "escape").exists()
