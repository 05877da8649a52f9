"""``openmaker.TrainingJob``: a handle on a training job for Python users."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openmaker.jobs.service import TERMINAL, TrainingJobService

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from openmaker.store import TrainingJobRecord


class TrainingJob:
    """A training job by name. Get one from ``Estimator.fit`` or :meth:`attach`."""

    def __init__(self, name: str, service: TrainingJobService | None = None) -> None:
        self.name = name
        self._service = service

    @property
    def service(self) -> TrainingJobService:
        if self._service is None:
            self._service = TrainingJobService()
        return self._service

    @classmethod
    def attach(cls, name: str) -> TrainingJob:
        """The job called ``name`` (ResourceNotFoundError if there is none)."""
        job = cls(name)
        job.service.get(name)
        return job

    # --- state ---------------------------------------------------------------------------
    @property
    def record(self) -> TrainingJobRecord:
        """The job's current record (a snapshot)."""
        return self.service.get(self.name)

    def describe(self) -> dict[str, Any]:
        """DescribeTrainingJob's response for this job."""
        return self.service.describe(self.name)

    @property
    def status(self) -> str:
        """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
        return self.record.status

    @property
    def model_data(self) -> str | None:
        """URI of ``model.tar.gz`` once the job completed."""
        return self.record.model_artifacts

    @property
    def algorithm(self) -> str:
        """The algorithm's SageMaker name."""
        return self.record.algorithm

    def final_metrics(self) -> dict[str, float]:
        """The last value of each metric."""
        return {m.name: m.value for m in self.record.final_metrics}

    def metrics(self) -> pd.DataFrame:
        """Every metric point: columns ``metric``, ``step``, ``value``, ``timestamp``."""
        import pandas as pd

        points = self.service.metrics(self.name)
        return pd.DataFrame(
            [(p.name, p.step, p.value, p.timestamp) for p in points],
            columns=["metric", "step", "value", "timestamp"],
        )

    # --- control -------------------------------------------------------------------------
    def wait(self, logs: bool = False, timeout: float | None = None) -> TrainingJob:
        """Block until the job ends; ``logs=True`` prints the log as it grows.

        Raises:
            openmaker.errors.AlgorithmError: the job failed (the message is its FailureReason).
        """
        if logs:
            for line in self.service.logs(self.name, follow=True):
                print(line, file=sys.stdout, flush=True)
        rec = self.service.wait(self.name, timeout=timeout)
        if rec.status == "Failed":
            from openmaker.errors import AlgorithmError

            raise AlgorithmError(f"Training job {self.name} failed: {rec.failure_reason}")
        return self

    def stop(self) -> None:
        """Ask the job to stop (its model so far is still uploaded)."""
        self.service.stop(self.name)

    def logs(self, follow: bool = False) -> Iterator[str]:
        """The job's log lines."""
        return self.service.logs(self.name, follow=follow)

    @property
    def done(self) -> bool:
        """Whether the job reached a terminal status."""
        return self.status in TERMINAL

    def __repr__(self) -> str:
        return f"TrainingJob({self.name!r})"
