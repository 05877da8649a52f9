"""The executor protocol: submit, alive, stop. Workers get names and settings, not live objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openmaker.errors import ValidationError


class Executor(Protocol):
    """Runs a job's supervisor (training: :mod:`openmaker.jobs.runner`) somewhere."""

    name: str

    def submit(
        self, job_name: str, runner: str = "openmaker.jobs.runner", args: Sequence[str] = ()
    ) -> str:
        """Start the job's supervisor module ``runner`` (``python -m runner job_name *args``);
        return an opaque handle."""
        ...

    def is_alive(self, handle: str) -> bool | None:
        """Whether the job's supervisor still runs (None: cannot tell from here)."""
        ...

    def kill(self, handle: str) -> None:
        """Stop the supervisor and everything it started, now."""
        ...


def get_executor(name: str | None = None) -> Executor:
    """The executor named ``name`` (default: ``OPENMAKER_EXECUTOR``, else ``local``).

    ``ray`` uses the cluster at ``RAY_ADDRESS``; ``ray://host:port`` names one (Ray Client).
    """
    from openmaker.settings import get_settings

    settings = get_settings()
    name = name or settings.executor
    if name == "local":
        from openmaker.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray" or name.startswith("ray://"):
        from openmaker.executors.ray import RayExecutor

        return RayExecutor(name if name.startswith("ray://") else settings.ray_address)
    raise ValidationError(f"Unknown executor {name!r}; available: local, ray, ray://<host>:<port>")


def use_executor(value: str) -> Executor:
    """Make ``value`` (``local``, ``ray``, ``ray://host:port``) this process's executor: what
    the CLI's ``--executor`` does. Sets ``OPENMAKER_EXECUTOR`` (and ``RAY_ADDRESS`` for a
    ``ray://`` address), so the services and the supervisors they start all use it."""
    import os

    executor = get_executor(value)  # refuses unknown names first
    if value.startswith("ray://"):
        os.environ["RAY_ADDRESS"] = value
        value = "ray"
    os.environ["OPENMAKER_EXECUTOR"] = value
    return executor
