"""The hyperparameter-tuning-job aggregate: one row per tuning job.

The children are ordinary training jobs (``training_jobs.tuning_job_arn`` points here), so the
counters, the best job and the child listing are computed from them when asked; the row keeps
only what the children cannot tell: the request, the status, the Optuna study's name and the
children that could not even be created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openmaker.store import missing
from openmaker.store.record_store import RecordStore
from openmaker.store.schema import hyperparameter_tuning_jobs
from openmaker.store.types import utcnow

#: ``HyperParameterTuningJobStatus`` values.
TUNING_JOB_STATUSES: frozenset[str] = frozenset(
    {"InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting", "DeleteFailed"}
)
#: Statuses after which no supervisor runs any more.
TUNING_TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True, kw_only=True)
class TuningJobRecord:
    """A hyperparameter tuning job (``CreateHyperParameterTuningJob``).

    Attributes:
        name: ``HyperParameterTuningJobName`` (1-32 characters).
        arn: its ARN.
        status: ``HyperParameterTuningJobStatus``.
        failure_reason: why it failed, when it did.
        strategy: ``Bayesian``, ``Random``, ``Grid`` or ``Hyperband`` (for listings).
        tuning_job_config: the validated ``HyperParameterTuningJobConfig``.
        training_job_definition: the validated ``TrainingJobDefinition`` (its
            ``StaticHyperParameters`` hold ``_tuning_objective_metric``).
        warm_start_config: ``WarmStartConfig`` as given, or ``None``.
        tags: ``[{"Key":..., "Value":...}]``.
        study_name: the Optuna study (in the same database) that proposes the parameters.
        launch_failures: children whose ``CreateTrainingJob`` was refused (counted as
            ``NonRetryableError``; they have no training-job record).
        completion_details: ``TuningJobCompletionDetails`` once known.
        executor: where the supervisor runs.
        executor_handle: the supervisor's handle.
        creation_time: when it was created.
        last_modified_time: last change of this row.
        end_time: ``HyperParameterTuningEndTime``.
    """

    name: str
    arn: str
    status: str = "InProgress"
    failure_reason: str | None = None
    strategy: str = "Bayesian"
    tuning_job_config: dict[str, Any] = field(default_factory=dict)
    training_job_definition: dict[str, Any] = field(default_factory=dict)
    warm_start_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    study_name: str = ""
    launch_failures: int = 0
    completion_details: dict[str, Any] | None = None
    executor: str | None = None
    executor_handle: str | None = None
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    end_time: datetime | None = None


class TuningJobStore(RecordStore[TuningJobRecord]):
    """Hyperparameter tuning jobs in the metadata store."""

    table = hyperparameter_tuning_jobs
    record_type = TuningJobRecord
    kind = "Hyperparameter tuning job"
    resource = missing.TUNING_JOB
    sort_fields = ("Name", "CreationTime", "Status")
    statuses = TUNING_JOB_STATUSES
