"""Training jobs end to end: the runner, statuses, metrics, artifacts, failures, stop."""

from __future__ import annotations

import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from openmaker import Estimator, TrainingJob, load_model
from openmaker.errors import (
    AlgorithmError,
    ChannelError,
    HyperparameterError,
    ResourceInUseError,
    ResourceNotFoundError,
)
from openmaker.jobs.service import TrainingJobService
from openmaker.store import StatusTransition, TrainingJobRecord, open_store

from ..conftest import make_regression, write_csv

REG = {"num_round": "20", "objective": "reg:squarederror", "max_depth": "3", "eta": "0.3"}


def test_csv_job_completes_with_sagemaker_statuses_metrics_and_model(home, regression_csv):
    est = Estimator("xgboost", REG)
    job = est.fit(
        {"train": str(regression_csv["train"]), "validation": str(regression_csv["validation"])},
        content_type="text/csv",
    )
    rec = job.record
    assert rec.status == "Completed" and rec.secondary_status == "Completed"
    assert [t.status for t in rec.secondary_status_transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all(t.message for t in rec.secondary_status_transitions)
    assert all(t.end_time is not None for t in rec.secondary_status_transitions)
    assert rec.training_start_time <= rec.training_end_time
    # model.tar.gz at <output>/<job>/output/model.tar.gz with SageMaker's layout
    assert est.model_data == str(home / "artifacts" / rec.name / "output" / "model.tar.gz")
    with tarfile.open(est.model_data) as tar:
        assert tar.getnames() == ["xgboost-model"]
    # metrics parsed from the log: a time series and final values
    final = job.final_metrics()
    assert "validation:rmse" in final and "train:rmse" in final
    series = job.metrics()
    rmse = series[series.metric == "validation:rmse"]
    assert list(rmse.step) == list(range(20))
    assert rmse.value.iloc[-1] == pytest.approx(final["validation:rmse"])
    assert rmse.value.iloc[-1] < rmse.value.iloc[0]
    # the log is kept and readable
    lines = list(job.logs())
    assert any(line.startswith("[19]\ttrain-rmse:") for line in lines)
    # describe in SageMaker's shape
    d = job.describe()
    assert d["TrainingJobStatus"] == "Completed"
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == est.model_data
    assert d["OutputDataConfig"]["KmsKeyId"] == ""
    assert d["TrainingTimeInSeconds"] >= 1
    assert {m["MetricName"] for m in d["FinalMetricDataList"]} >= {"validation:rmse"}
    # the model predicts
    model = load_model(est.model_data)
    X, _ = make_regression()
    body = "\n".join(",".join(str(v) for v in row) for row in X[:3]).encode()
    out, ctype = model.predict(body, "text/csv", "application/json")
    assert ctype == "application/json"
    assert len(__import__("json").loads(out)["predictions"]) == 3


@pytest.mark.parametrize(
    "content_type", ["text/libsvm", "application/x-recordio-protobuf", "application/x-parquet"]
)
def test_other_content_types_train(home, tmp_path, content_type):
    from openmaker.data import Dataset, write_dataset

    X, y = make_regression()
    path = tmp_path / "train" / "part-0"
    write_dataset(Dataset(X, y, None), str(path), content_type)
    job = Estimator("xgboost", REG).fit({"train": str(path.parent)}, content_type=content_type)
    assert job.status == "Completed"
    assert "train:rmse" in job.final_metrics()


@pytest.mark.parametrize("content_type", ["text/csv", "application/x-recordio-protobuf"])
def test_pipe_mode(home, tmp_path, content_type):
    from openmaker.data import Dataset, write_dataset

    X, y = make_regression(n=500)
    for i in range(3):  # a folder of several files, streamed
        write_dataset(
            Dataset(X[i::3], y[i::3], None), str(tmp_path / "train" / f"p{i}"), content_type
        )
    job = Estimator("xgboost", REG).fit(
        {"train": str(tmp_path / "train")}, content_type=content_type, input_mode="Pipe"
    )
    rec = job.record
    assert rec.status == "Completed"
    # Pipe mode streams: nothing is downloaded
    assert "Downloading" not in [t.status for t in rec.secondary_status_transitions]


def test_bad_hyperparameters_refused_before_anything_starts(home, regression_csv):
    est = Estimator("xgboost", {"num_round": "10", "eta": "1.5"})
    with pytest.raises(HyperparameterError) as info:
        est.fit({"train": str(regression_csv["train"])}, content_type="text/csv")
    assert info.value.parameter == "eta" and "1.5" in str(info.value)
    with pytest.raises(HyperparameterError, match="num_round"):
        Estimator("xgboost", {"eta": "0.1"}).fit(str(regression_csv["train"]))
    with pytest.raises(HyperparameterError, match="max_deepth"):
        Estimator("xgboost", {"num_round": 1, "max_deepth": 3}).fit(str(regression_csv["train"]))
    with pytest.raises(ChannelError, match="Missing required channel 'train'"):
        Estimator("xgboost", REG).fit({"validation": str(regression_csv["validation"])})
    with pytest.raises(ChannelError, match="Pipe"):
        Estimator("xgboost", REG).fit(
            str(regression_csv["train"]), content_type="text/libsvm", input_mode="Pipe"
        )
    jobs, _ = TrainingJobService().list()
    assert jobs == []  # nothing was recorded or started


def _failed(job_fit) -> TrainingJobRecord:
    with pytest.raises(AlgorithmError):
        job_fit()
    jobs, _ = TrainingJobService().list()
    assert len(jobs) == 1
    rec = jobs[0]
    assert rec.status == "Failed" and rec.secondary_status == "Failed"
    assert rec.training_end_time is not None
    return rec


def test_malformed_csv_fails_naming_file_and_line(home, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3\n0,4,5\n1,6,oops\n")
    rec = _failed(lambda: Estimator("xgboost", REG).fit(str(path), content_type="text/csv"))
    assert rec.failure_reason.startswith("ClientError:")
    assert "bad.csv" in rec.failure_reason and "line 3" in rec.failure_reason


def test_ragged_csv_fails_naming_line(home, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n0,4\n")
    rec = _failed(lambda: Estimator("xgboost", REG).fit(str(path), content_type="text/csv"))
    assert "ragged.csv" in rec.failure_reason and "line 2" in rec.failure_reason


def test_corrupt_recordio_fails_naming_record(home, tmp_path):
    from openmaker.data import Dataset, write_dataset

    X, y = make_regression(n=10)
    path = tmp_path / "train.pbr"
    write_dataset(Dataset(X, y, None), str(path), "application/x-recordio-protobuf")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    rec = _failed(
        lambda: Estimator("xgboost", REG).fit(
            str(path), content_type="application/x-recordio-protobuf"
        )
    )
    assert "train.pbr" in rec.failure_reason and "record" in rec.failure_reason


def test_empty_channel_and_unreadable_uri_fail_clearly(home, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    rec = _failed(lambda: Estimator("xgboost", REG).fit(str(empty), content_type="text/csv"))
    assert "empty.csv" in rec.failure_reason
    TrainingJobService().delete(rec.name)
    missing = tmp_path / "does-not-exist"
    rec = _failed(lambda: Estimator("xgboost", REG).fit(str(missing), content_type="text/csv"))
    assert "does-not-exist" in rec.failure_reason


def test_duplicate_name_and_unknown_job(home, regression_csv):
    est = Estimator("xgboost", REG)
    est.fit(str(regression_csv["train"]), content_type="text/csv", job_name="dup-job")
    with pytest.raises(ResourceInUseError):
        est.fit(str(regression_csv["train"]), content_type="text/csv", job_name="dup-job")
    with pytest.raises(ResourceNotFoundError):
        TrainingJob.attach("no-such-job")
    assert TrainingJob.attach("dup-job").status == "Completed"


def _slow_job(tmp_path: Path, **hp: str) -> dict:
    X, y = make_regression(n=2000, d=20)
    path = write_csv(tmp_path / "big.csv", X, y)
    return {
        "train": str(path),
        "hp": {"num_round": "100000", "max_depth": "8", "eta": "0.01", **hp},
    }


def _wait_for(service: TrainingJobService, name: str, secondary: str, timeout: float = 60) -> None:
    start = time.monotonic()
    while service.get(name).secondary_status != secondary:
        assert time.monotonic() - start < timeout, service.get(name)
        time.sleep(0.2)


def test_stop_keeps_model_when_asked_and_ends_stopped(home, tmp_path):
    slow = _slow_job(tmp_path, save_model_on_termination="true")
    job = Estimator("xgboost", slow["hp"]).fit(slow["train"], content_type="text/csv", wait=False)
    service = TrainingJobService()
    _wait_for(service, job.name, "Training")
    time.sleep(1.5)
    job.stop()
    assert job.status in ("Stopping", "Stopped")
    rec = service.wait(job.name, timeout=60)
    assert rec.status == "Stopped" and rec.secondary_status == "Stopped"
    assert rec.model_artifacts and Path(rec.model_artifacts).exists()
    assert [t.status for t in rec.secondary_status_transitions][-2:] == ["Stopping", "Stopped"]


def test_max_runtime_is_enforced(home, tmp_path):
    slow = _slow_job(tmp_path)
    est = Estimator("xgboost", slow["hp"], max_run=3)
    job = est.fit(slow["train"], content_type="text/csv", wait=False)
    rec = TrainingJobService().wait(job.name, timeout=60)
    assert rec.status == "Stopped" and rec.secondary_status == "MaxRuntimeExceeded"
    assert "MaxRuntimeInSeconds" in rec.failure_reason


def test_several_jobs_run_at_once(home, regression_csv):
    est = Estimator("xgboost", REG)
    jobs = [
        est.fit(str(regression_csv["train"]), content_type="text/csv", wait=False) for _ in range(3)
    ]
    for job in jobs:
        assert job.wait().status == "Completed"
    assert len({j.model_data for j in jobs}) == 3


def test_orphaned_job_is_failed_on_next_start(home):
    now = datetime.now(UTC)
    with open_store() as store:
        store.training_jobs.create(
            TrainingJobRecord(
                name="orphan",
                arn="arn:aws:sagemaker:us-east-1:000000000000:training-job/orphan",
                algorithm="xgboost",
                status="InProgress",
                secondary_status="Training",
                failure_reason=None,
                hyperparameters={},
                algorithm_specification={},
                input_data_config=[],
                output_data_config={},
                resource_config={},
                stopping_condition={},
                checkpoint_config=None,
                environment={},
                tags=[],
                role_arn=None,
                creation_time=now,
                last_modified_time=now,
                training_start_time=now,
                training_end_time=None,
                model_artifacts=None,
                secondary_status_transitions=(StatusTransition("Starting", now, None, "x"),),
                final_metrics=(),
                executor="local",
                executor_handle="pid:999999:1.0@" + __import__("socket").gethostname(),
                job_dir=None,
                tuning_job_arn=None,
            )
        )
    service = TrainingJobService()  # "openmaker next starts"
    rec = service.get("orphan")
    assert rec.status == "Failed"
    assert "restarted" in rec.failure_reason


def test_checkpoints_are_synced_and_resumed(home, tmp_path, regression_csv):
    ckpt = tmp_path / "ckpt"
    hp = {**REG, "num_round": "10"}
    est = Estimator("xgboost", hp, checkpoint_s3_uri=str(ckpt))
    est.fit(str(regression_csv["train"]), content_type="text/csv")
    assert any(ckpt.iterdir())
    est2 = Estimator("xgboost", {**hp, "num_round": "15"}, checkpoint_s3_uri=str(ckpt))
    job = est2.fit(str(regression_csv["train"]), content_type="text/csv")
    lines = list(job.logs())
    rounds = [line for line in lines if line.startswith("[")]
    assert rounds and rounds[0].startswith("[10]")  # resumed after round 9
    assert rounds[-1].startswith("[14]")


def test_user_metric_definitions_are_parsed(home, regression_csv):
    est = Estimator(
        "xgboost",
        REG,
        metric_definitions=[{"Name": "custom:train", "Regex": r"train-rmse:([0-9.]+)"}],
    )
    job = est.fit(str(regression_csv["train"]), content_type="text/csv")
    assert "custom:train" in job.final_metrics()
