"""Training jobs: Create / Describe / List / Stop / Delete TrainingJob(s).

Thin handlers over :class:`openmaker.jobs.service.TrainingJobService`. Required members follow
the service model before botocore 1.41 (``AlgorithmSpecification``, ``ResourceConfig`` and
``StoppingCondition`` as well as the name, role and output), which is what SageMaker still
requires of an image-based job. ``TrainingImage`` may be any image URI the SDK's
``image_uris.retrieve`` builds for a built-in algorithm (any account, region and tag), or the
algorithm's plain name; any other image is a ``ValidationException``.
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

TRAINING_JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting")
INPUT_MODE = s.String(enum=("Pipe", "File", "FastFile"))

METRIC_DEFINITION = s.Structure(
    {"Name": s.String(min=1, max=255), "Regex": s.String(min=1, max=500)},
    required=("Name", "Regex"),
)
S3_DATA_SOURCE = s.Structure(
    {
        "S3DataType": s.String(
            enum=("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse")
        ),
        "S3Uri": s.URI,
        "S3DataDistributionType": s.String(enum=("FullyReplicated", "ShardedByS3Key")),
        "AttributeNames": s.ListOf(s.String(min=1, max=256), max=16),
        "InstanceGroupNames": s.ListOf(s.String(min=1, max=64), max=5),
    },
    required=("S3DataType", "S3Uri"),
)
CHANNEL = s.Structure(
    {
        "ChannelName": s.String(min=1, max=64, pattern=r"[A-Za-z0-9\.\-_]+"),
        "DataSource": s.Structure(
            {"S3DataSource": S3_DATA_SOURCE, "FileSystemDataSource": s.Anything()}
        ),
        "ContentType": s.CONTENT_TYPE,
        "CompressionType": s.String(enum=("None", "Gzip")),
        "RecordWrapperType": s.String(enum=("None", "RecordIO")),
        "InputMode": INPUT_MODE,
        "ShuffleConfig": s.Structure({"Seed": s.Integer(long=True)}, required=("Seed",)),
    },
    required=("ChannelName", "DataSource"),
)
OUTPUT_DATA_CONFIG = s.Structure(
    {
        "KmsKeyId": s.KMS_KEY_ID,
        "S3OutputPath": s.URI,
        "CompressionType": s.String(enum=("GZIP", "NONE")),
    },
    required=("S3OutputPath",),
)
RESOURCE_CONFIG = s.Structure(
    {
        "InstanceType": s.INSTANCE_TYPE,
        "InstanceCount": s.Integer(min=0),
        "VolumeSizeInGB": s.Integer(min=0),
        "VolumeKmsKeyId": s.KMS_KEY_ID,
        "KeepAlivePeriodInSeconds": s.Integer(min=0, max=21600),
    }
)
STOPPING_CONDITION = s.Structure(
    {
        "MaxRuntimeInSeconds": s.Integer(min=1),
        "MaxWaitTimeInSeconds": s.Integer(min=1),
        "MaxPendingTimeInSeconds": s.Integer(min=1800, max=2419200),
    }
)
CHECKPOINT_CONFIG = s.Structure(
    {"S3Uri": s.URI, "LocalPath": s.String(max=4096)}, required=("S3Uri",)
)
HYPERPARAMETERS = s.MapOf(s.String(max=256), s.String(max=2500), max=100)
ENVIRONMENT = s.MapOf(s.String(max=512, pattern=r"[a-zA-Z_][a-zA-Z0-9_]*"), s.String(max=512), 100)


@operation(
    "CreateTrainingJob",
    {
        "TrainingJobName": s.ENTITY_NAME,
        "HyperParameters": HYPERPARAMETERS,
        "AlgorithmSpecification": s.Structure(
            {
                "TrainingImage": s.IMAGE,
                "AlgorithmName": s.String(min=1, max=170),
                "TrainingInputMode": INPUT_MODE,
                "MetricDefinitions": s.ListOf(METRIC_DEFINITION, max=40),
                "EnableSageMakerMetricsTimeSeries": s.Boolean(),
            },
            required=("TrainingInputMode",),
        ),
        "RoleArn": s.ROLE_ARN,
        "InputDataConfig": s.ListOf(CHANNEL, min=1, max=20),
        "OutputDataConfig": OUTPUT_DATA_CONFIG,
        "ResourceConfig": RESOURCE_CONFIG,
        "StoppingCondition": STOPPING_CONDITION,
        "Tags": s.TAGS,
        "EnableNetworkIsolation": s.Boolean(),
        "EnableInterContainerTrafficEncryption": s.Boolean(),
        "EnableManagedSpotTraining": s.Boolean(),
        "CheckpointConfig": CHECKPOINT_CONFIG,
        "Environment": ENVIRONMENT,
        "RetryStrategy": s.Structure(
            {"MaximumRetryAttempts": s.Integer(min=1, max=30)}, required=("MaximumRetryAttempts",)
        ),
    },
    required=(
        "TrainingJobName",
        "AlgorithmSpecification",
        "RoleArn",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
    ),
)
def create_training_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateTrainingJob -> ``{TrainingJobArn}``."""
    record = services.training.create(request)
    return {"TrainingJobArn": record.arn}


NAME_ONLY = {"TrainingJobName": s.ENTITY_NAME}


@operation(
    "DescribeTrainingJob", NAME_ONLY, required=("TrainingJobName",), codes=NOT_FOUND_IS_VALIDATION
)
def describe_training_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeTrainingJob (a missing job: ``ValidationException`` ``Requested resource not
    found.``, as on AWS; so for Stop and Delete)."""
    return services.training.describe(request["TrainingJobName"])


@operation(
    "ListTrainingJobs",
    {
        **STATUS_LIST_MEMBERS,
        "StatusEquals": s.String(enum=TRAINING_JOB_STATUSES),
        "SortBy": s.String(enum=("Name", "CreationTime", "Status")),
        "WarmPoolStatusEquals": s.String(enum=("Available", "Terminated", "Reused", "InUse")),
        "TrainingPlanArnEquals": s.String(max=2048),
    },
)
def list_training_jobs(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListTrainingJobs (default: by CreationTime, ascending, 10 per page)."""
    from openmaker.jobs.describe import summary

    if "WarmPoolStatusEquals" in request or "TrainingPlanArnEquals" in request:
        # openmaker keeps no warm pools and no training plans: no job has either.
        return page("TrainingJobSummaries", [], None)
    records, token = services.training.list(
        **list_filters(request, sort_by="CreationTime", sort_order="Ascending")
    )
    return page("TrainingJobSummaries", [summary(r) for r in records], token)


@operation(
    "StopTrainingJob", NAME_ONLY, required=("TrainingJobName",), codes=NOT_FOUND_IS_VALIDATION
)
def stop_training_job(services: Services, request: dict[str, Any]) -> None:
    """StopTrainingJob: ``Stopping`` then ``Stopped``; the model is still uploaded."""
    services.training.stop(request["TrainingJobName"])


@operation(
    "DeleteTrainingJob", NAME_ONLY, required=("TrainingJobName",), codes=NOT_FOUND_IS_VALIDATION
)
def delete_training_job(services: Services, request: dict[str, Any]) -> None:
    """DeleteTrainingJob (ended jobs only; ``ResourceInUse`` otherwise)."""
    services.training.delete(request["TrainingJobName"])


OPERATIONS = (
    create_training_job,
    describe_training_job,
    list_training_jobs,
    stop_training_job,
    delete_training_job,
)
