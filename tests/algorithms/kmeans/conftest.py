"""Helpers for the K-Means tests: tiny generated data, channels on disk, training runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace

#: Centres of the generated blobs (4 clusters in 5 dimensions, far apart, off the origin).
BLOB_CENTERS = np.array(
    [
        [10.0, 10.0, 10.0, 10.0, 10.0],
        [-10.0, 10.0, -10.0, 10.0, 0.0],
        [10.0, -10.0, 0.0, -10.0, 10.0],
        [0.0, 0.0, 20.0, 0.0, -10.0],
    ]
)


def blobs(n: int = 400, seed: int = 0, std: float = 1.0, offset: float = 100.0) -> np.ndarray:
    """``n`` rows around :data:`BLOB_CENTERS` (+ ``offset``), shuffled, float32."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(BLOB_CENTERS), size=n)
    X = BLOB_CENTERS[labels] + offset + std * rng.normal(size=(n, BLOB_CENTERS.shape[1]))
    return X.astype(np.float32)


class Workspace(AlgorithmWorkspace):
    """The shared test workspace (:mod:`openmaker.testing.workspace`) with this algorithm's
    ``fit`` defaults."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "kmeans")

    def fit(
        self,
        X: Any,
        content_type: str = "text/csv",
        *,
        mode: str = "File",
        test: Any = None,
        **hyperparameters: Any,
    ) -> Run:
        """Train on ``X`` with ``feature_dim`` from the data, k=4 and a small mini batch."""
        hp = {"feature_dim": X.shape[1], "mini_batch_size": 64, "k": 4}
        hp.update(hyperparameters)
        channels = {"train": self.channel("train", X, content_type, mode=mode)}
        if test is not None:
            channels["test"] = self.channel("test", test, content_type, mode=mode)
        return self.train(hp, channels)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace in a temporary folder."""
    return Workspace(tmp_path)


@pytest.fixture()
def data() -> np.ndarray:
    """400 x 5 rows in 4 well separated blobs, far from the origin."""
    return blobs()
