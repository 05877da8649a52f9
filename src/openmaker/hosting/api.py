"""Python API for hosting, shaped like the SageMaker SDK: ``Model(...).deploy()``,
``DataCaptureConfig`` and ``AsyncInferenceConfig``. ``Estimator.deploy()`` goes through
:meth:`Model.deploy`.

``deploy`` creates the model, an endpoint config with one variant (``AllTraffic``) and the
endpoint, waits until it is ``InService`` (raising with the ``FailureReason`` if it failed),
makes sure a serving process runs (the local background server unless ``url`` is given) and
returns a :class:`~openmaker.predictor.Predictor` (with an ``AsyncInferenceConfig``, use its
:meth:`~openmaker.predictor.Predictor.predict_async`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openmaker.errors import AlgorithmError
from openmaker.jobs.names import unique_name


@dataclass
class DataCaptureConfig:
    """The SDK's ``sagemaker.model_monitor.DataCaptureConfig``.

    Attributes:
        enable_capture: capture on or off.
        sampling_percentage: share of invocations captured (0-100).
        destination_s3_uri: where capture files go (local path or ``s3://``).
        capture_options: ``REQUEST`` and/or ``RESPONSE``.
        csv_content_types: content types written as ``CSV`` text.
        json_content_types: content types written as ``JSON`` text.
    """

    enable_capture: bool = True
    sampling_percentage: int = 20
    destination_s3_uri: str | None = None
    capture_options: list[str] = field(default_factory=lambda: ["REQUEST", "RESPONSE"])
    csv_content_types: list[str] = field(default_factory=lambda: ["text/csv"])
    json_content_types: list[str] = field(default_factory=lambda: ["application/json"])

    def to_request(self) -> dict[str, Any]:
        """The API's ``DataCaptureConfig`` dict."""
        from openmaker import uris
        from openmaker.settings import get_settings

        mapping = {"REQUEST": "Input", "RESPONSE": "Output"}
        return {
            "EnableCapture": self.enable_capture,
            "InitialSamplingPercentage": self.sampling_percentage,
            "DestinationS3Uri": self.destination_s3_uri
            or uris.join(get_settings().artifacts_uri, "model-monitor", "data-capture"),
            "CaptureOptions": [{"CaptureMode": mapping[o]} for o in self.capture_options],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": list(self.csv_content_types),
                "JsonContentTypes": list(self.json_content_types),
            },
        }


@dataclass
class AsyncInferenceConfig:
    """The SDK's ``sagemaker.async_inference.AsyncInferenceConfig``.

    Attributes:
        output_path: where answers go (default
            ``<artifacts URI>/async-endpoint-outputs/<model name>``).
        max_concurrent_invocations_per_instance: requests a serving worker processes at once
            (default 4).
        failure_path: where errors go (default: ``output_path``).
        kms_key_id: recorded, not used.
        notification_config: recorded, not used (no SNS here).
    """

    output_path: str | None = None
    max_concurrent_invocations_per_instance: int | None = None
    failure_path: str | None = None
    kms_key_id: str | None = None
    notification_config: dict[str, Any] | None = None

    def to_request(self, model_name: str = "model") -> dict[str, Any]:
        """The API's ``AsyncInferenceConfig`` dict."""
        from openmaker import uris
        from openmaker.settings import get_settings

        output: dict[str, Any] = {
            "S3OutputPath": self.output_path
            or uris.join(get_settings().artifacts_uri, "async-endpoint-outputs", model_name)
        }
        if self.failure_path:
            output["S3FailurePath"] = self.failure_path
        if self.kms_key_id:
            output["KmsKeyId"] = self.kms_key_id
        if self.notification_config:
            output["NotificationConfig"] = dict(self.notification_config)
        config: dict[str, Any] = {"OutputConfig": output}
        if self.max_concurrent_invocations_per_instance is not None:
            config["ClientConfig"] = {
                "MaxConcurrentInvocationsPerInstance": self.max_concurrent_invocations_per_instance
            }
        return config


class Model:
    """A trained model ready to deploy (the SDK's ``sagemaker.model.Model``).

    Args:
        model_data: URI of ``model.tar.gz`` (or an unpacked folder).
        image_uri: algorithm name or SageMaker image URI (detected when omitted).
        name: the model's name (default: generated from the algorithm).
        env: the container ``Environment``.
    """

    def __init__(
        self,
        model_data: str,
        image_uri: str | None = None,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.model_data = model_data
        self.image_uri = image_uri
        self.name = name
        self.env = dict(env or {})
        self.endpoint_name: str | None = None

    def create(self) -> str:
        """CreateModel (once); returns the model name."""
        from openmaker.hosting.models import ModelService

        if self.name is None or not ModelService().store.models.exists(self.name):
            self.name = self.name or unique_name(self.image_uri or "model")
            container: dict[str, Any] = {"ModelDataUrl": self.model_data, "Environment": self.env}
            if self.image_uri:
                container["Image"] = self.image_uri
            ModelService().create({"ModelName": self.name, "PrimaryContainer": container})
        return self.name

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "ml.m5.large",
        *,
        endpoint_name: str | None = None,
        serializer: Any = None,
        deserializer: Any = None,
        data_capture_config: DataCaptureConfig | None = None,
        async_inference_config: AsyncInferenceConfig | None = None,
        wait: bool = True,
        url: str | None = None,
    ) -> Any:
        """Create the endpoint and return a :class:`~openmaker.predictor.Predictor`.

        With ``async_inference_config`` the endpoint also takes asynchronous requests
        (:meth:`~openmaker.predictor.Predictor.predict_async`).

        Raises:
            AlgorithmError: the endpoint failed to come up (its ``FailureReason``).
        """
        from openmaker.hosting.endpoint_configs import EndpointConfigService
        from openmaker.hosting.endpoints import EndpointService
        from openmaker.predictor import Predictor

        model_name = self.create()
        endpoint_name = endpoint_name or unique_name(model_name)
        config_name = unique_name(f"{endpoint_name[:30]}-config")
        config: dict[str, Any] = {
            "EndpointConfigName": config_name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name,
                    "InitialInstanceCount": initial_instance_count,
                    "InstanceType": instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
        }
        if data_capture_config is not None:
            config["DataCaptureConfig"] = data_capture_config.to_request()
        if async_inference_config is not None:
            config["AsyncInferenceConfig"] = async_inference_config.to_request(model_name)
        EndpointConfigService().create(config)
        service = EndpointService()
        service.create({"EndpointName": endpoint_name, "EndpointConfigName": config_name})
        self.endpoint_name = endpoint_name
        if wait:
            rec = service.wait(endpoint_name)
            if rec.status != "InService":
                raise AlgorithmError(
                    f"Endpoint {endpoint_name!r} is {rec.status}: {rec.failure_reason}"
                )
        if url is None:
            from openmaker.hosting.server import start_background_server

            url = start_background_server(workers=initial_instance_count)
        return Predictor(endpoint_name, serializer, deserializer, url=url)

    def transformer(self, instance_count: int = 1, instance_type: str = "ml.m5.large",
                    **kwargs: Any) -> Any:  # fmt: skip
        """A :class:`~openmaker.transform.api.Transformer` for this model."""
        from openmaker.transform.api import Transformer

        return Transformer(self.create(), instance_count, instance_type, **kwargs)
