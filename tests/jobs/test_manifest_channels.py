"""Training channels by ``S3DataType``: ManifestFile in File and Pipe mode (only the listed
objects are read, laid out under their keys), a missing listed object, ``ShardedByS3Key`` over
the listed objects, and AugmentedManifestFile in Pipe mode (RecordIO-wrapped Records)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.data import recordio
from openmaker.errors import ChannelError
from openmaker.jobs.service import TrainingJobService

KMEANS = {"feature_dim": "2", "k": "2", "mini_batch_size": "20"}


def _request(
    name: str,
    source: dict[str, Any],
    *,
    mode: str = "File",
    content_type: str | None = "text/csv;label_size=0",
    hosts: int = 1,
    **channel: Any,
) -> dict[str, Any]:
    train: dict[str, Any] = {"ChannelName": "train", "DataSource": {"S3DataSource": source}}
    if content_type:
        train["ContentType"] = content_type
    train.update(channel)
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "kmeans", "TrainingInputMode": mode},
        "HyperParameters": KMEANS,
        "InputDataConfig": [train],
        "ResourceConfig": {"InstanceCount": hosts, "InstanceType": "ml.m5.large"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }


def _blobs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 6])


@pytest.fixture()
def listed(tmp_path: Path) -> Path:
    """Two listed CSV objects (one in a sub-folder), one unlisted and unreadable, a manifest."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    np.savetxt(data / "part-0.csv", _blobs(10, 0), delimiter=",")
    np.savetxt(data / "sub" / "part-1.csv", _blobs(10, 1), delimiter=",")
    (data / "broken.csv").write_text("not,numbers\n")  # read, it would fail the job
    manifest = tmp_path / "train.manifest"
    manifest.write_text(json.dumps([{"prefix": f"{data}/"}, "part-0.csv", "sub/part-1.csv"]))
    return manifest


def _run(request: dict[str, Any]) -> Any:
    service = TrainingJobService()
    service.create(request)
    return service.wait(request["TrainingJobName"], timeout=120)


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_a_manifest_channel_reads_only_the_listed_objects(
    home: Path, listed: Path, mode: str
) -> None:
    rec = _run(
        _request(
            f"manifest-{mode.lower()}",
            {"S3DataType": "ManifestFile", "S3Uri": str(listed)},
            mode=mode,
        )
    )
    assert rec.status == "Completed", rec.failure_reason
    channel = Path(rec.job_dir) / "input" / "data" / "train"
    if mode == "File":  # each object under its key, nothing else
        found = sorted(p.relative_to(channel).as_posix() for p in channel.rglob("*.csv"))
        assert found == ["part-0.csv", "sub/part-1.csv"]
    else:
        sources = json.loads(
            (Path(rec.job_dir) / "input/config/openmaker-sources.json").read_text()
        )
        assert [Path(s).name for s in sources["train"]] == ["part-0.csv", "part-1.csv"]


def test_a_missing_listed_object_fails_the_job_naming_its_key(home: Path, listed: Path) -> None:
    data = listed.parent / "data"
    listed.write_text(json.dumps([{"prefix": f"{data}/"}, "part-0.csv", "part-9.csv"]))
    rec = _run(_request("manifest-missing", {"S3DataType": "ManifestFile", "S3Uri": str(listed)}))
    assert rec.status == "Failed"
    assert rec.failure_reason.startswith("ClientError: ")
    assert "'part-9.csv' listed in the manifest" in rec.failure_reason


def test_sharded_by_key_deals_out_the_listed_objects(home: Path, listed: Path) -> None:
    source = {
        "S3DataType": "ManifestFile",
        "S3Uri": str(listed),
        "S3DataDistributionType": "ShardedByS3Key",
    }
    rec = _run(_request("manifest-sharded", source, hosts=2))
    assert rec.status == "Completed", rec.failure_reason
    root = Path(rec.job_dir)
    first = sorted(p.name for p in (root / "input/data/train").rglob("*.csv"))
    second = sorted(p.name for p in (root / "hosts/algo-2/input/data/train").rglob("*.csv"))
    assert (first, second) == (["part-0.csv"], ["part-1.csv"])


def _augmented(tmp_path: Path, n: int) -> Path:
    """A JSON Lines manifest whose ``features-ref`` objects each hold one protobuf Record."""
    lines = []
    for i, row in enumerate(_blobs(n // 2, 2)):
        framed = recordio.encode_dense(np.array([row], dtype="float32"))
        ref = tmp_path / "records" / f"rec-{i}.pb"
        ref.parent.mkdir(exist_ok=True)
        ref.write_bytes(next(recordio.iter_payloads(framed))[1])
        lines.append(json.dumps({"id": i, "features-ref": str(ref)}))
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_augmented_manifest_streams_recordio_wrapped_records(home: Path, tmp_path: Path) -> None:
    source = {
        "S3DataType": "AugmentedManifestFile",
        "S3Uri": str(_augmented(tmp_path, 40)),
        "AttributeNames": ["features-ref"],
        "S3DataDistributionType": "ShardedByS3Key",
    }
    rec = _run(
        _request(
            "augmented",
            source,
            mode="Pipe",
            content_type=None,
            hosts=2,
            RecordWrapperType="RecordIO",
        )
    )
    assert rec.status == "Completed", rec.failure_reason
    root = Path(rec.job_dir)
    streams = [root / "input/data", root / "hosts/algo-2/input/data"]
    counts = [
        recordio.decode_bytes((s / "train_augmented.rec").read_bytes()).n_rows for s in streams
    ]
    assert counts == [20, 20]  # ShardedByS3Key: every other line


@pytest.mark.parametrize(
    ("mode", "content_type", "match"),
    [
        ("File", None, "only supported in Pipe input mode"),
        ("Pipe", "text/csv", "must carry application/x-recordio-protobuf"),
    ],
)
def test_an_augmented_manifest_is_refused_where_no_algorithm_reads_it(
    home: Path, tmp_path: Path, mode: str, content_type: str | None, match: str
) -> None:
    source = {
        "S3DataType": "AugmentedManifestFile",
        "S3Uri": str(tmp_path / "m.jsonl"),
        "AttributeNames": ["features-ref"],
    }
    with pytest.raises(ChannelError, match=match):
        TrainingJobService().create(
            _request("augmented-refused", source, mode=mode, content_type=content_type)
        )
