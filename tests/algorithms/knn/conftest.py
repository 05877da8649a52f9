"""Helpers for the k-NN tests: tiny generated labelled data, channels on disk, training runs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.knn.spec import SPEC
from openmaker.data import Dataset, write_dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext
from openmaker.spec.metrics import format_log_line

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


@dataclass
class Run:
    """The result of one training run."""

    context: TrainingContext
    log: str

    @property
    def model_dir(self) -> Path:
        return Path(self.context.model_dir)

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.model_dir.iterdir())}

    def model(self) -> Any:
        from openmaker.algorithms.knn.model import KNNModel

        return KNNModel.load(self.model_dir)


class Workspace:
    """Writes channels under ``root`` and runs ``train`` like a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def channel(
        self,
        name: str,
        X: Any,
        y: np.ndarray | None,
        content_type: str = "text/csv",
        *,
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
        from openmaker.algorithms.knn.train import train

        ctx = self.context()
        typed = SPEC.validate_hyperparameters(hyperparameters)
        train(typed, channels, ctx)
        assert isinstance(ctx.log, io.StringIO)
        return Run(ctx, ctx.log.getvalue())

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
