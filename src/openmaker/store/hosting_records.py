"""Immutable snapshots of the hosting aggregates: models, endpoint configs, endpoints and
transform jobs, with their status vocabularies.

Field names equal the column names of the tables in :mod:`openmaker.store.schema`, so the
stores map rows to records one to one. Request shapes (containers, variants, capture configs)
are kept as the SageMaker JSON dicts they arrived as.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openmaker.store.types import utcnow

#: ``EndpointStatus`` values openmaker uses (a subset of SageMaker's).
ENDPOINT_STATUSES: frozenset[str] = frozenset(
    {"Creating", "InService", "Updating", "Deleting", "Failed", "OutOfService", "SystemUpdating"}
)
#: ``TransformJobStatus`` values.
TRANSFORM_JOB_STATUSES: frozenset[str] = frozenset(
    {"InProgress", "Completed", "Failed", "Stopping", "Stopped"}
)
#: Transform job statuses after which nothing runs any more.
TRANSFORM_TERMINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True, kw_only=True)
class ModelRecord:
    """A model: a trained artifact plus the algorithm that serves it (``CreateModel``).

    Attributes:
        algorithm: the registry name resolved from ``PrimaryContainer.Image``.
        model_data_url: ``PrimaryContainer.ModelDataUrl`` (local path, ``file://``, ``s3://``).
        primary_container: the ``ContainerDefinition`` as given (``Environment`` included).
    """

    name: str
    arn: str
    algorithm: str
    model_data_url: str
    primary_container: dict[str, Any] = field(default_factory=dict)
    execution_role_arn: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: datetime = field(default_factory=utcnow)

    @property
    def environment(self) -> dict[str, str]:
        """The container's ``Environment`` map."""
        return dict(self.primary_container.get("Environment") or {})


@dataclass(frozen=True, kw_only=True)
class EndpointConfigRecord:
    """An endpoint configuration: production variants and data capture."""

    name: str
    arn: str
    production_variants: list[dict[str, Any]] = field(default_factory=list)
    data_capture_config: dict[str, Any] | None = None
    kms_key_id: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, kw_only=True)
class EndpointRecord:
    """An endpoint and the variants it serves.

    Attributes:
        production_variants: ``ProductionVariantSummary`` dicts of the live deployment
            (``VariantName``, ``ModelName``, ``CurrentWeight``, ``DesiredWeight``,
            ``CurrentInstanceCount``, ``DesiredInstanceCount``, ``InstanceType``).
        data_capture_config: the live ``DataCaptureConfig`` (from the endpoint config).
        pending_config_name: while ``Updating``: the config being rolled out.
        pending_variants: while ``Creating``/``Updating``: the variants being deployed.
        revision: bumped on every change; servers poll it to refresh their routing.
        executor_handle: the deployer process validating a pending deployment.
    """

    name: str
    arn: str
    config_name: str
    status: str = "Creating"
    failure_reason: str | None = None
    production_variants: list[dict[str, Any]] = field(default_factory=list)
    data_capture_config: dict[str, Any] | None = None
    pending_config_name: str | None = None
    pending_variants: list[dict[str, Any]] | None = None
    deployment_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    revision: int = 1
    executor_handle: str | None = None
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, kw_only=True)
class TransformJobRecord:
    """A batch transform job.

    Attributes:
        request: the validated ``CreateTransformJob`` request (defaults filled in).
        progress: ``{"FilesTotal", "FilesDone", "RecordsDone", "RecordsSkipped"}``.
    """

    name: str
    arn: str
    model_name: str
    status: str = "InProgress"
    failure_reason: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    executor: str | None = None
    executor_handle: str | None = None
    job_dir: str | None = None
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)
    transform_start_time: datetime | None = None
    transform_end_time: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        return self.status in TRANSFORM_TERMINAL_STATUSES
