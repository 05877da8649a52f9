"""Helpers for the XGBoost tests: tiny generated data, channels on disk, a TrainingContext."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.xgboost.spec import SPEC
from openmaker.data import Dataset, write_dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def make_data(kind: str, n: int = 160, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels for ``regression``, ``binary`` or ``multiclass``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    signal = X @ np.linspace(1.0, -0.5, d)
    if kind == "regression":
        y = signal + 0.1 * rng.normal(size=n)
    elif kind == "binary":
        y = (signal > 0).astype(float)
    elif kind == "multiclass":
        y = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])).astype(float)
    else:
        raise ValueError(kind)
    return X, y.astype(np.float32)


HYPERPARAMETERS = {
    "regression": {"num_round": "4", "objective": "reg:squarederror", "max_depth": "3"},
    "binary": {"num_round": "4", "objective": "binary:logistic", "max_depth": "3"},
    "multiclass": {
        "num_round": "4",
        "objective": "multi:softprob",
        "num_class": "3",
        "max_depth": "3",
    },
}


@dataclass
class Run:
    """The result of one training run."""

    context: TrainingContext
    log: str

    @property
    def model_dir(self) -> Path:
        return Path(self.context.model_dir)

    def metric_lines(self) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith("[") and "\t" in line]


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
        content_type: str,
        *,
        weights: np.ndarray | None = None,
        mode: str = "File",
        parts: int = 1,
    ) -> ChannelInput:
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        bounds = np.linspace(0, X.shape[0], parts + 1).astype(int)
        for i in range(parts):
            lo, hi = bounds[i], bounds[i + 1]
            ds = Dataset(
                X[lo:hi],
                None if y is None else y[lo:hi],
                None if weights is None else weights[lo:hi],
            )
            write_dataset(ds, str(folder / f"part-{i}"), content_type)
        files = tuple(sorted(str(p) for p in folder.iterdir()))
        return ChannelInput(
            name=name,
            content_type=content_type,
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=files,
        )

    def context(self, tag: str = "job", *, checkpoints: bool = True, **kw: Any) -> TrainingContext:
        base = self.root / tag
        ctx = TrainingContext(
            job_name=tag,
            model_dir=base / "model",
            output_dir=base / "output",
            checkpoint_dir=base / "checkpoints",
            num_cpus=2,
            log=io.StringIO(),
            **kw,
        )
        ctx.model_dir.mkdir(parents=True, exist_ok=True)
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        if checkpoints:
            ctx.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return ctx

    def train(
        self,
        hyperparameters: dict[str, str],
        channels: dict[str, ChannelInput],
        context: TrainingContext | None = None,
        tag: str | None = None,
    ) -> Run:
        from openmaker.algorithms.xgboost.train import train

        if context is None:
            self._n += 1
            context = self.context(tag or f"job{self._n}")
        typed = SPEC.validate_hyperparameters(hyperparameters)
        train(typed, channels, context)
        assert isinstance(context.log, io.StringIO)
        return Run(context, context.log.getvalue())

    def train_data(
        self,
        kind: str,
        content_type: str = "text/csv",
        *,
        mode: str = "File",
        extra: dict[str, str] | None = None,
        validation: bool = True,
        tag: str | None = None,
    ) -> Run:
        X, y = make_data(kind)
        channels = {"train": self.channel("train", X[:120], y[:120], content_type, mode=mode)}
        if validation:
            channels["validation"] = self.channel(
                "validation", X[120:], y[120:], content_type, mode=mode
            )
        hp = {**HYPERPARAMETERS[kind], **(extra or {})}
        return self.train(hp, channels, tag=tag)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace per test."""
    return Workspace(tmp_path)


@pytest.fixture(scope="module")
def module_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace shared by a module (models trained once)."""
    return Workspace(tmp_path_factory.mktemp("xgb"))


@pytest.fixture()
def data() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``make_data`` as a fixture."""
    return make_data
