"""Training jobs: the job, its status transitions and its metric time series.

Revision ID: 0001
Revises:
Create Date: 2026-05-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True)


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the training job tables."""
    op.create_table(
        "training_jobs",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("algorithm", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("secondary_status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("hyperparameters", _JSON, nullable=False),
        sa.Column("algorithm_specification", _JSON, nullable=False),
        sa.Column("input_data_config", _JSON, nullable=False),
        sa.Column("output_data_config", _JSON, nullable=False),
        sa.Column("resource_config", _JSON, nullable=False),
        sa.Column("stopping_condition", _JSON, nullable=False),
        sa.Column("checkpoint_config", _JSON, nullable=True),
        sa.Column("environment", _JSON, nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("role_arn", sa.String(2048), nullable=True),
        _ts("creation_time", False),
        _ts("last_modified_time", False),
        _ts("training_start_time", True),
        _ts("training_end_time", True),
        sa.Column("model_artifacts", sa.Text(), nullable=True),
        sa.Column("final_metrics", _JSON, nullable=False),
        sa.Column("executor", sa.String(255), nullable=True),
        sa.Column("executor_handle", sa.Text(), nullable=True),
        sa.Column("job_dir", sa.Text(), nullable=True),
        sa.Column("tuning_job_arn", sa.String(1024), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_training_jobs"),
    )
    op.create_index("ix_training_jobs_status", "training_jobs", ["status"])
    op.create_index("ix_training_jobs_creation_time", "training_jobs", ["creation_time"])
    op.create_index("ix_training_jobs_last_modified_time", "training_jobs", ["last_modified_time"])
    op.create_index("ix_training_jobs_tuning_job_arn", "training_jobs", ["tuning_job_arn"])

    op.create_table(
        "training_job_transitions",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("start_time", False),
        _ts("end_time", True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_training_job_transitions"),
        sa.ForeignKeyConstraint(
            ["job_name"],
            ["training_jobs.name"],
            name="fk_training_job_transitions_job_name_training_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_training_job_transitions_job_name_id",
        "training_job_transitions",
        ["job_name", "id"],
    )

    op.create_table(
        "training_job_metrics",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        _ts("timestamp", False),
        sa.Column("step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_training_job_metrics"),
        sa.ForeignKeyConstraint(
            ["job_name"],
            ["training_jobs.name"],
            name="fk_training_job_metrics_job_name_training_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_training_job_metrics_job_name_name_timestamp",
        "training_job_metrics",
        ["job_name", "name", "timestamp"],
    )


def downgrade() -> None:
    """Drop the training job tables."""
    op.drop_table("training_job_metrics")
    op.drop_table("training_job_transitions")
    op.drop_table("training_jobs")
