"""The executor protocol: submit, alive, stop. Workers get names and settings, not live objects."""

from __future__ import annotations

from typing import Protocol

from openmaker.errors import ValidationError


class Executor(Protocol):
    """Runs a job's supervisor (training: :mod:`openmaker.jobs.runner`) somewhere."""

    name: str

    def submit(self, job_name: str, runner: str = "openmaker.jobs.runner") -> str:
        """Start the job's supervisor module ``runner``; return an opaque handle."""
        ...

    def is_alive(self, handle: str) -> bool | None:
        """Whether the job's supervisor still runs (None: cannot tell from here)."""
        ...

    def kill(self, handle: str) -> None:
        """Stop the supervisor and everything it started, now."""
        ...


def get_executor(name: str | None = None) -> Executor:
    """The executor named ``name`` (default: ``OPENMAKER_EXECUTOR``, else ``local``)."""
    from openmaker.settings import get_settings

    name = name or get_settings().executor
    if name == "local":
        from openmaker.executors.local import LocalExecutor

        return LocalExecutor()
    raise ValidationError(f"Unknown executor {name!r}; available: local")
