"""Shared fixtures: an isolated OPENMAKER_HOME per test, and small data sets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Standby job processes (openmaker.executors.standby) are off for the suite: most tests change
# OPENMAKER_HOME for each job, so a standby would start after every job and go unused;
# tests/executors/test_standby.py turns them on where it tests them.
os.environ.setdefault("OPENMAKER_STANDBY_SECONDS", "0")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh OPENMAKER_HOME (SQLite store, jobs, artifacts) for one test."""
    root = tmp_path / "openmaker-home"
    monkeypatch.setenv("OPENMAKER_HOME", str(root))
    monkeypatch.delenv("OPENMAKER_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENMAKER_ARTIFACTS_URI", raising=False)
    monkeypatch.setenv("OPENMAKER_STOP_GRACE", "3")
    return root


def make_regression(n: int = 300, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small linear-plus-noise regression problem (float32)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype("float32")
    y = (X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)).astype("float32")
    return X, y


def write_csv(path: Path, X: np.ndarray, y: np.ndarray | None) -> Path:
    """SageMaker CSV: label first, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = X if y is None else np.column_stack([y, X])
    np.savetxt(path, rows, delimiter=",", fmt="%.7g")
    return path


@pytest.fixture()
def regression_csv(tmp_path: Path) -> dict[str, Path]:
    """train.csv and validation.csv for a regression problem."""
    X, y = make_regression()
    return {
        "train": write_csv(tmp_path / "data" / "train.csv", X[:240], y[:240]),
        "validation": write_csv(tmp_path / "data" / "validation.csv", X[240:], y[240:]),
    }
