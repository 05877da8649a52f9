"""Helpers for the K-Means tests: tiny generated data, channels on disk, training runs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.kmeans.spec import SPEC
from openmaker.data import Dataset, write_dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext

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


@dataclass
class Run:
    """The result of one training run."""

    context: TrainingContext
    log: str

    @property
    def model_dir(self) -> Path:
        return Path(self.context.model_dir)

    def model_bytes(self) -> bytes:
        return (self.model_dir / "model_algo-1").read_bytes()

    def model(self) -> Any:
        from openmaker.algorithms.kmeans.model import KMeansModel

        return KMeansModel.load(self.model_dir)


class Workspace:
    """Writes channels under ``root`` and runs ``train`` like a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def channel(
        self,
        name: str,
        X: Any,
        content_type: str = "text/csv",
        *,
        y: np.ndarray | None = None,
        params: dict[str, str] | None = None,
        mode: str = "File",
        parts: int = 1,
    ) -> ChannelInput:
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        bounds = np.linspace(0, X.shape[0], parts + 1).astype(int)
        for i in range(parts):
            lo, hi = bounds[i], bounds[i + 1]
            ds = Dataset(X[lo:hi], None if y is None else y[lo:hi], None)
            write_dataset(ds, str(folder / f"part-{i}"), content_type)
        files = tuple(sorted(str(p) for p in folder.iterdir()))
        return ChannelInput(
            name=name,
            content_type=content_type,
            params=dict(params or {}),
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=files,
        )

    def context(self) -> TrainingContext:
        self._n += 1
        base = self.root / f"job{self._n}"
        ctx = TrainingContext(
            job_name=base.name,
            model_dir=base / "model",
            output_dir=base / "output",
            checkpoint_dir=base / "checkpoints",
            log=io.StringIO(),
        )
        ctx.model_dir.mkdir(parents=True)
        ctx.output_dir.mkdir(parents=True)
        return ctx

    def train(self, hyperparameters: dict[str, Any], channels: dict[str, ChannelInput]) -> Run:
        from openmaker.algorithms.kmeans.train import train

        ctx = self.context()
        typed = SPEC.validate_hyperparameters(hyperparameters)
        train(typed, channels, ctx)
        assert isinstance(ctx.log, io.StringIO)
        return Run(ctx, ctx.log.getvalue())

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
