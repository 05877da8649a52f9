"""``openmaker.Estimator``: train a built-in algorithm the way the SageMaker SDK does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openmaker.errors import ValidationError
from openmaker.jobs.api import TrainingJob
from openmaker.jobs.names import unique_name


@dataclass(frozen=True)
class TrainingInput:
    """One channel's input, as the SDK's ``sagemaker.inputs.TrainingInput``.

    Attributes:
        s3_data: a URI (local path, ``file://``, ``s3://``): one file, a folder or a prefix.
        content_type: e.g. ``text/csv``; None: the algorithm's default for the channel.
        input_mode: ``File`` or ``Pipe`` (None: the job's mode).
        compression: ``None`` or ``Gzip``.
        distribution: ``FullyReplicated`` or ``ShardedByS3Key``.
        record_wrapping: ``None`` or ``RecordIO``.
    """

    s3_data: str
    content_type: str | None = None
    input_mode: str | None = None
    compression: str | None = None
    distribution: str = "FullyReplicated"
    record_wrapping: str | None = None

    def to_channel(self, name: str) -> dict[str, Any]:
        """The CreateTrainingJob ``Channel`` dict."""
        channel: dict[str, Any] = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": str(self.s3_data),
                    "S3DataDistributionType": self.distribution,
                }
            },
        }
        if self.content_type:
            channel["ContentType"] = self.content_type
        if self.input_mode:
            channel["InputMode"] = self.input_mode
        if self.compression:
            channel["CompressionType"] = self.compression
        if self.record_wrapping:
            channel["RecordWrapperType"] = self.record_wrapping
        return channel


class Estimator:
    """Trains one of SageMaker's built-in algorithms.

    Example:
        >>> est = openmaker.Estimator("xgboost", hyperparameters={"num_round": 50,
        ...                           "objective": "binary:logistic"})
        >>> est.fit({"train": "data/train.csv", "validation": "data/val.csv"},
        ...         content_type="text/csv")
        >>> est.model_data

    Args:
        algorithm: SageMaker's name (``xgboost``) or a training image URI.
        hyperparameters: SageMaker's names; values may be typed or strings.
        instance_count: hosts (``InstanceCount``); more than one trains data-parallel
            (xgboost, linear-learner, kmeans, pca), locally or on Ray (docs/scaling.md).
        instance_type: recorded as given (``ml.m5.xlarge``...); ``local`` is accepted.
        output_path: where ``<job>/output/model.tar.gz`` goes (default: the artifacts URI).
        max_run: ``MaxRuntimeInSeconds``.
        base_job_name: prefix for generated job names (default: the algorithm name).
        checkpoint_s3_uri: where checkpoints are synced (resume from there on re-run).
        environment: extra environment variables for the job.
        metric_definitions: extra ``[{"Name":..., "Regex":...}]`` parsed from the log.
        tags: ``[{"Key":..., "Value":...}]``.
    """

    def __init__(
        self,
        algorithm: str,
        hyperparameters: Mapping[str, Any] | None = None,
        *,
        instance_count: int = 1,
        instance_type: str = "ml.m5.large",
        output_path: str | None = None,
        max_run: int = 24 * 3600,
        base_job_name: str | None = None,
        checkpoint_s3_uri: str | None = None,
        environment: Mapping[str, str] | None = None,
        metric_definitions: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
        role: str | None = None,
    ) -> None:
        from openmaker.algorithms import registry

        self.spec = registry.resolve_image(algorithm)
        self.algorithm = self.spec.name
        self.hyperparameters: dict[str, Any] = dict(hyperparameters or {})
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.output_path = output_path
        self.max_run = max_run
        self.base_job_name = base_job_name or self.algorithm
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.environment = dict(environment or {})
        self.metric_definitions = list(metric_definitions or [])
        self.tags = list(tags or [])
        self.role = role
        self.latest_training_job: TrainingJob | None = None

    def set_hyperparameters(self, **hyperparameters: Any) -> None:
        """Add or replace hyperparameters."""
        self.hyperparameters.update(hyperparameters)

    def create_request(
        self,
        inputs: str | TrainingInput | Mapping[str, str | TrainingInput],
        *,
        content_type: str | None = None,
        input_mode: str = "File",
        job_name: str | None = None,
    ) -> dict[str, Any]:
        """The CreateTrainingJob request :meth:`fit` sends."""
        if isinstance(inputs, str | TrainingInput):
            inputs = {"train": inputs}
        if not isinstance(inputs, Mapping) or not inputs:
            raise ValidationError("fit() needs inputs: a URI or {channel: URI or TrainingInput}")
        channels = []
        for name, value in inputs.items():
            ti = value if isinstance(value, TrainingInput) else TrainingInput(str(value))
            if ti.content_type is None and content_type:
                ti = TrainingInput(**{**ti.__dict__, "content_type": content_type})
            channels.append(ti.to_channel(name))
        request: dict[str, Any] = {
            "TrainingJobName": job_name or unique_name(self.base_job_name),
            "AlgorithmSpecification": {
                "TrainingImage": self.algorithm,
                "TrainingInputMode": input_mode,
            },
            "HyperParameters": dict(self.hyperparameters),
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": self.output_path} if self.output_path else {},
            "ResourceConfig": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_run},
            "Environment": self.environment,
            "Tags": self.tags,
        }
        if self.metric_definitions:
            request["AlgorithmSpecification"]["MetricDefinitions"] = self.metric_definitions
        if self.checkpoint_s3_uri:
            request["CheckpointConfig"] = {"S3Uri": self.checkpoint_s3_uri}
        if self.role:
            request["RoleArn"] = self.role
        return request

    def fit(
        self,
        inputs: str | TrainingInput | Mapping[str, str | TrainingInput],
        *,
        content_type: str | None = None,
        input_mode: str = "File",
        wait: bool = True,
        logs: bool = False,
        job_name: str | None = None,
    ) -> TrainingJob:
        """Start a training job; with ``wait`` (default) block until it ends.

        Raises:
            openmaker.errors.ValidationError: bad hyperparameters / channels (nothing started).
            openmaker.errors.AlgorithmError: the job failed (when waiting).
        """
        from openmaker.jobs.service import TrainingJobService

        service = TrainingJobService()
        request = self.create_request(
            inputs, content_type=content_type, input_mode=input_mode, job_name=job_name
        )
        record = service.create(request, strict=True)  # a bad hyperparameter: raised here
        self.latest_training_job = TrainingJob(record.name, service)
        if wait:
            self.latest_training_job.wait(logs=logs)
        return self.latest_training_job

    @property
    def model_data(self) -> str | None:
        """URI of the latest job's ``model.tar.gz``."""
        if self.latest_training_job is None:
            return None
        return self.latest_training_job.model_data

    def predictor(self) -> Any:
        """The trained model loaded in this process (``.predict(body, content_type, accept)``)."""
        from openmaker.serving import load_model

        if self.model_data is None:
            raise ValidationError("No trained model yet: call fit() first")
        return load_model(self.model_data, algorithm=self.algorithm)

    # --- hosting (real-time endpoints and batch transform) -----------------------------
    def create_model(self, name: str | None = None, env: dict[str, str] | None = None) -> Any:
        """An :class:`openmaker.hosting.api.Model` for the latest trained model."""
        from openmaker.hosting.api import Model

        if self.model_data is None:
            raise ValidationError("No trained model yet: call fit() first")
        return Model(self.model_data, self.algorithm, name=name, env=env)

    def deploy(
        self,
        initial_instance_count: int = 1,
        instance_type: str = "ml.m5.large",
        *,
        endpoint_name: str | None = None,
        serializer: Any = None,
        deserializer: Any = None,
        data_capture_config: Any = None,
        async_inference_config: Any = None,
        wait: bool = True,
        url: str | None = None,
    ) -> Any:
        """Deploy the trained model to an endpoint; returns a :class:`openmaker.Predictor`.

        See :meth:`openmaker.hosting.api.Model.deploy`.
        """
        model = self.create_model()
        return model.deploy(
            initial_instance_count,
            instance_type,
            endpoint_name=endpoint_name,
            serializer=serializer,
            deserializer=deserializer,
            data_capture_config=data_capture_config,
            async_inference_config=async_inference_config,
            wait=wait,
            url=url,
        )

    def transformer(
        self, instance_count: int = 1, instance_type: str = "ml.m5.large", **kwargs: Any
    ) -> Any:
        """A :class:`openmaker.Transformer` for the trained model (the SDK's arguments)."""
        return self.create_model().transformer(instance_count, instance_type, **kwargs)
