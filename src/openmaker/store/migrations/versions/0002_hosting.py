"""Hosting: models, endpoint configs, endpoints; batch transform jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True)


def _ts(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the hosting and transform tables."""
    op.create_table(
        "models",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("algorithm", sa.String(255), nullable=False),
        sa.Column("model_data_url", sa.Text(), nullable=False),
        sa.Column("primary_container", _JSON, nullable=False),
        sa.Column("execution_role_arn", sa.String(2048), nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        _ts("creation_time", False),
        sa.PrimaryKeyConstraint("name", name="pk_models"),
    )
    op.create_index("ix_models_creation_time", "models", ["creation_time"])

    op.create_table(
        "endpoint_configs",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("production_variants", _JSON, nullable=False),
        sa.Column("data_capture_config", _JSON, nullable=True),
        sa.Column("kms_key_id", sa.String(2048), nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        _ts("creation_time", False),
        sa.PrimaryKeyConstraint("name", name="pk_endpoint_configs"),
    )
    op.create_index("ix_endpoint_configs_creation_time", "endpoint_configs", ["creation_time"])

    op.create_table(
        "endpoints",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("config_name", sa.String(63), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("production_variants", _JSON, nullable=False),
        sa.Column("data_capture_config", _JSON, nullable=True),
        sa.Column("pending_config_name", sa.String(63), nullable=True),
        sa.Column("pending_variants", _JSON, nullable=True),
        sa.Column("deployment_config", _JSON, nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("executor_handle", sa.Text(), nullable=True),
        _ts("creation_time", False),
        _ts("last_modified_time", False),
        sa.PrimaryKeyConstraint("name", name="pk_endpoints"),
    )
    op.create_index("ix_endpoints_status", "endpoints", ["status"])
    op.create_index("ix_endpoints_creation_time", "endpoints", ["creation_time"])

    op.create_table(
        "transform_jobs",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
        sa.Column("model_name", sa.String(63), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("request", _JSON, nullable=False),
        sa.Column("progress", _JSON, nullable=False),
        sa.Column("executor", sa.String(255), nullable=True),
        sa.Column("executor_handle", sa.Text(), nullable=True),
        sa.Column("job_dir", sa.Text(), nullable=True),
        _ts("creation_time", False),
        _ts("last_modified_time", False),
        _ts("transform_start_time", True),
        _ts("transform_end_time", True),
        sa.PrimaryKeyConstraint("name", name="pk_transform_jobs"),
    )
    op.create_index("ix_transform_jobs_status", "transform_jobs", ["status"])
    op.create_index("ix_transform_jobs_creation_time", "transform_jobs", ["creation_time"])


def downgrade() -> None:
    """Drop the hosting and transform tables."""
    op.drop_table("transform_jobs")
    op.drop_table("endpoints")
    op.drop_table("endpoint_configs")
    op.drop_table("models")
