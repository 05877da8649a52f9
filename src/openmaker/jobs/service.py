"""Training jobs in the service layer: create, describe, list, stop, delete, wait, logs.

Requests use SageMaker's CreateTrainingJob shape (a dict), so the Python API, the CLI and the
HTTP API all go through :meth:`TrainingJobService.create`. The request itself (name, algorithm,
channels, limits) is checked here, before anything starts, and refused with a
:class:`~openmaker.errors.ValidationError`.

The hyperparameters' values are the algorithm's business, as on SageMaker: a request whose
hyperparameters the algorithm refuses is accepted, and the job fails at once (``Starting`` then
``Failed``, in the same call, with no host started and no algorithm library imported), its
``FailureReason`` ``ClientError: <what is wrong and what is allowed>`` and the same line in its
log. Clients see the failure the way they see SageMaker's: the SDK's ``fit()`` raises
``UnexpectedStatusException``, and a tuning job's trials whose combination the algorithm
refuses end ``Failed`` while the others go on. ``create(..., strict=True)`` refuses such a
request instead (nothing recorded): ``openmaker.Estimator`` and ``openmaker train`` use it, so
a typo shows at once.
"""

from __future__ import annotations

import builtins
import copy
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openmaker.errors import HyperparameterError, OpenmakerError, ValidationError
from openmaker.executors import Executor, get_executor
from openmaker.jobs.layout import JobLayout
from openmaker.jobs.names import validate_name
from openmaker.settings import Settings, get_settings
from openmaker.store import StatusTransition, Store, TrainingJobRecord, open_store

TERMINAL = ("Completed", "Failed", "Stopped")
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/openmaker"
DEFAULT_MAX_RUNTIME = 86400


class TrainingJobService:
    """The one implementation of training-job operations.

    Args:
        store: metadata store (default: opened from the settings).
        executor: where supervisors run (default: from the settings).
        recover: mark jobs whose supervisor died (machine restart) as Failed on start.
    """

    def __init__(
        self,
        store: Store | None = None,
        executor: Executor | None = None,
        *,
        recover: bool = True,
    ) -> None:
        self.settings: Settings = get_settings()
        self.store = store or open_store()
        self.executor = executor or get_executor()
        if recover:
            self.recover_orphans()

    # --- create ------------------------------------------------------------------------
    def create(self, request: Mapping[str, Any], *, strict: bool = False) -> TrainingJobRecord:
        """CreateTrainingJob: validate, record, start. Returns the new record.

        Args:
            request: the CreateTrainingJob request.
            strict: refuse hyperparameters the algorithm would refuse (HyperparameterError,
                nothing recorded). Without it such a job is recorded and fails at once, as on
                SageMaker (see the module docstring).

        Raises:
            ValidationError: bad name, algorithm, channel or setting (and, with ``strict``,
                a bad hyperparameter: HyperparameterError).
            ResourceInUseError: a job of that name exists.
        """
        from openmaker.algorithms import registry

        req = copy.deepcopy(dict(request))
        name = validate_name(req.get("TrainingJobName", ""))
        algo_spec = req.get("AlgorithmSpecification") or {}
        image = algo_spec.get("TrainingImage") or algo_spec.get("AlgorithmName")
        if not image:
            raise ValidationError(
                "AlgorithmSpecification must name a TrainingImage or an AlgorithmName"
            )
        spec = registry.resolve_image(image)
        mode = algo_spec.setdefault("TrainingInputMode", "File")
        if mode not in ("File", "Pipe", "FastFile"):
            raise ValidationError(f"TrainingInputMode {mode!r} must be File, Pipe or FastFile")

        hyperparameters = {str(k): _wire(v) for k, v in (req.get("HyperParameters") or {}).items()}
        refused: HyperparameterError | None = None
        try:
            spec.validate_hyperparameters(hyperparameters)
        except HyperparameterError as exc:
            if strict:
                raise
            refused = exc  # the job is recorded, then fails at once (after the other checks)

        channels = req.get("InputDataConfig") or []
        if not isinstance(channels, list):
            raise ValidationError("InputDataConfig must be a list of channels")
        declared: dict[str, tuple[str | None, str]] = {}
        for ch in channels:
            cname = ch.get("ChannelName")
            if not cname:
                raise ValidationError("Every channel needs a ChannelName")
            if cname in declared:
                raise ValidationError(f"Channel {cname!r} is given twice")
            uri = ((ch.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
            if not uri:
                raise ValidationError(f"Channel {cname!r} needs DataSource.S3DataSource.S3Uri")
            ch["DataSource"]["S3DataSource"].setdefault("S3DataType", "S3Prefix")
            ch["DataSource"]["S3DataSource"].setdefault("S3DataDistributionType", "FullyReplicated")
            ch_mode = ch.get("InputMode") or mode
            if ch_mode == "FastFile":
                ch_mode = "File"  # FastFile streams on demand; our local links behave the same
            declared[cname] = (ch.get("ContentType"), ch_mode)
        canonical = spec.validate_channels(declared)
        from openmaker.data.manifest import check_training_channel

        for ch in channels:  # S3DataType vs. input mode, AttributeNames, content type
            cname = ch["ChannelName"]
            check_training_channel(ch, declared[cname][1], canonical[cname])

        resource = dict(req.get("ResourceConfig") or {})
        resource.setdefault("InstanceType", "ml.m5.large")
        resource.setdefault("InstanceCount", 1)
        resource.setdefault("VolumeSizeInGB", 30)
        if int(resource["InstanceCount"]) < 1:
            raise ValidationError("ResourceConfig.InstanceCount must be at least 1")
        if int(resource["InstanceCount"]) > 1 and not spec.supports_distributed:
            able = [n for n in registry.names() if registry.get(n).supports_distributed]
            raise ValidationError(
                f"Algorithm {spec.name!r} does not support InstanceCount > 1; "
                f"distributed training: {', '.join(able) or 'none'}"
            )
        retry = req.get("RetryStrategy")
        if retry is not None:
            # kept with the ResourceConfig (the store has no column for it); DescribeTrainingJob
            # shows it at the top level, as SageMaker does
            resource["RetryStrategy"] = _retry_strategy(retry)
        check_resources = getattr(self.executor, "check_resource_config", None)
        if check_resources is not None:
            check_resources(resource)  # e.g. the ray executor knows the InstanceType
        stopping = dict(req.get("StoppingCondition") or {})
        stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        if int(stopping["MaxRuntimeInSeconds"]) < 1:
            raise ValidationError("StoppingCondition.MaxRuntimeInSeconds must be at least 1")
        output = dict(req.get("OutputDataConfig") or {})
        output.setdefault("S3OutputPath", self.settings.artifacts_uri)

        created = datetime.now(UTC)
        record = TrainingJobRecord(
            name=name,
            arn=self.settings.arn("training-job", name),
            algorithm=spec.name,
            status="InProgress",
            secondary_status="Starting",
            failure_reason=None,
            hyperparameters=hyperparameters,
            algorithm_specification=algo_spec,
            input_data_config=channels,
            output_data_config=output,
            resource_config=resource,
            stopping_condition=stopping,
            checkpoint_config=req.get("CheckpointConfig"),
            environment=dict(req.get("Environment") or {}),
            tags=list(req.get("Tags") or []),
            role_arn=req.get("RoleArn") or DEFAULT_ROLE,
            creation_time=created,
            last_modified_time=created,
            training_start_time=None,
            training_end_time=None,
            model_artifacts=None,
            secondary_status_transitions=(
                StatusTransition("Starting", created, None, "Starting the training job"),
            ),
            final_metrics=(),
            executor=self.executor.name,
            executor_handle=None,
            job_dir=str(self.settings.jobs_dir / name),
            tuning_job_arn=req.get("TuningJobArn"),
        )
        self.store.training_jobs.create(record)
        if refused is not None:
            return self._fail_at_start(record, refused)
        try:
            single = int(resource["InstanceCount"]) == 1
            if self.executor.name == "local" and single and not record.environment:
                # the algorithm's process starts with the supervisor (see openmaker.jobs.warm)
                handle = self.executor.submit(name, "openmaker.jobs.warm", (spec.name,))
            else:
                handle = self.executor.submit(name)
        except Exception as exc:
            from openmaker.errors import PlatformError

            reason = PlatformError(f"could not start the job: {exc}").failure_reason
            self.store.training_jobs.transition(
                name, "Failed", "Training job failed", status="Failed", failure_reason=reason
            )
            raise
        return self.store.training_jobs.update(name, executor_handle=handle)

    def _fail_at_start(self, record: TrainingJobRecord, error: OpenmakerError) -> TrainingJobRecord:
        """End a job the algorithm refuses before it runs: its log and ``output/failure`` hold
        the reason, as if the algorithm had printed it, and it is ``Failed`` when create returns."""
        reason = error.failure_reason
        layout = JobLayout(Path(record.job_dir or self.settings.jobs_dir / record.name))
        layout.log_file.parent.mkdir(parents=True, exist_ok=True)
        layout.log_file.write_text(reason + "\n")
        layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
        layout.failure_file.write_text(reason)
        failed = self.store.training_jobs.transition(
            record.name,
            "Failed",
            "Training job failed",
            status="Failed",
            failure_reason=reason[:1024],
            only_if_status=("InProgress",),
            training_end_time=datetime.now(UTC),
        )
        return failed or self.get(record.name)

    # --- read ----------------------------------------------------------------------------
    def get(self, name: str) -> TrainingJobRecord:
        """The job's record (ResourceNotFoundError if unknown)."""
        return self.store.training_jobs.get(name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob."""
        from openmaker.jobs.describe import describe

        return describe(self.get(name))

    def list(self, **filters: Any) -> tuple[builtins.list[TrainingJobRecord], str | None]:
        """ListTrainingJobs (filters as in :meth:`TrainingJobStore.list`)."""
        return self.store.training_jobs.list(**filters)

    def metrics(self, name: str, metric_name: str | None = None) -> builtins.list[Any]:
        """The metric time series of a job."""
        self.get(name)
        return self.store.training_jobs.metric_series(name, metric_name)

    # --- control ---------------------------------------------------------------------------
    def stop(self, name: str) -> TrainingJobRecord:
        """StopTrainingJob: the supervisor sends SIGTERM, waits, then SIGKILL; model kept."""
        rec = self.get(name)
        if rec.status == "Stopping":
            return rec
        if rec.status != "InProgress":
            raise ValidationError(
                f"The training job {name!r} is in status {rec.status} and cannot be stopped"
            )
        self.store.training_jobs.transition(
            name,
            "Stopping",
            "Stopping the training job",
            status="Stopping",
            only_if_status=("InProgress",),
        )
        if rec.executor_handle and self.executor.is_alive(rec.executor_handle) is False:
            self._mark_lost(self.get(name))
        return self.get(name)

    def delete(self, name: str) -> None:
        """DeleteTrainingJob (terminal jobs only); removes the job folder too."""
        import shutil

        rec = self.get(name)
        self.store.training_jobs.delete(name)
        if rec.job_dir and Path(rec.job_dir).exists():
            shutil.rmtree(rec.job_dir, ignore_errors=True)

    def wait(
        self,
        name: str,
        *,
        poll: float = 0.05,
        timeout: float | None = None,
        on_update: Callable[[TrainingJobRecord], None] | None = None,
    ) -> TrainingJobRecord:
        """Block until the job is terminal; ``on_update`` sees every change. Returns the record.

        ``poll`` is short because a read of the record costs ~1 ms (2 % of a core at 0.05 s),
        while a job's end is noticed on average ``poll / 2`` late: with a standby a small job
        runs in 0.3 s, so the former 0.25 s cost it 40 %.
        """
        from openmaker.jobs.supervision import wait_until_terminal

        return wait_until_terminal(
            self.get,
            name,
            terminal=TERMINAL,
            executor=self.executor,
            mark_lost=self._mark_lost,
            what="training job",
            poll=poll,
            timeout=timeout,
            on_update=on_update,
            check_alive_every=5.0,
        )

    # --- logs ------------------------------------------------------------------------------
    def log_file(self, name: str) -> Path:
        """Where the job's log is kept."""
        rec = self.get(name)
        root = Path(rec.job_dir) if rec.job_dir else self.settings.jobs_dir / name
        return JobLayout(root).log_file

    def log_chunk(self, name: str, position: int = 0) -> tuple[builtins.list[str], int]:
        """Complete log lines written after byte ``position``, and the position after them."""
        path = self.log_file(name)
        if not path.exists():
            return [], position
        with open(path, "rb") as f:
            f.seek(position)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        lines = chunk[:end].decode("utf-8", "replace").splitlines()
        return lines, position + end

    def logs(self, name: str, *, follow: bool = False, poll: float = 0.3) -> Iterator[str]:
        """The job's log lines; with ``follow``, keep yielding until the job is terminal."""
        position = 0
        while True:
            done = self.get(name).status in TERMINAL
            lines, position = self.log_chunk(name, position)
            yield from lines
            if not follow or done:
                path = self.log_file(name)
                if path.exists():  # a last line without its newline
                    with open(path, "rb") as f:
                        f.seek(position)
                        rest = f.read().decode("utf-8", "replace")
                    if rest:
                        yield rest
                return
            time.sleep(poll)

    # --- recovery --------------------------------------------------------------------------
    def recover_orphans(self) -> builtins.list[str]:
        """Mark InProgress/Stopping jobs whose supervisor is gone as Failed. Returns their names."""
        lost = []
        grace = timedelta(seconds=30)
        for rec in self.store.training_jobs.active():
            if rec.executor != self.executor.name:
                continue
            if rec.executor_handle is None:
                if datetime.now(UTC) - rec.creation_time < grace:
                    continue  # being submitted right now
            elif self.executor.is_alive(rec.executor_handle) is not False:
                continue
            if self._mark_lost(rec):
                lost.append(rec.name)
        return lost

    def _mark_lost(self, rec: TrainingJobRecord) -> bool:
        from openmaker.errors import PlatformError

        if rec.status == "Stopping":
            done = self.store.training_jobs.transition(
                rec.name,
                "Stopped",
                "Training job stopped",
                status="Stopped",
                only_if_status=("Stopping",),
                training_end_time=datetime.now(UTC),
            )
        else:
            reason = PlatformError(
                "the job's process ended without reporting a result "
                "(the machine or openmaker was restarted, or the process was killed)"
            ).failure_reason
            done = self.store.training_jobs.transition(
                rec.name,
                "Failed",
                "Training job failed",
                status="Failed",
                failure_reason=reason,
                only_if_status=("InProgress",),
                training_end_time=datetime.now(UTC),
            )
        return done is not None


def _retry_strategy(retry: Any) -> dict[str, int]:
    """``RetryStrategy``: ``MaximumRetryAttempts`` 1-30. A job whose host is lost (its node or
    process vanished) is restarted up to that many times; other failures are not retried."""
    attempts = retry.get("MaximumRetryAttempts") if isinstance(retry, dict) else None
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 30:
        raise ValidationError(
            f"RetryStrategy.MaximumRetryAttempts must be an integer in [1, 30]; got {attempts!r}"
        )
    return {"MaximumRetryAttempts": attempts}


def _wire(value: Any) -> str:
    """Hyperparameter values travel as strings, as in SageMaker."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return str(value)
