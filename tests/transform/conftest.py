"""Transform fixtures: a tiny XGBoost model registered as a model, and input files."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

N_FEATURES = 4


@pytest.fixture(scope="session")
def model_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model.tar.gz predicting about sum(features), trained in-process."""
    import xgboost as xgb

    folder = tmp_path_factory.mktemp("tmodel")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, N_FEATURES)).astype("float32")
    booster = xgb.train(
        {"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X, X.sum(1)), 5
    )
    booster.save_model(str(folder / "xgboost-model.ubj"))
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(folder / "xgboost-model.ubj", arcname="xgboost-model")
    return str(folder / "model.tar.gz")


@pytest.fixture()
def model(home: Path, model_uri: str) -> str:
    """The model registered as ``m`` in a fresh home."""
    from openmaker.hosting.models import ModelService

    ModelService().create(
        {"ModelName": "m", "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": model_uri}}
    )
    return "m"


def csv_rows(n: int, seed: int = 1) -> np.ndarray:
    """Feature rows (no label), rounded so the CSV text is short."""
    return np.round(np.random.default_rng(seed).normal(size=(n, N_FEATURES)), 3)


def write_csv(path: Path, rows: np.ndarray) -> Path:
    """CSV without header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, delimiter=",", fmt="%.3f")
    return path
