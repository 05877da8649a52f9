"""Hyperparameter tuning: Create / Describe / List / Stop / Delete HyperParameterTuningJob(s)
and ListTrainingJobsForHyperParameterTuningJob.

Thin handlers over :class:`openmaker.tuning.service.TuningJobService`, which checks the ranges,
objective and definition against the algorithm. A missing tuning job is ``ResourceNotFound``
(the code the service model and moto use for these operations).
"""

from __future__ import annotations

from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import STATUS_LIST_MEMBERS, list_filters, operation, page
from openmaker.api.operations.training import (
    CHANNEL,
    CHECKPOINT_CONFIG,
    HYPERPARAMETERS,
    INPUT_MODE,
    METRIC_DEFINITION,
    OUTPUT_DATA_CONFIG,
    RESOURCE_CONFIG,
    STOPPING_CONDITION,
    TRAINING_JOB_STATUSES,
)
from openmaker.api.services import Services

TUNING_JOB_STATUSES = (
    "Completed",
    "InProgress",
    "Failed",
    "Stopped",
    "Stopping",
    "Deleting",
    "DeleteFailed",
)
SCALING = s.String(enum=("Auto", "Linear", "Logarithmic", "ReverseLogarithmic"))
PARAMETER_NAME = s.String(min=1, max=256)
NUMBER_TEXT = s.String(max=256)
NUMERIC_RANGE = s.Structure(
    {
        "Name": PARAMETER_NAME,
        "MinValue": NUMBER_TEXT,
        "MaxValue": NUMBER_TEXT,
        "ScalingType": SCALING,
    },
    required=("Name", "MinValue", "MaxValue"),
)
PARAMETER_RANGES = s.Structure(
    {
        "IntegerParameterRanges": s.ListOf(NUMERIC_RANGE, max=30),
        "ContinuousParameterRanges": s.ListOf(NUMERIC_RANGE, max=30),
        "CategoricalParameterRanges": s.ListOf(
            s.Structure(
                {"Name": PARAMETER_NAME, "Values": s.ListOf(s.String(max=256), min=1, max=30)},
                required=("Name", "Values"),
            ),
            max=30,
        ),
        "AutoParameters": s.Anything(),
    }
)
OBJECTIVE = s.Structure(
    {"Type": s.String(enum=("Maximize", "Minimize")), "MetricName": s.String(min=1, max=255)},
    required=("Type", "MetricName"),
)
TUNING_JOB_CONFIG = s.Structure(
    {
        "Strategy": s.String(enum=("Bayesian", "Random", "Hyperband", "Grid")),
        "StrategyConfig": s.Structure(
            {
                "HyperbandStrategyConfig": s.Structure(
                    {"MinResource": s.Integer(min=1), "MaxResource": s.Integer(min=1)}
                )
            }
        ),
        "HyperParameterTuningJobObjective": OBJECTIVE,
        "ResourceLimits": s.Structure(
            {
                "MaxNumberOfTrainingJobs": s.Integer(min=1),
                "MaxParallelTrainingJobs": s.Integer(min=1),
                "MaxRuntimeInSeconds": s.Integer(min=120, max=15768000),
            },
            required=("MaxParallelTrainingJobs",),
        ),
        "ParameterRanges": PARAMETER_RANGES,
        "TrainingJobEarlyStoppingType": s.String(enum=("Off", "Auto")),
        "TuningJobCompletionCriteria": s.Structure(
            {
                "TargetObjectiveMetricValue": s.Float(),
                "BestObjectiveNotImproving": s.Structure(
                    {"MaxNumberOfTrainingJobsNotImproving": s.Integer(min=3)}
                ),
                "ConvergenceDetected": s.Structure(
                    {"CompleteOnConvergence": s.String(enum=("Disabled", "Enabled"))}
                ),
            }
        ),
        "RandomSeed": s.Integer(min=0),
    },
    required=("Strategy", "ResourceLimits"),
)
TRAINING_JOB_DEFINITION = s.Structure(
    {
        "DefinitionName": s.String(min=1, max=64, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"),
        "TuningObjective": OBJECTIVE,
        "HyperParameterRanges": PARAMETER_RANGES,
        "StaticHyperParameters": HYPERPARAMETERS,
        "AlgorithmSpecification": s.Structure(
            {
                "TrainingImage": s.IMAGE,
                "TrainingInputMode": INPUT_MODE,
                "AlgorithmName": s.String(min=1, max=170),
                "MetricDefinitions": s.ListOf(METRIC_DEFINITION, max=40),
            },
            required=("TrainingInputMode",),
        ),
        "RoleArn": s.ROLE_ARN,
        "InputDataConfig": s.ListOf(CHANNEL, min=1, max=20),
        "OutputDataConfig": OUTPUT_DATA_CONFIG,
        "ResourceConfig": RESOURCE_CONFIG,
        "StoppingCondition": STOPPING_CONDITION,
        "EnableNetworkIsolation": s.Boolean(),
        "EnableInterContainerTrafficEncryption": s.Boolean(),
        "EnableManagedSpotTraining": s.Boolean(),
        "CheckpointConfig": CHECKPOINT_CONFIG,
        "Environment": s.MapOf(s.String(max=512), s.String(max=512), max=48),
    },
    required=("AlgorithmSpecification", "RoleArn", "OutputDataConfig", "StoppingCondition"),
)
NAME_ONLY = {"HyperParameterTuningJobName": s.TUNING_JOB_NAME}


@operation(
    "CreateHyperParameterTuningJob",
    {
        **NAME_ONLY,
        "HyperParameterTuningJobConfig": TUNING_JOB_CONFIG,
        "TrainingJobDefinition": TRAINING_JOB_DEFINITION,
        # Several definitions are refused by the service with a clear message.
        "TrainingJobDefinitions": s.ListOf(s.Anything(), min=1, max=10),
        "WarmStartConfig": s.Structure(
            {
                "ParentHyperParameterTuningJobs": s.ListOf(
                    s.Structure(NAME_ONLY, required=("HyperParameterTuningJobName",)),
                    min=1,
                    max=5,
                ),
                "WarmStartType": s.String(enum=("IdenticalDataAndAlgorithm", "TransferLearning")),
            },
            required=("ParentHyperParameterTuningJobs", "WarmStartType"),
        ),
        "Tags": s.TAGS,
    },
    required=("HyperParameterTuningJobName", "HyperParameterTuningJobConfig"),
)
def create_tuning_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateHyperParameterTuningJob -> ``{HyperParameterTuningJobArn}``."""
    record = services.tuning.create(request)
    return {"HyperParameterTuningJobArn": record.arn}


@operation("DescribeHyperParameterTuningJob", NAME_ONLY, ("HyperParameterTuningJobName",))
def describe_tuning_job(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob (``BestTrainingJob`` once a child has an objective)."""
    return services.tuning.describe(request["HyperParameterTuningJobName"])


@operation(
    "ListHyperParameterTuningJobs",
    {
        **STATUS_LIST_MEMBERS,
        "StatusEquals": s.String(enum=TUNING_JOB_STATUSES),
        "SortBy": s.String(enum=("Name", "Status", "CreationTime")),
    },
)
def list_tuning_jobs(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListHyperParameterTuningJobs (default: by Name, ascending, 10 per page)."""
    summaries, token = services.tuning.list(
        **list_filters(request, sort_by="Name", sort_order="Ascending")
    )
    return page("HyperParameterTuningJobSummaries", summaries, token)


@operation(
    "ListTrainingJobsForHyperParameterTuningJob",
    {
        **NAME_ONLY,
        "NextToken": s.NEXT_TOKEN,
        "MaxResults": s.MAX_RESULTS,
        "StatusEquals": s.String(enum=TRAINING_JOB_STATUSES),
        "SortBy": s.String(enum=("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")),
        "SortOrder": s.SORT_ORDER,
    },
    required=("HyperParameterTuningJobName",),
)
def list_training_jobs_for_tuning_job(
    services: Services, request: dict[str, Any]
) -> dict[str, Any]:
    """ListTrainingJobsForHyperParameterTuningJob (default: by Name, ascending, 10 per page)."""
    summaries, token = services.tuning.list_training_jobs(
        request["HyperParameterTuningJobName"],
        status_equals=request.get("StatusEquals"),
        sort_by=request.get("SortBy", "Name"),
        sort_order=request.get("SortOrder", "Ascending"),
        max_results=request.get("MaxResults", 10),
        next_token=request.get("NextToken"),
    )
    return page("TrainingJobSummaries", summaries, token)


@operation("StopHyperParameterTuningJob", NAME_ONLY, ("HyperParameterTuningJobName",))
def stop_tuning_job(services: Services, request: dict[str, Any]) -> None:
    """StopHyperParameterTuningJob: stops the running children too."""
    services.tuning.stop(request["HyperParameterTuningJobName"])


@operation("DeleteHyperParameterTuningJob", NAME_ONLY, ("HyperParameterTuningJobName",))
def delete_tuning_job(services: Services, request: dict[str, Any]) -> None:
    """DeleteHyperParameterTuningJob (ended jobs only; the children stay)."""
    services.tuning.delete(request["HyperParameterTuningJobName"])


OPERATIONS = (
    create_tuning_job,
    describe_tuning_job,
    list_tuning_jobs,
    list_training_jobs_for_tuning_job,
    stop_tuning_job,
    delete_tuning_job,
)
