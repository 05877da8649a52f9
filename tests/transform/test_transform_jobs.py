"""Transform jobs end to end (supervisor subprocess), and the per-request logic in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.errors import AlgorithmError, ResourceNotFoundError, ValidationError
from openmaker.transform.api import Transformer
from openmaker.transform.service import TransformJobService

from .conftest import csv_rows, write_csv


def _request(name: str, src: Path, out: Path, **extra: Any) -> dict[str, Any]:
    tin = {"DataSource": {"S3DataSource": {"S3Uri": str(src)}}, "ContentType": "text/csv",
           "SplitType": "Line", **extra.pop("TransformInput", {})}  # fmt: skip
    tout = {"S3OutputPath": str(out), "AssembleWith": "Line", **extra.pop("TransformOutput", {})}
    return {"TransformJobName": name, "ModelName": "m", "TransformInput": tin,
            "TransformOutput": tout, **extra}  # fmt: skip


def test_folder_multirecord_two_workers(model: str, tmp_path: Path) -> None:
    rows = csv_rows(2000)
    src = tmp_path / "in"
    write_csv(src / "a.csv", rows[:1500])
    write_csv(src / "sub" / "b.csv", rows[1500:])
    service = TransformJobService()
    service.create(_request("t1", src, tmp_path / "out", MaxConcurrentTransforms=2,
                            MaxPayloadInMB=1))  # fmt: skip
    rec = service.wait("t1", timeout=120)
    assert rec.status == "Completed", rec.failure_reason
    assert rec.progress == {"FilesTotal": 2, "FilesDone": 2, "RecordsDone": 2000,
                            "RecordsSkipped": 0}  # fmt: skip
    a = np.loadtxt(tmp_path / "out" / "a.csv.out")
    b = np.loadtxt(tmp_path / "out" / "sub" / "b.csv.out")
    assert a.shape == (1500,) and b.shape == (500,)
    assert np.corrcoef(np.concatenate([a, b]), rows.sum(1))[0, 1] > 0.8
    described = service.describe("t1")
    assert described["TransformJobStatus"] == "Completed" and "TransformEndTime" in described
    assert any("wrote" in line for line in service.logs("t1"))
    assert [r.name for r in service.list(status_equals="Completed")[0]] == ["t1"]


def test_single_file_single_record_and_split_none(model: str, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", csv_rows(20))
    t = Transformer("m", strategy="SingleRecord", assemble_with="Line",
                    output_path=str(tmp_path / "o1"))  # fmt: skip
    t.transform(str(src), split_type="Line", job_name="single")
    assert len((tmp_path / "o1" / "x.csv.out").read_text().splitlines()) == 20
    t2 = Transformer("m", output_path=str(tmp_path / "o2"), accept="application/json")
    t2.transform(str(src), split_type="None", job_name="whole")
    assert len(json.loads((tmp_path / "o2" / "x.csv.out").read_text())["predictions"]) == 20


def test_bad_record_fails_with_file_and_record(model: str, tmp_path: Path) -> None:
    lines = [",".join(map(str, r)) for r in csv_rows(50)]
    lines[36] = "1,2,oops,4"
    src = tmp_path / "bad.csv"
    src.write_text("\n".join(lines) + "\n")
    service = TransformJobService()
    service.create(_request("bad", src, tmp_path / "out"))
    rec = service.wait("bad", timeout=60)
    assert rec.status == "Failed"
    assert f"{src}, record 37" in (rec.failure_reason or "")
    assert not (tmp_path / "out" / "bad.csv.out").exists()  # no partial output


def test_bad_records_skipped_when_asked(model: str, tmp_path: Path) -> None:
    lines = [",".join(map(str, r)) for r in csv_rows(30)]
    lines[4] = "1,2,3"
    lines[20] = "x,y,z,w"
    src = tmp_path / "bad.csv"
    src.write_text("\n".join(lines) + "\n")
    t = Transformer("m", assemble_with="Line", output_path=str(tmp_path / "out"),
                    bad_record_policy="Skip")  # fmt: skip
    described = t.transform(str(src), split_type="Line", job_name="skip")
    assert described["Progress"]["RecordsSkipped"] == 2
    assert len((tmp_path / "out" / "bad.csv.out").read_text().splitlines()) == 28
    report = [json.loads(x) for x in (tmp_path / "out" / "_skipped-records.jsonl").read_text()
              .splitlines()]  # fmt: skip
    assert [r["record"] for r in report] == [5, 21]
    assert "features" in report[0]["error"]


def test_join_and_filters_csv_and_jsonlines(model: str, tmp_path: Path) -> None:
    rows = csv_rows(10)
    ids = np.arange(10).reshape(-1, 1)
    src = write_csv(tmp_path / "ids.csv", np.hstack([ids, rows]))
    t = Transformer("m", assemble_with="Line", output_path=str(tmp_path / "csv"))
    t.transform(str(src), split_type="Line", input_filter="$[1:]", join_source="Input",
                output_filter="$[0,-1]", job_name="joincsv")  # fmt: skip
    out = [line.split(",") for line in (tmp_path / "csv" / "ids.csv.out").read_text().splitlines()]
    assert [float(o[0]) for o in out] == list(range(10)) and len(out[0]) == 2

    jl = tmp_path / "in.jsonl"
    jl.write_text("".join(json.dumps({"id": i, "features": r.tolist()}) + "\n"
                          for i, r in enumerate(rows)))  # fmt: skip
    t = Transformer("m", assemble_with="Line", output_path=str(tmp_path / "jl"),
                    accept="application/jsonlines")  # fmt: skip
    t.transform(str(jl), content_type="application/jsonlines", split_type="Line",
                input_filter="$.features", join_source="Input",
                output_filter="$['id','SageMakerOutput']", job_name="joinjl")  # fmt: skip
    records = [json.loads(x) for x in (tmp_path / "jl" / "in.jsonl.out").read_text().splitlines()]
    assert [r["id"] for r in records] == list(range(10))
    assert set(records[0]) == {"id", "SageMakerOutput"} and "score" in records[0]["SageMakerOutput"]


def test_recordio_input(model: str, tmp_path: Path) -> None:
    from openmaker.data.recordio import encode_dense

    src = tmp_path / "x.rec"
    src.write_bytes(encode_dense(csv_rows(12).astype(np.float32)))
    t = Transformer("m", strategy="SingleRecord", assemble_with="Line",
                    output_path=str(tmp_path / "out"))  # fmt: skip
    t.transform(str(src), content_type="application/x-recordio-protobuf", split_type="RecordIO",
                job_name="rec")  # fmt: skip
    assert len((tmp_path / "out" / "x.rec.out").read_text().splitlines()) == 12


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"ModelName": "ghost"}, "Could not find model"),
        ({"TransformInput": {"SplitType": "TFRecord"}}, "SplitType"),
        ({"TransformOutput": {"AssembleWith": "Comma"}}, "AssembleWith"),
        ({"BatchStrategy": "Lots"}, "BatchStrategy"),
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB"),
        ({"MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6}, "at most 100"),
        ({"DataProcessing": {"InputFilter": "$..x"}}, "InputFilter"),
        ({"DataProcessing": {"JoinSource": "Output"}}, "JoinSource"),
        ({"BadRecordPolicy": "Ignore"}, "BadRecordPolicy"),
        ({"TransformJobName": "bad_name"}, "transformJobName"),
    ],
)
def test_bad_requests_are_refused(model: str, tmp_path: Path, extra: dict, match: str) -> None:
    request = _request("v", tmp_path, tmp_path / "o")
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key] = {**request[key], **value}
        else:
            request[key] = value
    with pytest.raises(ValidationError, match=match):
        TransformJobService().create(request)


def test_failed_job_raises_from_the_python_api(model: str, tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("1,2\n")
    with pytest.raises(AlgorithmError, match="record 1"):
        Transformer("m", output_path=str(tmp_path / "o")).transform(str(src), split_type="Line")
    with pytest.raises(ResourceNotFoundError):
        TransformJobService().describe("nope")


def test_stop(model: str, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", csv_rows(50))
    service = TransformJobService()
    service.create(_request("stopme", src, tmp_path / "out", BatchStrategy="SingleRecord"))
    service.stop("stopme")
    rec = service.wait("stopme", timeout=60)
    assert rec.status in ("Stopped", "Completed")
    if rec.status == "Stopped":
        assert not (tmp_path / "out" / "x.csv.out").exists()


def _big_csv(path: Path, n: int, bad: dict[int, str]) -> list[str]:
    """``n`` CSV lines (about 1 MB per 40,000), some replaced by bad ones (0-based index)."""
    lines = [",".join(f"{v:.3f}" for v in r) for r in csv_rows(n, seed=5)]
    for index, line in bad.items():
        lines[index] = line
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return lines


@pytest.mark.parametrize("workers", [1, 2])
def test_records_are_numbered_across_requests(model: str, tmp_path: Path, workers: int) -> None:
    # 1 MB requests: the bad records sit in later requests of the file
    src = tmp_path / "in" / "big.csv"
    _big_csv(src, 100_000, {50_000: "1,2,oops,4", 90_001: "1,2"})
    service = TransformJobService()
    service.create(_request("fail", src, tmp_path / "out", MaxConcurrentTransforms=workers,
                            MaxPayloadInMB=1))  # fmt: skip
    rec = service.wait("fail", timeout=120)
    assert rec.status == "Failed"
    assert f"{src}, record 50001" in (rec.failure_reason or ""), rec.failure_reason
    assert not (tmp_path / "out" / "big.csv.out").exists()

    service.create(_request("skip", src, tmp_path / "skipped", MaxConcurrentTransforms=workers,
                            MaxPayloadInMB=1, BadRecordPolicy="Skip"))  # fmt: skip
    rec = service.wait("skip", timeout=120)
    assert rec.status == "Completed", rec.failure_reason
    assert rec.progress["RecordsDone"] == 100_000 and rec.progress["RecordsSkipped"] == 2
    report = (tmp_path / "skipped" / "_skipped-records.jsonl").read_text().splitlines()
    assert [json.loads(x)["record"] for x in report] == [50_001, 90_002]
    assert len((tmp_path / "skipped" / "big.csv.out").read_text().splitlines()) == 99_998


def test_plain_and_gzip_files_with_two_workers(model: str, tmp_path: Path) -> None:
    import gzip

    rows = csv_rows(300)
    src = tmp_path / "in"
    write_csv(src / "a.csv", rows[:200])
    text = "\n".join(",".join(f"{v:.3f}" for v in r) for r in rows[200:]) + "\n"
    (src / "b.csv.gz").write_bytes(gzip.compress(text.encode()))
    (src / "empty.csv").write_bytes(b"")
    service = TransformJobService()
    service.create(_request("mixed", src, tmp_path / "out", MaxConcurrentTransforms=2))
    rec = service.wait("mixed", timeout=120)
    assert rec.status == "Completed", rec.failure_reason
    a = np.loadtxt(tmp_path / "out" / "a.csv.out")
    b = np.loadtxt(tmp_path / "out" / "b.csv.gz.out")
    assert a.shape == (200,) and b.shape == (100,)
    assert (tmp_path / "out" / "empty.csv.out").read_bytes() == b""
    assert np.corrcoef(np.concatenate([a, b]), rows.sum(1))[0, 1] > 0.8


class _Counting:
    """A model answering one line per CSV line; a line with ``bad`` in it fails the call."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        self.calls += 1
        if b"bad" in body:
            raise ValidationError("a bad cell")
        return b"".join(b"ok\n" for _ in body.splitlines()), "text/csv"


@pytest.mark.parametrize("skip", [False, True])
def test_bad_records_are_found_by_halving(skip: bool) -> None:
    from openmaker.transform.predicting import Settings, Transformer
    from openmaker.transform.splitting import RecordError, Request

    lines = [b"1,2"] * 1000
    lines[611] = lines[612] = b"bad"
    lines[700] = b""  # a blank line: counted, never sent
    model = _Counting()
    settings = Settings("text/csv", None, "Line", "Line", skip_bad_records=skip, sources=("f",))
    request = Request(0, 101, 1000, b"\n".join(lines) + b"\n")
    if not skip:
        with pytest.raises(RecordError, match="f, record 712: a bad cell"):
            Transformer(model, settings).run(request)
    else:
        result = Transformer(model, settings).run(request)
        assert [n for n, _ in result.skipped] == [712, 713]
        assert result.output == b"ok\n" * 997
    assert model.calls < 60  # not one call per record
