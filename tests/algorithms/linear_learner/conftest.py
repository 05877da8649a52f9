"""Helpers for the Linear Learner tests: tiny generated data, channels on disk, a context."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.linear_learner.spec import SPEC
from openmaker.data import Dataset, write_dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext

PTYPE = {
    "binary": "binary_classifier",
    "multiclass": "multiclass_classifier",
    "regression": "regressor",
}


def make_data(kind: str, n: int = 400, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features (scaled and shifted, so normalisation matters) and labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(1.0, 4.0, d) + 2.0
    signal = (X - 2.0) @ (np.linspace(1.0, -0.5, d) / np.linspace(1.0, 4.0, d))
    if kind == "regression":
        y = 3.0 * signal + 5.0 + 0.1 * rng.normal(size=n)
    elif kind == "binary":
        y = (signal + 0.3 * rng.normal(size=n) > 0).astype(float)
    else:
        y = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])).astype(float)
    return X.astype(np.float32), y.astype(np.float32)


def hyperparameters(kind: str, **extra: Any) -> dict[str, str]:
    """Small, fast settings."""
    hp = {"predictor_type": PTYPE[kind], "mini_batch_size": "50", "epochs": "8", "num_models": "4"}
    if kind == "multiclass":
        hp["num_classes"] = "3"
    hp.update({k: str(v) for k, v in extra.items()})
    return hp


class Workspace:
    """Writes channels under ``root`` and runs ``train`` like a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def channel(
        self, name: str, X: Any, y: Any, content_type: str = "text/csv", mode: str = "File"
    ) -> ChannelInput:
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        write_dataset(Dataset(X, y, None), str(folder / "part-0"), content_type)
        files = tuple(sorted(str(p) for p in folder.iterdir()))
        return ChannelInput(
            name=name,
            content_type=content_type,
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=files,
        )

    def train(
        self, hp: dict[str, str], channels: dict[str, ChannelInput]
    ) -> tuple[TrainingContext, str]:
        from openmaker.algorithms.linear_learner.train import train

        self._n += 1
        base = self.root / f"job{self._n}"
        ctx = TrainingContext(
            job_name="t",
            model_dir=base / "model",
            output_dir=base / "output",
            checkpoint_dir=base / "ckpt",
            log=io.StringIO(),
        )
        ctx.model_dir.mkdir(parents=True)
        train(SPEC.validate_hyperparameters(hp), channels, ctx)
        assert isinstance(ctx.log, io.StringIO)
        return ctx, ctx.log.getvalue()

    def run(
        self,
        kind: str,
        content_type: str = "text/csv",
        mode: str = "File",
        *,
        validation: bool = True,
        test: bool = False,
        **extra: Any,
    ) -> tuple[TrainingContext, str]:
        X, y = make_data(kind)
        channels = {"train": self.channel("train", X[:300], y[:300], content_type, mode)}
        if validation:
            channels["validation"] = self.channel(
                "validation", X[300:], y[300:], content_type, mode
            )
        if test:
            channels["test"] = self.channel("test", X[300:], y[300:], content_type, mode)
        return self.train(hyperparameters(kind, **extra), channels)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace per test."""
    return Workspace(tmp_path)
