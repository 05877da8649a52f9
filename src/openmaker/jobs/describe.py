"""A training job record in the shape of SageMaker's DescribeTrainingJob / ListTrainingJobs.

``AlgorithmSpecification.MetricDefinitions`` lists what the job's log is parsed with, as
SageMaker does for built-in algorithms: the algorithm's metric names and regexes, then those
the request added (a request definition with an algorithm metric's name replaces it). The SDK's
``TrainingJobAnalytics`` reads the metric names from there.
"""

from __future__ import annotations

from typing import Any

from openmaker.jobs.metrics import job_definitions
from openmaker.store import TrainingJobRecord


def describe(rec: TrainingJobRecord) -> dict[str, Any]:
    """DescribeTrainingJob's response (timestamps as aware datetimes; the API encodes them)."""
    out: dict[str, Any] = {
        "TrainingJobName": rec.name,
        "TrainingJobArn": rec.arn,
        "ModelArtifacts": {"S3ModelArtifacts": rec.model_artifacts or ""},
        "TrainingJobStatus": rec.status,
        "SecondaryStatus": rec.secondary_status,
        "HyperParameters": dict(rec.hyperparameters),
        "AlgorithmSpecification": algorithm_specification(rec),
        "RoleArn": rec.role_arn or "",
        "InputDataConfig": list(rec.input_data_config),
        "OutputDataConfig": {"KmsKeyId": "", **rec.output_data_config},
        "ResourceConfig": {k: v for k, v in rec.resource_config.items() if k != "RetryStrategy"},
        "StoppingCondition": dict(rec.stopping_condition),
        "CreationTime": rec.creation_time,
        "LastModifiedTime": rec.last_modified_time,
        "SecondaryStatusTransitions": [
            {
                "Status": t.status,
                "StartTime": t.start_time,
                **({"EndTime": t.end_time} if t.end_time else {}),
                "StatusMessage": t.message,
            }
            for t in rec.secondary_status_transitions
        ],
        "FinalMetricDataList": [
            {"MetricName": m.name, "Value": m.value, "Timestamp": m.timestamp}
            for m in rec.final_metrics
        ],
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": False,
        "Environment": dict(rec.environment or {}),
    }
    if rec.resource_config.get("RetryStrategy"):
        out["RetryStrategy"] = dict(rec.resource_config["RetryStrategy"])
    if rec.failure_reason:
        out["FailureReason"] = rec.failure_reason
    if rec.checkpoint_config:
        out["CheckpointConfig"] = dict(rec.checkpoint_config)
    if rec.tuning_job_arn:
        out["TuningJobArn"] = rec.tuning_job_arn
    if rec.training_start_time:
        out["TrainingStartTime"] = rec.training_start_time
    if rec.training_end_time:
        out["TrainingEndTime"] = rec.training_end_time
    if rec.training_start_time and rec.training_end_time:
        seconds = max(1, int((rec.training_end_time - rec.training_start_time).total_seconds()))
        out["TrainingTimeInSeconds"] = seconds
        out["BillableTimeInSeconds"] = seconds
    return out


def algorithm_specification(rec: TrainingJobRecord) -> dict[str, Any]:
    """The job's ``AlgorithmSpecification`` as described: the request's, with the job's
    ``MetricDefinitions`` (left out when the job has none)."""
    out = dict(rec.algorithm_specification)
    definitions = job_definitions(rec.algorithm, rec.algorithm_specification)
    if definitions:
        out["MetricDefinitions"] = [{"Name": d.name, "Regex": d.regex} for d in definitions]
    else:
        out.pop("MetricDefinitions", None)
    return out


def summary(rec: TrainingJobRecord) -> dict[str, Any]:
    """One ListTrainingJobs summary."""
    out: dict[str, Any] = {
        "TrainingJobName": rec.name,
        "TrainingJobArn": rec.arn,
        "CreationTime": rec.creation_time,
        "LastModifiedTime": rec.last_modified_time,
        "TrainingJobStatus": rec.status,
        "SecondaryStatus": rec.secondary_status,
    }
    if rec.training_end_time:
        out["TrainingEndTime"] = rec.training_end_time
    return out
