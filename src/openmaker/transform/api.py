"""``Transformer``: batch transform from Python, shaped like the SageMaker SDK's.

>>> transformer = estimator.transformer(instance_count=1, strategy="MultiRecord",
...                                     assemble_with="Line", output_path="out/")  # doctest: +SKIP
>>> transformer.transform("data/test.csv", content_type="text/csv", split_type="Line")
"""

from __future__ import annotations

from typing import Any

from openmaker.errors import AlgorithmError
from openmaker.jobs.names import unique_name


class Transformer:
    """Runs transform jobs with one model.

    Args:
        model_name: an existing model (``Estimator.transformer`` creates it).
        instance_count: ``TransformResources.InstanceCount``.
        instance_type: ``TransformResources.InstanceType``.
        strategy: ``MultiRecord`` or ``SingleRecord``.
        assemble_with: ``None`` or ``Line``.
        output_path: ``S3OutputPath`` (default: ``<artifacts>/<job name>``).
        accept: the output content type.
        max_concurrent_transforms: parallel model workers.
        max_payload: ``MaxPayloadInMB``.
        env: ``Environment``.
        bad_record_policy: ``Fail`` (default) or ``Skip`` (openmaker extension).
    """

    def __init__(
        self,
        model_name: str,
        instance_count: int = 1,
        instance_type: str = "ml.m5.large",
        *,
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        accept: str | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        env: dict[str, str] | None = None,
        bad_record_policy: str = "Fail",
        base_transform_job_name: str | None = None,
    ) -> None:
        self.model_name = model_name
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.output_path = output_path
        self.accept = accept
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.env = dict(env or {})
        self.bad_record_policy = bad_record_policy
        self.base_transform_job_name = base_transform_job_name or model_name
        self.latest_transform_job: str | None = None

    def transform(
        self,
        data: str,
        *,
        content_type: str = "text/csv",
        split_type: str | None = None,
        compression_type: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        job_name: str | None = None,
        wait: bool = True,
        logs: bool = False,
    ) -> dict[str, Any]:
        """Start a transform job over ``data`` (a file, folder or prefix); returns Describe.

        Raises:
            ValidationError: a bad request (nothing started).
            AlgorithmError: the job failed (when waiting), with its ``FailureReason``.
        """
        from openmaker import uris
        from openmaker.settings import get_settings
        from openmaker.transform.service import TransformJobService

        name = job_name or unique_name(self.base_transform_job_name)
        output = self.output_path or uris.join(get_settings().artifacts_uri, "transform", name)
        request: dict[str, Any] = {
            "TransformJobName": name,
            "ModelName": self.model_name,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(data)}},
                "ContentType": content_type,
                "SplitType": split_type or "None",
                "CompressionType": compression_type or "None",
            },
            "TransformOutput": {
                "S3OutputPath": output,
                "AssembleWith": self.assemble_with or "None",
            },
            "TransformResources": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
            },
            "Environment": self.env,
            "BadRecordPolicy": self.bad_record_policy,
            "DataProcessing": {
                "InputFilter": input_filter or "$",
                "OutputFilter": output_filter or "$",
                "JoinSource": join_source or "None",
            },
        }
        if self.accept:
            request["TransformOutput"]["Accept"] = self.accept
        if self.strategy:
            request["BatchStrategy"] = self.strategy
        if self.max_concurrent_transforms is not None:
            request["MaxConcurrentTransforms"] = self.max_concurrent_transforms
        if self.max_payload is not None:
            request["MaxPayloadInMB"] = self.max_payload
        service = TransformJobService()
        service.create(request)
        self.latest_transform_job = name
        self.output_path = output
        if not wait:
            return service.describe(name)
        position = 0
        if logs:
            for line in service.logs(name, follow=True):
                print(line)
                position += 1
        rec = service.wait(name)
        if rec.status == "Failed":
            raise AlgorithmError(f"Transform job {name!r} failed: {rec.failure_reason}")
        return service.describe(name)
