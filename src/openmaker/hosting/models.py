"""Models in the service layer: CreateModel, DescribeModel, ListModels, DeleteModel.

A model names a trained artifact (``PrimaryContainer.ModelDataUrl``: ``model.tar.gz`` or an
unpacked folder; local, ``file://`` or ``s3://``) and the built-in algorithm that serves it
(``PrimaryContainer.Image``: an algorithm name or SageMaker image URI; detected from the
artifact's files when omitted). ``PrimaryContainer.Environment`` is applied while the model
loads (e.g. ``SAGEMAKER_INFERENCE_OUTPUT`` for XGBoost). Inference pipelines (``Containers``)
and multi-model mode are refused with a clear message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openmaker.errors import DataSourceError, ValidationError
from openmaker.hosting.names import check_name
from openmaker.settings import get_settings
from openmaker.store import ModelRecord, Store, open_store
from openmaker.store.types import utcnow


class ModelService:
    """The one implementation of model operations.

    Args:
        store: the metadata store (default: opened from the settings).
    """

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or open_store()

    def create(self, request: Mapping[str, Any]) -> ModelRecord:
        """CreateModel.

        Raises:
            ValidationError: bad name, missing ``ModelDataUrl``, unknown algorithm, or an
                artifact that does not exist.
            ResourceInUseError: a model of that name exists.
        """
        from openmaker import uris
        from openmaker.algorithms import registry

        req = copy.deepcopy(dict(request))
        name = check_name(req.get("ModelName"), "ModelName")
        if req.get("Containers"):
            if len(req["Containers"]) > 1:
                raise ValidationError(
                    "Inference pipelines (Containers with more than one container) are not "
                    "supported; give a single PrimaryContainer"
                )
            req["PrimaryContainer"] = req["Containers"][0]
        container = dict(req.get("PrimaryContainer") or {})
        if container.get("Mode", "SingleModel") != "SingleModel":
            raise ValidationError("PrimaryContainer.Mode must be SingleModel (multi-model later)")
        url = container.get("ModelDataUrl") or (
            ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        )
        if not url:
            raise ValidationError(
                "PrimaryContainer.ModelDataUrl is required for built-in algorithms"
            )
        url = str(url)
        container["ModelDataUrl"] = url
        env = container.get("Environment") or {}
        if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
            raise ValidationError("PrimaryContainer.Environment must map strings to strings")
        fs, path = uris.filesystem(url)
        try:
            found = fs.exists(path)
        except OSError as exc:
            raise DataSourceError(f"Cannot read ModelDataUrl {url!r}: {exc}", uri=url) from exc
        if not found:
            raise ValidationError(
                f"Could not find model data at {url!r} (PrimaryContainer.ModelDataUrl)"
            )
        image = container.get("Image")
        if image:
            algorithm = registry.resolve_image(str(image)).name
        else:
            from openmaker import artifacts
            from openmaker.serving import detect_algorithm

            algorithm = detect_algorithm(artifacts.fetch_model(url))
            container["Image"] = algorithm
        settings = get_settings()
        record = ModelRecord(
            name=name,
            arn=settings.arn("model", name),
            algorithm=algorithm,
            model_data_url=url,
            primary_container=container,
            execution_role_arn=req.get("ExecutionRoleArn"),
            tags=list(req.get("Tags") or []),
            creation_time=utcnow(),
        )
        return self.store.models.create(record)

    def get(self, name: str) -> ModelRecord:
        """The model's record (ResourceNotFoundError if unknown)."""
        return self.store.models.get(name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeModel."""
        rec = self.get(name)
        return {
            "ModelName": rec.name,
            "ModelArn": rec.arn,
            "PrimaryContainer": dict(rec.primary_container),
            "ExecutionRoleArn": rec.execution_role_arn or "",
            "CreationTime": rec.creation_time,
            "EnableNetworkIsolation": False,
        }

    def list(self, **filters: Any) -> tuple[list[ModelRecord], str | None]:
        """ListModels (``name_contains``, ``creation_time_*``, sort, page)."""
        return self.store.models.list(**filters)

    def delete(self, name: str) -> None:
        """DeleteModel. Endpoints already serving it keep their loaded copy, as in SageMaker."""
        self.store.models.get(name)
        self.store.models.delete(name)
