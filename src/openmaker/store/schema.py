"""The tables, as SQLAlchemy Core metadata (what the code queries).

The migrations under ``migrations/versions`` create these tables; they never import this
module, so that an old migration keeps describing the schema of its time. When a table changes
here, add a migration, and keep ``tests/store`` checking that the two agree.

Each aggregate adds its tables to :data:`metadata` in its own section.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from openmaker.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: An auto-incrementing 64-bit key (SQLite needs plain INTEGER for a rowid alias).
AutoId = BigInteger().with_variant(Integer(), "sqlite")
#: A JSON document; ``None`` is stored as SQL NULL.
Document = JSON(none_as_null=True)

# --- training jobs ------------------------------------------------------------------------

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("algorithm", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("secondary_status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("hyperparameters", Document, nullable=False),
    Column("algorithm_specification", Document, nullable=False),
    Column("input_data_config", Document, nullable=False),
    Column("output_data_config", Document, nullable=False),
    Column("resource_config", Document, nullable=False),
    Column("stopping_condition", Document, nullable=False),
    Column("checkpoint_config", Document, nullable=True),
    Column("environment", Document, nullable=False),
    Column("tags", Document, nullable=False),
    Column("role_arn", String(2048), nullable=True),
    Column("creation_time", UTCDateTime, nullable=False),
    Column("last_modified_time", UTCDateTime, nullable=False),
    Column("training_start_time", UTCDateTime, nullable=True),
    Column("training_end_time", UTCDateTime, nullable=True),
    Column("model_artifacts", Text, nullable=True),
    Column("final_metrics", Document, nullable=False),
    Column("executor", String(255), nullable=True),
    Column("executor_handle", Text, nullable=True),
    Column("job_dir", Text, nullable=True),
    Column("tuning_job_arn", String(1024), nullable=True),
    Index("ix_training_jobs_status", "status"),
    Index("ix_training_jobs_creation_time", "creation_time"),
    Index("ix_training_jobs_last_modified_time", "last_modified_time"),
    Index("ix_training_jobs_tuning_job_arn", "tuning_job_arn"),
)

training_job_transitions = Table(
    "training_job_transitions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column(
        "job_name",
        String(255),
        ForeignKey("training_jobs.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(32), nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime, nullable=True),
    Column("message", Text, nullable=False),
    Index("ix_training_job_transitions_job_name_id", "job_name", "id"),
)

training_job_metrics = Table(
    "training_job_metrics",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column(
        "job_name",
        String(255),
        ForeignKey("training_jobs.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    # NULL means NaN: SQLite stores NaN as NULL.
    Column("value", Float(precision=53), nullable=True),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("step", BigInteger, nullable=True),
    Index("ix_training_job_metrics_job_name_name_timestamp", "job_name", "name", "timestamp"),
)

# --- hosting: models, endpoint configs, endpoints; batch transform jobs -------------------

models = Table(
    "models",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("algorithm", String(255), nullable=False),
    Column("model_data_url", Text, nullable=False),
    Column("primary_container", Document, nullable=False),
    Column("execution_role_arn", String(2048), nullable=True),
    Column("tags", Document, nullable=False),
    Column("creation_time", UTCDateTime, nullable=False),
    Index("ix_models_creation_time", "creation_time"),
)

endpoint_configs = Table(
    "endpoint_configs",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("production_variants", Document, nullable=False),
    Column("data_capture_config", Document, nullable=True),
    Column("kms_key_id", String(2048), nullable=True),
    Column("tags", Document, nullable=False),
    Column("creation_time", UTCDateTime, nullable=False),
    Index("ix_endpoint_configs_creation_time", "creation_time"),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("config_name", String(63), nullable=False),
    Column("status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("production_variants", Document, nullable=False),
    Column("data_capture_config", Document, nullable=True),
    Column("pending_config_name", String(63), nullable=True),
    Column("pending_variants", Document, nullable=True),
    Column("deployment_config", Document, nullable=True),
    Column("tags", Document, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("executor_handle", Text, nullable=True),
    Column("creation_time", UTCDateTime, nullable=False),
    Column("last_modified_time", UTCDateTime, nullable=False),
    Index("ix_endpoints_status", "status"),
    Index("ix_endpoints_creation_time", "creation_time"),
)

transform_jobs = Table(
    "transform_jobs",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("model_name", String(63), nullable=False),
    Column("status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("request", Document, nullable=False),
    Column("progress", Document, nullable=False),
    Column("executor", String(255), nullable=True),
    Column("executor_handle", Text, nullable=True),
    Column("job_dir", Text, nullable=True),
    Column("creation_time", UTCDateTime, nullable=False),
    Column("last_modified_time", UTCDateTime, nullable=False),
    Column("transform_start_time", UTCDateTime, nullable=True),
    Column("transform_end_time", UTCDateTime, nullable=True),
    Index("ix_transform_jobs_status", "status"),
    Index("ix_transform_jobs_creation_time", "creation_time"),
)

# --- hyperparameter tuning jobs (issue 6; children are rows of training_jobs) ---------------

hyperparameter_tuning_jobs = Table(
    "hyperparameter_tuning_jobs",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("arn", String(1024), nullable=False),
    Column("status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("strategy", String(32), nullable=False),
    Column("tuning_job_config", Document, nullable=False),
    Column("training_job_definition", Document, nullable=False),
    Column("warm_start_config", Document, nullable=True),
    Column("tags", Document, nullable=False),
    Column("study_name", String(255), nullable=False),
    Column("launch_failures", Integer, nullable=False),
    Column("completion_details", Document, nullable=True),
    Column("executor", String(255), nullable=True),
    Column("executor_handle", Text, nullable=True),
    Column("creation_time", UTCDateTime, nullable=False),
    Column("last_modified_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime, nullable=True),
    Index("ix_hyperparameter_tuning_jobs_status", "status"),
    Index("ix_hyperparameter_tuning_jobs_creation_time", "creation_time"),
)
