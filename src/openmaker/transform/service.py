"""Transform jobs in the service layer: create, describe, list, stop, wait, logs, recovery.

``CreateTransformJob`` is validated here before anything starts: the name, an existing model,
``TransformInput`` (``S3Uri``, ``SplitType`` None/Line/RecordIO, ``CompressionType``),
``TransformOutput`` (``S3OutputPath``, ``AssembleWith`` None/Line), ``BatchStrategy``
(default ``MultiRecord``), ``MaxPayloadInMB`` (default 6, at most 100, and
``MaxConcurrentTransforms * MaxPayloadInMB <= 100``), ``MaxConcurrentTransforms`` (default
and 0: 1), ``Environment`` (at most 16) and ``DataProcessing`` (the JSONPath subset of
:mod:`openmaker.transform.jsonpath`). openmaker extension: ``BadRecordPolicy`` ``Fail``
(default) or ``Skip`` (bad records are left out and listed in
``<S3OutputPath>/_skipped-records.jsonl`` and the log).

The job then runs in a detached supervisor (:mod:`openmaker.transform.runner`) started through
the executor; status ``InProgress`` -> ``Completed`` / ``Failed`` / (``Stopping`` ->)
``Stopped``, every change a compare-and-set.
"""

from __future__ import annotations

import builtins
import copy
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openmaker.errors import PlatformError, ValidationError
from openmaker.executors import Executor, get_executor
from openmaker.hosting.names import check_name
from openmaker.settings import get_settings
from openmaker.store import Store, TransformJobRecord, open_store
from openmaker.store.types import utcnow

TERMINAL = ("Completed", "Failed", "Stopped")
ACTIVE = ("InProgress", "Stopping")
SPLIT_TYPES = ("None", "Line", "RecordIO")
STRATEGIES = ("MultiRecord", "SingleRecord")


def runner_name(job: str) -> str:
    """The executor job name of a transform supervisor (never a training job name)."""
    return f"_transform/{job}"


def job_dir(job: str) -> Path:
    """The job's folder (its log is ``runner.log`` there)."""
    return get_settings().jobs_dir / "_transform" / job


class TransformJobService:
    """The one implementation of transform-job operations."""

    def __init__(
        self, store: Store | None = None, executor: Executor | None = None, *, recover: bool = True
    ) -> None:
        self.store = store or open_store()
        self.executor = executor or get_executor()
        if recover:
            self.recover_orphans()

    # --- create ----------------------------------------------------------------------------
    def validate(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The request with defaults filled in.

        Raises:
            ValidationError: any invalid field (the message names it).
        """
        from openmaker.transform.predicting import Settings, check_filters

        req = copy.deepcopy(dict(request))
        check_name(req.get("TransformJobName"), "TransformJobName")
        model = req.get("ModelName")
        if not model or not self.store.models.exists(model):
            raise ValidationError(f"Could not find model {model!r}.")
        tin = req.get("TransformInput") or {}
        uri = ((tin.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        if not uri:
            raise ValidationError("TransformInput.DataSource.S3DataSource.S3Uri is required")
        tin["DataSource"]["S3DataSource"].setdefault("S3DataType", "S3Prefix")
        from openmaker.data.manifest import check_transform_input

        check_transform_input(tin["DataSource"]["S3DataSource"])
        tin.setdefault("SplitType", "None")
        tin.setdefault("CompressionType", "None")
        if tin["SplitType"] not in SPLIT_TYPES:
            raise ValidationError(
                f"TransformInput.SplitType must be one of {', '.join(SPLIT_TYPES)}; "
                f"got {tin['SplitType']!r}"
            )
        if tin["CompressionType"] not in ("None", "Gzip"):
            raise ValidationError("TransformInput.CompressionType must be None or Gzip")
        tin.setdefault("ContentType", "text/csv")
        req["TransformInput"] = tin
        tout = dict(req.get("TransformOutput") or {})
        if not tout.get("S3OutputPath"):
            raise ValidationError("TransformOutput.S3OutputPath is required")
        tout.setdefault("AssembleWith", "None")
        if tout["AssembleWith"] not in ("None", "Line"):
            raise ValidationError("TransformOutput.AssembleWith must be None or Line")
        req["TransformOutput"] = tout
        req.setdefault("BatchStrategy", "MultiRecord")
        if req["BatchStrategy"] not in STRATEGIES:
            raise ValidationError(f"BatchStrategy must be one of {', '.join(STRATEGIES)}")
        concurrent = req.get("MaxConcurrentTransforms") or 1
        payload = req.get("MaxPayloadInMB", 6)
        for field, value in (("MaxConcurrentTransforms", concurrent), ("MaxPayloadInMB", payload)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"{field} must be an integer >= 0; got {value!r}")
        if payload > 100 or concurrent * payload > 100:
            raise ValidationError(
                "MaxPayloadInMB must be at most 100 and MaxConcurrentTransforms * "
                f"MaxPayloadInMB at most 100; got {concurrent} * {payload}"
            )
        req["MaxConcurrentTransforms"] = concurrent
        req["MaxPayloadInMB"] = payload
        env = req.setdefault("Environment", {})
        if not isinstance(env, dict) or len(env) > 16:
            raise ValidationError("Environment must be a map of at most 16 entries")
        resources = req.setdefault("TransformResources", {})
        resources.setdefault("InstanceType", "ml.m5.large")
        resources.setdefault("InstanceCount", 1)
        processing = req.setdefault("DataProcessing", {})
        processing.setdefault("InputFilter", "$")
        processing.setdefault("OutputFilter", "$")
        processing.setdefault("JoinSource", "None")
        if processing["JoinSource"] not in ("None", "Input"):
            raise ValidationError("DataProcessing.JoinSource must be None or Input")
        policy = req.setdefault("BadRecordPolicy", "Fail")
        if policy not in ("Fail", "Skip"):
            raise ValidationError("BadRecordPolicy must be Fail or Skip")
        check_filters(
            Settings(
                content_type=tin["ContentType"],
                accept=tout.get("Accept"),
                split_type=tin["SplitType"],
                assemble_with=tout["AssembleWith"],
                input_filter=processing["InputFilter"],
                output_filter=processing["OutputFilter"],
                join_source=processing["JoinSource"],
            )
        )
        return req

    def create(self, request: Mapping[str, Any]) -> TransformJobRecord:
        """CreateTransformJob: validate, record ``InProgress``, start the supervisor.

        Raises:
            ValidationError: a bad request (nothing started).
            ResourceInUseError: a job of that name exists.
        """
        req = self.validate(request)
        name = req["TransformJobName"]
        now = utcnow()
        record = TransformJobRecord(
            name=name,
            arn=get_settings().arn("transform-job", name),
            model_name=req["ModelName"],
            status="InProgress",
            request=req,
            progress={"FilesTotal": 0, "FilesDone": 0, "RecordsDone": 0, "RecordsSkipped": 0},
            executor=self.executor.name,
            job_dir=str(job_dir(name)),
            creation_time=now,
            last_modified_time=now,
        )
        self.store.transform_jobs.create(record)
        try:
            handle = self.executor.submit(runner_name(name), runner="openmaker.transform.runner")
        except Exception as exc:
            self.store.transform_jobs.update(
                name,
                only_if_status=ACTIVE,
                status="Failed",
                failure_reason=PlatformError(f"could not start the job: {exc}").failure_reason,
            )
            raise
        updated = self.store.transform_jobs.update(name, executor_handle=handle)
        assert updated is not None
        return updated

    # --- read ------------------------------------------------------------------------------
    def get(self, name: str) -> TransformJobRecord:
        """The job's record."""
        return self.store.transform_jobs.get(name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTransformJob (plus openmaker's ``Progress``)."""
        rec = self.get(name)
        req = rec.request
        out: dict[str, Any] = {
            "TransformJobName": rec.name,
            "TransformJobArn": rec.arn,
            "TransformJobStatus": rec.status,
            "ModelName": rec.model_name,
            "MaxConcurrentTransforms": req.get("MaxConcurrentTransforms"),
            "MaxPayloadInMB": req.get("MaxPayloadInMB"),
            "BatchStrategy": req.get("BatchStrategy"),
            "Environment": dict(req.get("Environment") or {}),
            "TransformInput": req.get("TransformInput"),
            "TransformOutput": req.get("TransformOutput"),
            "TransformResources": req.get("TransformResources"),
            "DataProcessing": req.get("DataProcessing"),
            "CreationTime": rec.creation_time,
            "LastModifiedTime": rec.last_modified_time,
            "Progress": dict(rec.progress),
        }
        if rec.failure_reason:
            out["FailureReason"] = rec.failure_reason
        if rec.transform_start_time:
            out["TransformStartTime"] = rec.transform_start_time
        if rec.transform_end_time:
            out["TransformEndTime"] = rec.transform_end_time
        return out

    def list(self, **filters: Any) -> tuple[list[TransformJobRecord], str | None]:
        """ListTransformJobs."""
        return self.store.transform_jobs.list(**filters)

    # --- control ---------------------------------------------------------------------------
    def stop(self, name: str) -> TransformJobRecord:
        """StopTransformJob: ``Stopping``; the supervisor stops and removes partial output."""
        rec = self.get(name)
        if rec.status in ("Stopping", "Stopped"):
            return rec
        if rec.status != "InProgress":
            raise ValidationError(f"Transform job {name!r} is {rec.status} and cannot be stopped")
        self.store.transform_jobs.update(name, only_if_status=("InProgress",), status="Stopping")
        if rec.executor_handle and self.executor.is_alive(rec.executor_handle) is False:
            self._mark_lost(self.get(name))
        return self.get(name)

    def wait(
        self,
        name: str,
        *,
        poll: float = 0.2,
        timeout: float | None = None,
        on_update: Callable[[TransformJobRecord], None] | None = None,
    ) -> TransformJobRecord:
        """Block until the job ends; ``on_update`` sees every change."""
        from openmaker.jobs.supervision import wait_until_terminal

        return wait_until_terminal(
            self.get,
            name,
            terminal=TERMINAL,
            executor=self.executor,
            mark_lost=self._mark_lost,
            what="transform job",
            poll=poll,
            timeout=timeout,
            on_update=on_update,
        )

    def log_file(self, name: str) -> Path:
        """The supervisor's log."""
        rec = self.get(name)
        return Path(rec.job_dir or job_dir(name)) / "runner.log"

    def logs(self, name: str, *, follow: bool = False, poll: float = 0.3) -> Iterator[str]:
        """The job's log lines; with ``follow``, until the job ends."""
        position = 0
        while True:
            done = self.get(name).status in TERMINAL
            path = self.log_file(name)
            if path.exists():
                with open(path, "rb") as f:
                    f.seek(position)
                    chunk = f.read()
                end = chunk.rfind(b"\n") + 1 if not done else len(chunk)
                yield from chunk[:end].decode("utf-8", "replace").splitlines()
                position += end
            if not follow or done:
                return
            time.sleep(poll)

    # --- recovery --------------------------------------------------------------------------
    def recover_orphans(self) -> builtins.list[str]:
        """Settle active jobs whose supervisor is gone. Returns their names."""
        lost = []
        for rec in self.store.transform_jobs.all(status_in=ACTIVE):
            if rec.executor != self.executor.name:
                continue
            if rec.executor_handle is None:
                if datetime.now(UTC) - rec.creation_time < timedelta(seconds=30):
                    continue
            elif self.executor.is_alive(rec.executor_handle) is not False:
                continue
            if self._mark_lost(rec):
                lost.append(rec.name)
        return lost

    def _mark_lost(self, rec: TransformJobRecord) -> bool:
        if rec.status == "Stopping":
            done = self.store.transform_jobs.update(
                rec.name, only_if_status=("Stopping",), status="Stopped",
                transform_end_time=utcnow(),
            )  # fmt: skip
        else:
            reason = PlatformError(
                "the job's process ended without reporting a result (the machine or openmaker "
                "was restarted, or the process was killed)"
            ).failure_reason
            done = self.store.transform_jobs.update(
                rec.name, only_if_status=("InProgress",), status="Failed",
                failure_reason=reason, transform_end_time=utcnow(),
            )  # fmt: skip
        return done is not None
