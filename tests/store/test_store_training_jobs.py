"""TrainingJobStore: create/get/update/transition/metrics/delete on both backends."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from openmaker.errors import ResourceInUseError, ResourceNotFoundError, StoreError
from openmaker.store import MetricPoint, StatusTransition, Store, TrainingJobRecord
from openmaker.store.schema import training_job_metrics, training_job_transitions

from .conftest import T0, at


def _all_datetimes(record: TrainingJobRecord) -> list[datetime]:
    values = [
        record.creation_time,
        record.last_modified_time,
        record.training_start_time,
        record.training_end_time,
    ]
    for t in record.secondary_status_transitions:
        values += [t.start_time, t.end_time]
    values += [m.timestamp for m in record.final_metrics]
    return [v for v in values if v is not None]


def _rows(store: Store, table, name: str) -> int:
    with store.database.begin() as conn:
        return conn.execute(
            select(func.count()).select_from(table).where(table.c.job_name == name)
        ).scalar_one()


# --- create / get --------------------------------------------------------------------------


def test_create_and_get_round_trip(store: Store, make_record) -> None:
    record = make_record(
        checkpoint_config={"S3Uri": "s3://b/ckpt/", "LocalPath": "/opt/ml/checkpoints"},
        algorithm_specification={
            "TrainingImage": "img",
            "TrainingInputMode": "Pipe",
            "EnableSageMakerMetricsTimeSeries": True,
            "MetricDefinitions": [{"Name": "a:b", "Regex": "x=(\\d+)\\s*é✓"}],
            "Nested": {"list": [1, 2.5, None, False, {"deep": ["ü"]}]},
        },
        hyperparameters={"eta": "0.3", "script": '"train.py"'},
        training_start_time=at(1),
        executor="local",
        executor_handle="pid:1234@host",
        job_dir="/tmp/jobs/job-1",
        tuning_job_arn="arn:aws:sagemaker:us-east-1:0:hyper-parameter-tuning-job/t",
    )
    created = store.training_jobs.create(record)
    assert created == record
    assert store.training_jobs.get(record.name) == record
    assert store.training_jobs.exists(record.name)
    assert not store.training_jobs.exists("other")


def test_create_with_transitions_and_final_metrics(store: Store, make_record) -> None:
    transitions = (
        StatusTransition("Starting", at(0), at(1), "Starting the training job."),
        StatusTransition("Training", at(1), None, "Training in progress."),
    )
    finals = (MetricPoint("train:rmse", 0.5, at(2), 3),)
    record = make_record(
        secondary_status="Training", secondary_status_transitions=transitions, final_metrics=finals
    )
    got = store.training_jobs.create(record)
    assert got.secondary_status_transitions == transitions
    assert got.final_metrics == finals


def test_records_are_immutable_snapshots(store: Store, make_record) -> None:
    created = store.training_jobs.create(make_record())
    with pytest.raises(dataclasses.FrozenInstanceError):
        created.status = "Failed"  # type: ignore[misc]
    created.hyperparameters["num_round"] = "999"
    created.tags.append({"Key": "x", "Value": "y"})
    fresh = store.training_jobs.get(created.name)
    assert fresh.hyperparameters["num_round"] == "10"
    assert fresh.tags == [{"Key": "team", "Value": "ml"}]


def test_duplicate_name_is_in_use(store: Store, make_record) -> None:
    store.training_jobs.create(make_record("dup"))
    with pytest.raises(ResourceInUseError, match="dup"):
        store.training_jobs.create(make_record("dup", algorithm="kmeans"))
    assert store.training_jobs.get("dup").algorithm == "xgboost"


def test_missing_job_is_not_found_everywhere(store: Store) -> None:
    jobs = store.training_jobs
    calls = [
        lambda: jobs.get("ghost"),
        lambda: jobs.update("ghost", job_dir="/x"),
        lambda: jobs.transition("ghost", "Training", "m"),
        lambda: jobs.add_metrics("ghost", [MetricPoint("m", 1.0, T0)]),
        lambda: jobs.add_metrics("ghost", []),
        lambda: jobs.metric_series("ghost"),
        lambda: jobs.delete("ghost"),
    ]
    for call in calls:
        with pytest.raises(ResourceNotFoundError, match="ghost"):
            call()


def test_timestamps_are_aware_utc(store: Store, make_record) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 6, 9, 0, 0, 654321, tzinfo=plus_two)
    store.training_jobs.create(make_record(creation_time=local, last_modified_time=local))
    store.training_jobs.transition("job-1", "Training", "go", training_start_time=local)
    store.training_jobs.add_metrics("job-1", [MetricPoint("m", 1.0, local, 1)])
    got = store.training_jobs.get("job-1")
    assert got.creation_time == local  # the same instant...
    assert got.creation_time.hour == 7  # ...expressed in UTC
    assert got.creation_time.microsecond == 654321
    stamps = _all_datetimes(got) + [p.timestamp for p in store.training_jobs.metric_series("job-1")]
    assert len(stamps) >= 5
    for stamp in stamps:
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(store: Store, make_record) -> None:
    naive = datetime(2024, 1, 1)
    with pytest.raises(ValueError, match="timezone"):
        store.training_jobs.create(make_record(creation_time=naive))
    assert not store.training_jobs.exists("job-1")
    store.training_jobs.create(make_record())
    with pytest.raises(ValueError, match="timezone"):
        store.training_jobs.update("job-1", training_end_time=naive)
    with pytest.raises(ValueError, match="timezone"):
        store.training_jobs.add_metrics(
            "job-1", [MetricPoint("m", 1.0, T0), MetricPoint("m", 2.0, naive)]
        )
    assert store.training_jobs.metric_series("job-1") == []


# --- update ---------------------------------------------------------------------------------


def test_update_sets_mutable_fields_and_bumps_last_modified(store: Store, make_record) -> None:
    store.training_jobs.create(make_record())
    got = store.training_jobs.update(
        "job-1",
        model_artifacts="s3://b/out/job-1/output/model.tar.gz",
        executor_handle="pid:99@h",
        job_dir="/jobs/job-1",
        training_start_time=at(5),
        training_end_time=at(9),
        failure_reason=None,
        tags=[{"Key": "k", "Value": "v"}],
    )
    assert got.model_artifacts == "s3://b/out/job-1/output/model.tar.gz"
    assert got.executor_handle == "pid:99@h"
    assert got.job_dir == "/jobs/job-1"
    assert (got.training_start_time, got.training_end_time) == (at(5), at(9))
    assert got.tags == [{"Key": "k", "Value": "v"}]
    assert got.last_modified_time > T0
    assert got.creation_time == T0
    assert store.training_jobs.get("job-1") == got


def test_update_refuses_unknown_and_immutable_fields(store: Store, make_record) -> None:
    store.training_jobs.create(make_record())
    for field in ("colour", "status", "hyperparameters", "name", "creation_time"):
        with pytest.raises(ValueError, match=field):
            store.training_jobs.update("job-1", **{field: "x"})
    assert store.training_jobs.get("job-1") == make_record()


def test_update_without_fields_changes_nothing(store: Store, make_record) -> None:
    store.training_jobs.create(make_record())
    assert store.training_jobs.update("job-1") == make_record()


# --- transition -----------------------------------------------------------------------------


def test_transitions_follow_sagemaker(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.transition("job-1", "Starting", "Launching requested ML instances.")
    jobs.transition("job-1", "Downloading", "Downloading input data.")
    jobs.transition("job-1", "Training", "Training in progress.", training_start_time=at(3))
    jobs.transition("job-1", "Uploading", "Uploading generated training model.")
    done = jobs.transition(
        "job-1",
        "Completed",
        "Training job completed.",
        status="Completed",
        model_artifacts="s3://b/out/job-1/output/model.tar.gz",
        training_end_time=at(9),
    )
    assert done is not None
    assert (done.status, done.secondary_status) == ("Completed", "Completed")
    assert done.model_artifacts == "s3://b/out/job-1/output/model.tar.gz"
    assert (done.training_start_time, done.training_end_time) == (at(3), at(9))
    history = done.secondary_status_transitions
    assert [t.status for t in history] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all(t.message for t in history)
    for before, after in itertools.pairwise(history):
        assert before.end_time == after.start_time  # closed exactly when the next one opened
    assert history[-1].end_time == history[-1].start_time  # terminal: closed at once
    assert done.last_modified_time == history[-1].start_time
    assert jobs.get("job-1") == done


def test_only_one_open_transition(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    for status in ("Starting", "Downloading", "Training"):
        got = jobs.transition("job-1", status, f"{status}...")
        assert got is not None
        open_ones = [t for t in got.secondary_status_transitions if t.end_time is None]
        assert [t.status for t in open_ones] == [status]


def test_same_status_updates_the_message(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    first = jobs.transition("job-1", "Starting", "Launching requested ML instances.")
    second = jobs.transition("job-1", "Starting", "Preparing the instances for training.")
    assert first is not None and second is not None
    (only,) = second.secondary_status_transitions
    assert only.message == "Preparing the instances for training."
    assert only.start_time == first.secondary_status_transitions[0].start_time
    assert only.end_time is None


def test_failure_sets_reason_and_stopped_statuses(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record("f"))
    jobs.transition("f", "Training", "Training in progress.")
    failed = jobs.transition(
        "f", "Failed", "Training job failed.", status="Failed", failure_reason="AlgorithmError: x"
    )
    assert failed is not None
    assert (failed.status, failed.failure_reason) == ("Failed", "AlgorithmError: x")
    jobs.create(make_record("s"))
    jobs.transition("s", "Stopping", "Stopping the training job.", status="Stopping")
    stopped = jobs.transition(
        "s", "MaxRuntimeExceeded", "Job stopped: MaxRuntimeInSeconds.", status="Stopped"
    )
    assert stopped is not None
    assert stopped.secondary_status_transitions[-1].end_time is not None
    assert stopped.failure_reason is None


def test_compare_and_set(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.transition("job-1", "Training", "Training in progress.")
    stopped = jobs.transition(
        "job-1", "Stopped", "Stopped.", status="Stopped", only_if_status=("InProgress", "Stopping")
    )
    assert stopped is not None and stopped.status == "Stopped"
    # The runner finishing afterwards must not turn a Stopped job into Completed.
    late = jobs.transition(
        "job-1",
        "Completed",
        "Training job completed.",
        status="Completed",
        only_if_status=("InProgress",),
        model_artifacts="s3://late",
    )
    assert late is None
    assert jobs.get("job-1") == stopped


def test_transition_refuses_unknown_values(store: Store, make_record) -> None:
    jobs = store.training_jobs
    before = jobs.create(make_record())
    with pytest.raises(ValueError, match="SecondaryStatus"):
        jobs.transition("job-1", "Dancing", "m")
    with pytest.raises(ValueError, match="TrainingJobStatus"):
        jobs.transition("job-1", "Training", "m", status="Running")
    with pytest.raises(ValueError, match="hyperparameters"):
        jobs.transition("job-1", "Training", "m", hyperparameters={})
    assert jobs.get("job-1") == before


def test_failed_write_leaves_no_partial_state(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    before = jobs.transition("job-1", "Training", "Training in progress.")
    # The transitions are written first; the job row's JSON cannot be encoded: all rolls back.
    with pytest.raises(StoreError):
        jobs.transition("job-1", "Uploading", "Uploading.", tags=[{"Key": object()}])
    assert jobs.get("job-1") == before
    assert _rows(store, training_job_transitions, "job-1") == 1


# --- metrics --------------------------------------------------------------------------------


def test_metrics_series_and_final_values(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.add_metrics(
        "job-1",
        [MetricPoint("train:rmse", 3.0 - i * 0.5, at(i), i) for i in range(3)]
        + [MetricPoint("validation:rmse", 4.0, at(1), 1)],
    )
    # A second batch, out of order: the final value is the latest by time, not by arrival.
    jobs.add_metrics(
        "job-1",
        [MetricPoint("train:rmse", 0.1, at(10), 10), MetricPoint("train:rmse", 9.9, at(5), 5)],
    )
    jobs.add_metrics("job-1", [])
    series = jobs.metric_series("job-1", "train:rmse")
    assert [(p.step, p.value) for p in series] == [
        (0, 3.0),
        (1, 2.5),
        (2, 2.0),
        (5, 9.9),
        (10, 0.1),
    ]
    assert all(p.name == "train:rmse" for p in series)
    everything = jobs.metric_series("job-1")
    assert len(everything) == 6
    assert [p.timestamp for p in everything] == sorted(p.timestamp for p in everything)
    assert jobs.metric_series("job-1", "nope") == []
    finals = {p.name: p for p in jobs.get("job-1").final_metrics}
    assert finals["train:rmse"] == MetricPoint("train:rmse", 0.1, at(10), 10)
    assert finals["validation:rmse"] == MetricPoint("validation:rmse", 4.0, at(1), 1)


def test_metrics_same_timestamp_ordered_by_step(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.add_metrics("job-1", [MetricPoint("m", float(s), T0, s) for s in (3, 1, 2)])
    jobs.add_metrics("job-1", [MetricPoint("m", -1.0, T0, None)])
    assert [p.step for p in jobs.metric_series("job-1")] == [None, 1, 2, 3]
    assert jobs.get("job-1").final_metrics[0].step == 3


def test_metric_values_round_trip_exactly(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    values = [0.1, 1e-300, -2.5e300, 123456789.123456789, math.inf, -math.inf, math.nan]
    jobs.add_metrics("job-1", [MetricPoint("m", v, at(i), i) for i, v in enumerate(values)])
    got = [p.value for p in jobs.metric_series("job-1")]
    assert got[:-1] == values[:-1]
    assert math.isnan(got[-1])
    assert math.isnan(jobs.get("job-1").final_metrics[0].value)


def test_metrics_do_not_touch_last_modified(store: Store, make_record) -> None:
    store.training_jobs.create(make_record())
    store.training_jobs.add_metrics("job-1", [MetricPoint("m", 1.0, at(1))])
    assert store.training_jobs.get("job-1").last_modified_time == T0


# --- delete / active -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_delete_refuses_running_jobs(store: Store, make_record, status: str) -> None:
    store.training_jobs.create(make_record(status=status, secondary_status="Training"))
    with pytest.raises(ResourceInUseError, match=status):
        store.training_jobs.delete("job-1")
    assert store.training_jobs.exists("job-1")


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped"])
def test_delete_removes_everything_and_frees_the_name(
    store: Store, make_record, status: str
) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.transition("job-1", "Training", "Training in progress.")
    jobs.add_metrics("job-1", [MetricPoint("m", 1.0, at(1))])
    jobs.transition("job-1", status, "done", status=status)
    jobs.delete("job-1")
    assert not jobs.exists("job-1")
    assert _rows(store, training_job_transitions, "job-1") == 0
    assert _rows(store, training_job_metrics, "job-1") == 0
    again = jobs.create(make_record())
    assert again.secondary_status_transitions == ()
    assert jobs.metric_series("job-1") == []


def test_foreign_keys_cascade(store: Store, make_record) -> None:
    jobs = store.training_jobs
    jobs.create(make_record())
    jobs.transition("job-1", "Training", "Training in progress.")
    jobs.add_metrics("job-1", [MetricPoint("m", 1.0, at(1))])
    from openmaker.store.schema import training_jobs

    with store.database.begin(write=True) as conn:
        conn.execute(training_jobs.delete().where(training_jobs.c.name == "job-1"))
    assert _rows(store, training_job_transitions, "job-1") == 0
    assert _rows(store, training_job_metrics, "job-1") == 0


def test_active_lists_running_jobs_oldest_first(store: Store, make_record) -> None:
    statuses = ["Completed", "InProgress", "Stopping", "Failed", "Stopped", "InProgress"]
    for i, status in enumerate(statuses):
        store.training_jobs.create(make_record(f"j{i}", status=status, creation_time=at(-i)))
    assert [r.name for r in store.training_jobs.active()] == ["j5", "j2", "j1"]


def test_record_defaults() -> None:
    record = TrainingJobRecord(name="n", arn="a", algorithm="pca")
    assert (record.status, record.secondary_status) == ("InProgress", "Starting")
    assert record.creation_time.tzinfo is UTC
    assert not record.is_terminal
