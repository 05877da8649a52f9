"""Child training jobs: their names and their CreateTrainingJob requests."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from typing import Any


def child_name(tuning_name: str, index: int) -> str:
    """``<tuning-name>-<NNN>-<8 hex>`` (fits in 63: tuning names have at most 32 characters)."""
    return f"{tuning_name}-{index:03d}-{secrets.token_hex(4)}"


def child_request(
    definition: Mapping[str, Any],
    name: str,
    tuned: Mapping[str, str],
    tuning_job_arn: str,
) -> dict[str, Any]:
    """The CreateTrainingJob request of one trial.

    Args:
        definition: the tuning job's validated ``TrainingJobDefinition``.
        name: the child's name.
        tuned: the trial's values of the searched hyperparameters (strings).
        tuning_job_arn: set as the child's ``TuningJobArn``.
    """
    d = copy.deepcopy(dict(definition))
    algo = dict(d.get("AlgorithmSpecification") or {})
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algo,
        "HyperParameters": {**d.get("StaticHyperParameters", {}), **dict(tuned)},
        "InputDataConfig": d.get("InputDataConfig") or [],
        "OutputDataConfig": d.get("OutputDataConfig") or {},
        "ResourceConfig": d.get("ResourceConfig") or {},
        "StoppingCondition": d.get("StoppingCondition") or {},
        "Environment": d.get("Environment") or {},
        "TuningJobArn": tuning_job_arn,
    }
    if d.get("RoleArn"):
        request["RoleArn"] = d["RoleArn"]
    checkpoint = d.get("CheckpointConfig")
    if checkpoint and checkpoint.get("S3Uri"):
        # One folder per trial, or the trials would resume from each other's checkpoints.
        request["CheckpointConfig"] = {
            **checkpoint,
            "S3Uri": checkpoint["S3Uri"].rstrip("/") + "/" + name,
        }
    return request
