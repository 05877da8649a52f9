"""Helpers for the k-NN tests: tiny generated labelled data, channels on disk, training runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.knn.spec import SPEC
from openmaker.spec.algorithm import ChannelInput
from openmaker.spec.metrics import format_log_line
from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace

RECORDIO = "application/x-recordio-protobuf"


def blobs(n: int = 300, d: int = 5, classes: int = 3, seed: int = 0, std: float = 1.5):
    """``n`` rows around ``classes`` random centres (overlapping a little), labels 0..C-1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, d))
    y = rng.integers(0, classes, size=n)
    X = centres[y] + std * rng.normal(size=(n, d))
    return X.astype(np.float32), y.astype(np.float32)


def metrics(log: str) -> dict[str, list[float]]:
    """Every declared metric's values found in ``log``."""
    found: dict[str, list[float]] = {}
    for line in log.splitlines():
        for m in SPEC.metrics:
            value = m.match(format_log_line(line))
            if value is not None:
                found.setdefault(m.name, []).append(value)
    return found


class Workspace(AlgorithmWorkspace):
    """The shared test workspace (:mod:`openmaker.testing.workspace`) with this algorithm's
    ``fit`` defaults."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "knn")

    def channel(  # type: ignore[override]
        self,
        name: str,
        X: Any,
        y: np.ndarray | None,
        content_type: str = "text/csv",
        **kwargs: Any,
    ) -> ChannelInput:
        """Labels second: every k-NN channel but inference is labelled."""
        return super().channel(name, X, content_type, y=y, **kwargs)

    def fit(
        self,
        X: Any,
        y: np.ndarray | None,
        content_type: str = "text/csv",
        *,
        mode: str = "File",
        test: tuple[Any, Any] | None = None,
        **hyperparameters: Any,
    ) -> Run:
        """Train a classifier (k=5, everything sampled) unless told otherwise."""
        hp = {
            "feature_dim": X.shape[1],
            "k": 5,
            "predictor_type": "classifier",
            "sample_size": X.shape[0],
            "mini_batch_size": 64,
        }
        hp.update(hyperparameters)
        channels = {"train": self.channel("train", X, y, content_type, mode=mode)}
        if test is not None:
            channels["test"] = self.channel("test", test[0], test[1], content_type, mode=mode)
        return self.train(hp, channels)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace in a temporary folder."""
    return Workspace(tmp_path)
