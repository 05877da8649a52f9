"""The service-layer objects one API server uses, sharing one metadata store."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openmaker.store import Store


class Services:
    """Every service the operations call, built once per server (in a worker thread: opening
    the store and recovering orphaned jobs touch the database).

    Args:
        store: the metadata store (default: opened from the settings).
        recover: settle jobs and endpoints whose supervisor died (machine restart) on start.

    Attributes:
        store: the shared store.
        training: :class:`~openmaker.jobs.service.TrainingJobService`.
        tuning: :class:`~openmaker.tuning.service.TuningJobService`.
        models: :class:`~openmaker.hosting.models.ModelService`.
        endpoint_configs: :class:`~openmaker.hosting.endpoint_configs.EndpointConfigService`.
        endpoints: :class:`~openmaker.hosting.endpoints.EndpointService` (detached deployers).
        transform: :class:`~openmaker.transform.service.TransformJobService`.
        tags: :class:`~openmaker.tagging.TagService`.
        metrics: :class:`~openmaker.cloudwatch.service.MetricsService` (CloudWatch metrics).
    """

    def __init__(self, store: Store | None = None, *, recover: bool = True) -> None:
        from openmaker.cloudwatch.service import MetricsService
        from openmaker.hosting.endpoint_configs import EndpointConfigService
        from openmaker.hosting.endpoints import EndpointService
        from openmaker.hosting.models import ModelService
        from openmaker.jobs.service import TrainingJobService
        from openmaker.store import open_store
        from openmaker.tagging import TagService
        from openmaker.transform.service import TransformJobService
        from openmaker.tuning.service import TuningJobService

        self.store = store or open_store()
        self.training = TrainingJobService(self.store, recover=recover)
        self.tuning = TuningJobService(self.store, recover=recover)
        self.models = ModelService(self.store)
        self.endpoint_configs = EndpointConfigService(self.store)
        self.endpoints = EndpointService(self.store, recover=recover)
        self.transform = TransformJobService(self.store, recover=recover)
        self.tags = TagService(self.store)
        self.metrics = MetricsService(self.store)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
