"""Batch transform: Create / Describe / List / Stop TransformJob(s).

Thin handlers over :class:`openmaker.transform.service.TransformJobService`. A missing job is a
``ValidationException`` from Describe (what the SDK and the
``transform_job_completed_or_stopped`` waiter expect) and ``ResourceNotFound`` from Stop (the
service model's code). ``BadRecordPolicy`` (``Fail`` or ``Skip``) is openmaker's extension.
"""

from __future__ import annotations

from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import (
    NOT_FOUND_IS_VALIDATION,
    STATUS_LIST_MEMBERS,
    list_filters,
    operation,
    page,
)
from openmaker.api.services import Services

TRANSFORM_JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
NAME_ONLY = {"TransformJobName": s.ENTITY_NAME}


@operation(
    "CreateTransformJob",
    {
        **NAME_ONLY,
        "ModelName": s.MODEL_NAME,
        "MaxConcurrentTransforms": s.Integer(min=0),
        "ModelClientConfig": s.Structure(
            {
                "InvocationsTimeoutInSeconds": s.Integer(min=1, max=3600),
                "InvocationsMaxRetries": s.Integer(min=0, max=3),
            }
        ),
        "MaxPayloadInMB": s.Integer(min=0),
        "BatchStrategy": s.String(enum=("MultiRecord", "SingleRecord")),
        "Environment": s.MapOf(
            s.String(max=1024, pattern=r"[a-zA-Z_][a-zA-Z0-9_]*"), s.String(max=10240), max=16
        ),
        "TransformInput": s.Structure(
            {
                "DataSource": s.Structure(
                    {
                        "S3DataSource": s.Structure(
                            {
                                "S3DataType": s.String(
                                    enum=(
                                        "ManifestFile",
                                        "S3Prefix",
                                        "AugmentedManifestFile",
                                        "Converse",
                                    )
                                ),
                                "S3Uri": s.URI,
                            },
                            required=("S3DataType", "S3Uri"),
                        )
                    },
                    required=("S3DataSource",),
                ),
                "ContentType": s.CONTENT_TYPE,
                "CompressionType": s.String(enum=("None", "Gzip")),
                "SplitType": s.String(enum=("None", "Line", "RecordIO", "TFRecord")),
            },
            required=("DataSource",),
        ),
        "TransformOutput": s.Structure(
            {
                "S3OutputPath": s.URI,
                "Accept": s.CONTENT_TYPE,
                "AssembleWith": s.String(enum=("None", "Line")),
                "KmsKeyId": s.KMS_KEY_ID,
            },
            required=("S3OutputPath",),
        ),
        "TransformResources": s.Structure(
            {
                "InstanceType": s.INSTANCE_TYPE,
                "InstanceCount": s.Integer(min=1),
                "VolumeKmsKeyId": s.KMS_KEY_ID,
            },
            required=("InstanceType", "InstanceCount"),
        ),
        "DataProcessing": s.Structure(
            {
                "InputFilter": s.String(max=63),
                "OutputFilter": s.String(max=63),
                "JoinSource": s.String(enum=("Input", "None")),
            }
        ),
        "Tags": s.TAGS,
        "BadRecordPolicy": s.String(enum=("Fail", "Skip")),
    },
    required=(
        "TransformJobName",
        "ModelName",
        "TransformInput",
        "TransformOutput",
        "TransformResources",
    ),
)
def create_transform_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateTransformJob -> ``{TransformJobArn}``."""
    return {"TransformJobArn": services.transform.create(request).arn}


@operation("DescribeTransformJob", NAME_ONLY, ("TransformJobName",), NOT_FOUND_IS_VALIDATION)
def describe_transform_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeTransformJob (plus openmaker's ``Progress``, which botocore ignores)."""
    return services.transform.describe(request["TransformJobName"])


@operation(
    "ListTransformJobs",
    {
        **STATUS_LIST_MEMBERS,
        "StatusEquals": s.String(enum=TRANSFORM_JOB_STATUSES),
        "SortBy": s.String(enum=("Name", "CreationTime", "Status")),
    },
)
def list_transform_jobs(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListTransformJobs (default: by CreationTime, descending, 10 per page)."""
    records, token = services.transform.list(
        **list_filters(request, sort_by="CreationTime", sort_order="Descending")
    )
    items = []
    for r in records:
        item: dict[str, Any] = {
            "TransformJobName": r.name,
            "TransformJobArn": r.arn,
            "CreationTime": r.creation_time,
            "LastModifiedTime": r.last_modified_time,
            "TransformJobStatus": r.status,
        }
        if r.transform_end_time:
            item["TransformEndTime"] = r.transform_end_time
        if r.failure_reason:
            item["FailureReason"] = r.failure_reason
        items.append(item)
    return page("TransformJobSummaries", items, token)


@operation("StopTransformJob", NAME_ONLY, ("TransformJobName",), NOT_FOUND_IS_VALIDATION)
def stop_transform_job(services: Services, request: dict[str, Any]) -> None:
    """StopTransformJob: ``Stopping`` then ``Stopped`` (partial output removed)."""
    services.transform.stop(request["TransformJobName"])


OPERATIONS = (
    create_transform_job,
    describe_transform_job,
    list_transform_jobs,
    stop_transform_job,
)
