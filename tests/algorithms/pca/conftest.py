"""Helpers for the PCA tests: tiny generated data, channels on disk, training runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace


def low_rank(n: int = 300, d: int = 8, rank: int = 3, seed: int = 0) -> np.ndarray:
    """Rows near a ``rank``-dimensional subspace, off-centre, float32."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(4.0, 1.5, rank)
    signal = (rng.normal(size=(n, rank)) * scales) @ rng.normal(size=(rank, d))
    noise = 0.1 * rng.normal(size=(n, d))
    return (signal + noise + rng.normal(size=d) * 3).astype(np.float32)


class Workspace(AlgorithmWorkspace):
    """The shared test workspace (:mod:`openmaker.testing.workspace`) with this algorithm's
    ``fit`` defaults."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "pca")

    def fit(
        self,
        X: Any,
        content_type: str = "text/csv",
        *,
        mode: str = "File",
        test: Any = None,
        **hyperparameters: Any,
    ) -> Run:
        """Train on ``X`` with ``feature_dim`` from the data and a small mini batch."""
        hp = {"feature_dim": X.shape[1], "mini_batch_size": 64, "num_components": 2}
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
    """300 x 8 rows near a 3-dimensional subspace."""
    return low_rank()


@pytest.fixture()
def make_data() -> Any:
    """The ``low_rank`` generator as a fixture."""
    return low_rank
