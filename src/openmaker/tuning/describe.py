"""DescribeHyperParameterTuningJob and the child-job summaries, computed from the children.

The children are ordinary training jobs; their records say everything the counters, the best
job and ``ListTrainingJobsForHyperParameterTuningJob`` need, so nothing here can drift from
what ``jobs list`` shows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from openmaker.store import TrainingJobRecord, TuningJobRecord
from openmaker.tuning.config import TuningSettings

ACTIVE = ("InProgress", "Stopping")


def objective_value(child: TrainingJobRecord, metric_name: str) -> float | None:
    """The child's final value of the objective metric (``None``: not reported, or NaN)."""
    for point in child.final_metrics:
        if point.name == metric_name:
            return None if math.isnan(point.value) else float(point.value)
    return None


def objective_status(child: TrainingJobRecord, metric_name: str) -> str:
    """``Succeeded``, ``Pending`` or ``Failed``, as SageMaker's ``ObjectiveStatus``."""
    if child.status in ACTIVE:
        return "Pending"
    if objective_value(child, metric_name) is not None and child.status != "Failed":
        return "Succeeded"
    return "Failed"


def summary(child: TrainingJobRecord, tuning_name: str, settings: TuningSettings) -> dict[str, Any]:
    """A ``HyperParameterTrainingJobSummary``."""
    out: dict[str, Any] = {
        "TrainingJobName": child.name,
        "TrainingJobArn": child.arn,
        "TuningJobName": tuning_name,
        "CreationTime": child.creation_time,
        "TrainingJobStatus": child.status,
        "TunedHyperParameters": {
            n: child.hyperparameters[n] for n in settings.tuned_names if n in child.hyperparameters
        },
        "ObjectiveStatus": objective_status(child, settings.objective_name),
    }
    if child.training_start_time:
        out["TrainingStartTime"] = child.training_start_time
    if child.training_end_time:
        out["TrainingEndTime"] = child.training_end_time
    if child.failure_reason:
        out["FailureReason"] = child.failure_reason
    value = objective_value(child, settings.objective_name)
    if value is not None and out["ObjectiveStatus"] == "Succeeded":
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": settings.objective_type,
            "MetricName": settings.objective_name,
            "Value": value,
        }
    return out


def best_child(
    children: Iterable[TrainingJobRecord], settings: TuningSettings
) -> TrainingJobRecord | None:
    """The child with the best objective (ties: the earliest created), or ``None``."""
    best: TrainingJobRecord | None = None
    best_value: float | None = None
    for child in sorted(children, key=lambda c: (c.creation_time, c.name)):
        if objective_status(child, settings.objective_name) != "Succeeded":
            continue
        value = objective_value(child, settings.objective_name)
        if value is not None and settings.better(value, best_value):
            best, best_value = child, value
    return best


def status_counters(
    children: Sequence[TrainingJobRecord], launch_failures: int = 0
) -> dict[str, int]:
    """``TrainingJobStatusCounters``: platform failures are retryable, the others are not."""
    counters = {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    for child in children:
        if child.status in ACTIVE:
            counters["InProgress"] += 1
        elif child.status == "Failed":
            platform = (child.failure_reason or "").startswith("PlatformError")
            counters["RetryableError" if platform else "NonRetryableError"] += 1
        elif child.status in counters:
            counters[child.status] += 1
    counters["NonRetryableError"] += launch_failures
    return counters


def objective_counters(
    children: Sequence[TrainingJobRecord], metric_name: str, launch_failures: int = 0
) -> dict[str, int]:
    """``ObjectiveStatusCounters``."""
    counters = {"Succeeded": 0, "Pending": 0, "Failed": launch_failures}
    for child in children:
        counters[objective_status(child, metric_name)] += 1
    return counters


def describe(
    record: TuningJobRecord,
    children: Sequence[TrainingJobRecord],
    parent_children: Sequence[tuple[str, TrainingJobRecord]] = (),
) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob.

    Args:
        record: the tuning job.
        children: its training jobs.
        parent_children: ``(parent tuning job name, child)`` of warm-start parents, for
            ``OverallBestTrainingJob``.
    """
    settings = TuningSettings.from_config(record.tuning_job_config)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobConfig": record.tuning_job_config,
        "TrainingJobDefinition": _with_metric_definitions(record.training_job_definition),
        "HyperParameterTuningJobStatus": record.status,
        "CreationTime": record.creation_time,
        "LastModifiedTime": record.last_modified_time,
        "TrainingJobStatusCounters": status_counters(children, record.launch_failures),
        "ObjectiveStatusCounters": objective_counters(
            children, settings.objective_name, record.launch_failures
        ),
    }
    if record.end_time is not None:
        out["HyperParameterTuningEndTime"] = record.end_time
    best = best_child(children, settings)
    if best is not None:
        out["BestTrainingJob"] = summary(best, record.name, settings)
    if record.warm_start_config:
        out["WarmStartConfig"] = record.warm_start_config
        tuning_of = {c.name: record.name for c in children}
        tuning_of.update({c.name: parent for parent, c in parent_children})
        overall = best_child([*children, *(c for _, c in parent_children)], settings)
        if overall is not None:
            out["OverallBestTrainingJob"] = summary(overall, tuning_of[overall.name], settings)
    if record.failure_reason:
        out["FailureReason"] = record.failure_reason
    if record.completion_details:
        out["TuningJobCompletionDetails"] = record.completion_details
    end = record.end_time or datetime.now(UTC)
    out["ConsumedResources"] = {
        "RuntimeInSeconds": int((end - record.creation_time).total_seconds())
    }
    if record.tags:
        out["Tags"] = record.tags
    return out


def _with_metric_definitions(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition, with the algorithm's metric definitions when it gives none: SageMaker
    lists a built-in algorithm's metrics there, and the SDK's ``HyperparameterTuner.attach``
    reads them without a default."""
    from openmaker.algorithms import registry
    from openmaker.errors import OpenmakerError

    algo = dict(definition.get("AlgorithmSpecification") or {})
    if "MetricDefinitions" in algo:
        return definition
    try:
        spec = registry.resolve_image(str(algo.get("TrainingImage") or algo.get("AlgorithmName")))
    except OpenmakerError:
        return definition
    algo["MetricDefinitions"] = [{"Name": m.name, "Regex": m.regex} for m in spec.metrics]
    return {**definition, "AlgorithmSpecification": algo}


def list_summary(record: TuningJobRecord, children: Sequence[TrainingJobRecord]) -> dict[str, Any]:
    """One ``HyperParameterTuningJobSummary`` of ListHyperParameterTuningJobs."""
    settings = TuningSettings.from_config(record.tuning_job_config)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": record.name,
        "HyperParameterTuningJobArn": record.arn,
        "HyperParameterTuningJobStatus": record.status,
        "Strategy": record.strategy,
        "CreationTime": record.creation_time,
        "LastModifiedTime": record.last_modified_time,
        "TrainingJobStatusCounters": status_counters(children, record.launch_failures),
        "ObjectiveStatusCounters": objective_counters(
            children, settings.objective_name, record.launch_failures
        ),
        "ResourceLimits": record.tuning_job_config.get("ResourceLimits", {}),
    }
    if record.end_time is not None:
        out["HyperParameterTuningEndTime"] = record.end_time
    return out
