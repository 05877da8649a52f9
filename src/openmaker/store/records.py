"""Immutable snapshots the stores return, and the status vocabulary of training jobs.

Records are frozen dataclasses built fresh from the database on every read: changing a
returned record (or a dict inside it) never changes what is stored. Build a changed copy with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openmaker.store.types import utcnow

#: ``TrainingJobStatus`` values.
TRAINING_JOB_STATUSES: frozenset[str] = frozenset(
    {"InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting"}
)
#: Primary statuses a job can be deleted in.
TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Stopped"})
#: Primary statuses of a job that still has (or may have) a process behind it.
ACTIVE_STATUSES: frozenset[str] = frozenset({"InProgress", "Stopping"})
#: ``SecondaryStatus`` values.
SECONDARY_STATUSES: frozenset[str] = frozenset(
    {
        "Starting",
        "LaunchingMLInstances",
        "PreparingTrainingStack",
        "Downloading",
        "DownloadingTrainingImage",
        "Training",
        "Uploading",
        "Stopping",
        "Stopped",
        "MaxRuntimeExceeded",
        "Completed",
        "Failed",
        "Interrupted",
        "MaxWaitTimeExceeded",
        "Updating",
        "Restarting",
        "Pending",
    }
)
#: Secondary statuses that end a job: their transition is closed as soon as it is appended.
TERMINAL_SECONDARY_STATUSES: frozenset[str] = frozenset(
    {"Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"}
)


@dataclass(frozen=True)
class StatusTransition:
    """One entry of ``SecondaryStatusTransitions``.

    Attributes:
        status: the secondary status.
        start_time: when the job entered it (aware UTC).
        end_time: when it left it; ``None`` while it is the current status.
        message: the ``StatusMessage`` (always set).
    """

    status: str
    start_time: datetime
    end_time: datetime | None
    message: str


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric, as parsed from a job's log.

    Attributes:
        name: the metric's name, e.g. ``validation:rmse``.
        value: the value (NaN and infinities survive the round trip).
        timestamp: when it was logged (aware UTC).
        step: the iteration/epoch, when known.
    """

    name: str
    value: float
    timestamp: datetime
    step: int | None = None


@dataclass(frozen=True, kw_only=True)
class TrainingJobRecord:
    """Everything stored about one training job (keyword-only; most fields have defaults).

    The request shapes (``algorithm_specification``, ``input_data_config``...) are kept as the
    SageMaker JSON dicts they arrived as. ``final_metrics`` holds the last value of each metric;
    the whole series is read with :meth:`TrainingJobStore.metric_series`.
    """

    name: str
    arn: str
    algorithm: str
    status: str = "InProgress"
    secondary_status: str = "Starting"
    failure_reason: str | None = None
    hyperparameters: dict[str, str] = field(default_factory=dict)
    algorithm_specification: dict[str, Any] = field(default_factory=dict)
    input_data_config: list[dict[str, Any]] = field(default_factory=list)
    output_data_config: dict[str, Any] = field(default_factory=dict)
    resource_config: dict[str, Any] = field(default_factory=dict)
    stopping_condition: dict[str, Any] = field(default_factory=dict)
    checkpoint_config: dict[str, Any] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    role_arn: str | None = None
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    training_start_time: datetime | None = None
    training_end_time: datetime | None = None
    model_artifacts: str | None = None
    secondary_status_transitions: tuple[StatusTransition, ...] = ()
    final_metrics: tuple[MetricPoint, ...] = ()
    executor: str | None = None
    executor_handle: str | None = None
    job_dir: str | None = None
    tuning_job_arn: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (``Completed``, ``Failed`` or ``Stopped``)."""
        return self.status in TERMINAL_STATUSES
