"""Hyperparameter tuning jobs.

The Optuna study behind each tuning job lives in the same database; Optuna creates its own
tables (``studies``, ``trials``, ...) on first use, outside these migrations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True)


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the tuning-job table."""
    op.create_table(
        "hyperparameter_tuning_jobs",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("tuning_job_config", _JSON, nullable=False),
        sa.Column("training_job_definition", _JSON, nullable=False),
        sa.Column("warm_start_config", _JSON, nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("study_name", sa.String(255), nullable=False),
        sa.Column("launch_failures", sa.Integer(), nullable=False),
        sa.Column("completion_details", _JSON, nullable=True),
        sa.Column("executor", sa.String(255), nullable=True),
        sa.Column("executor_handle", sa.Text(), nullable=True),
        _ts("creation_time", False),
        _ts("last_modified_time", False),
        _ts("end_time", True),
        sa.PrimaryKeyConstraint("name", name="pk_hyperparameter_tuning_jobs"),
    )
    op.create_index(
        "ix_hyperparameter_tuning_jobs_status", "hyperparameter_tuning_jobs", ["status"]
    )
    op.create_index(
        "ix_hyperparameter_tuning_jobs_creation_time",
        "hyperparameter_tuning_jobs",
        ["creation_time"],
    )


def downgrade() -> None:
    """Drop the tuning-job table."""
    op.drop_index("ix_hyperparameter_tuning_jobs_creation_time", "hyperparameter_tuning_jobs")
    op.drop_index("ix_hyperparameter_tuning_jobs_status", "hyperparameter_tuning_jobs")
    op.drop_table("hyperparameter_tuning_jobs")
