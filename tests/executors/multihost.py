"""Helpers of the multi-host tests: part files, CreateTrainingJob requests, model arrays."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np


def write_parts(folder: Path, rows: np.ndarray, parts: int) -> Path:
    """``rows`` as ``parts`` CSV files ``part-0.csv`` ... (no header)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(rows, parts)):
        np.savetxt(folder / f"part-{i}.csv", chunk, delimiter=",", fmt="%.7g")
    return folder


def request(
    name: str,
    algorithm: str,
    hyperparameters: dict[str, str],
    channels: dict[str, tuple[Path | str, str]],
    count: int,
    *,
    mode: str = "File",
    instance_type: str = "ml.m5.large",
    max_runtime: int | None = None,
) -> dict[str, Any]:
    """CreateTrainingJob for CSV channels: ``channels`` maps name -> (uri, distribution)."""
    req: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": algorithm, "TrainingInputMode": mode},
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": ch,
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3Uri": str(uri), "S3DataDistributionType": dist}},
            }
            for ch, (uri, dist) in channels.items()
        ],
        "ResourceConfig": {"InstanceCount": count, "InstanceType": instance_type},
    }
    if max_runtime is not None:
        req["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime}
    return req


def model_arrays(model_data: str, dest: Path) -> dict[str, np.ndarray]:
    """The arrays of a first-party model (``model_algo-1``) in ``model.tar.gz``."""
    from openmaker.algorithms.common import load_model_arrays

    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(model_data) as tar:
        tar.extractall(dest, filter="data")
    return load_model_arrays(dest)[0]


def xgboost_predictions(model_data: str, X: np.ndarray) -> np.ndarray:
    """An XGBoost model's predictions for ``X`` (through openmaker's serving path)."""
    import json

    from openmaker import load_model

    body = "\n".join(",".join(f"{v:.7g}" for v in row) for row in X).encode()
    out, _ = load_model(model_data).predict(body, "text/csv", "application/json")
    return np.array([p["score"] for p in json.loads(out)["predictions"]])
