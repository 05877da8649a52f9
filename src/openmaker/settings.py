"""One Settings object: environment variables plus defaults, read on demand.

| variable | default | meaning |
|---|---|---|
| ``OPENMAKER_HOME`` | ``~/.openmaker`` | where the database, job folders and artifacts live |
| ``OPENMAKER_DATABASE_URL`` | ``sqlite:///$OPENMAKER_HOME/openmaker.db`` | any SQLAlchemy URL |
| ``OPENMAKER_ARTIFACTS_URI`` | ``$OPENMAKER_HOME/artifacts`` | default output location |
| ``OPENMAKER_EXECUTOR`` | ``local`` | where jobs run: ``local``, ``ray`` or ``ray://host:10001`` |
| ``RAY_ADDRESS`` | unset | the Ray cluster of the ``ray`` executor (unset: a running local one, |
| | | else a private local instance per job) |
| ``OPENMAKER_RAY_INSTANCE_TYPES`` | unset | JSON (or a JSON file) overriding the InstanceType -> |
| | | CPUs / GPUs table of the ``ray`` executor |
| ``OPENMAKER_S3_ENDPOINT_URL`` | unset | S3-compatible endpoint for ``s3://`` URIs |
| ``OPENMAKER_REGION`` | ``us-east-1`` | region written into ARNs |
| ``OPENMAKER_ACCOUNT_ID`` | ``000000000000`` | account written into ARNs |
| ``OPENMAKER_STANDBY_SECONDS`` | ``120`` | how long a pre-started job process waits for the |
| | | next local job of the same algorithm (``0``: none; see :mod:`openmaker.executors.standby`) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build one with :func:`get_settings`."""

    home: Path
    database_url: str
    artifacts_uri: str
    executor: str
    ray_address: str | None
    s3_endpoint_url: str | None
    region: str
    account_id: str
    standby_seconds: float = 120.0

    @property
    def jobs_dir(self) -> Path:
        """Folder holding one SageMaker-container-like directory per training job."""
        return self.home / "jobs"

    def arn(self, resource_type: str, name: str) -> str:
        """An ARN in SageMaker's shape (names lower-cased, as real ARNs are)."""
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{resource_type}/{name.lower()}"


def get_settings() -> Settings:
    """Read the settings from the environment now (not cached: tests change the environment)."""
    home = Path(os.environ.get("OPENMAKER_HOME") or Path.home() / ".openmaker").expanduser()
    return Settings(
        home=home,
        database_url=os.environ.get("OPENMAKER_DATABASE_URL")
        or f"sqlite:///{home / 'openmaker.db'}",
        artifacts_uri=os.environ.get("OPENMAKER_ARTIFACTS_URI") or str(home / "artifacts"),
        executor=os.environ.get("OPENMAKER_EXECUTOR", "local"),
        ray_address=os.environ.get("RAY_ADDRESS") or None,
        s3_endpoint_url=os.environ.get("OPENMAKER_S3_ENDPOINT_URL") or None,
        region=os.environ.get("OPENMAKER_REGION", "us-east-1"),
        account_id=os.environ.get("OPENMAKER_ACCOUNT_ID", "000000000000"),
        standby_seconds=_seconds(os.environ.get("OPENMAKER_STANDBY_SECONDS"), 120.0),
    )


def _seconds(value: str | None, default: float) -> float:
    """A number of seconds from the environment; unset, empty or not a number: ``default``."""
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default
