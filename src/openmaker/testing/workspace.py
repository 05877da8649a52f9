"""A scratch workspace for an algorithm's own tests: channels on disk, ``train`` run in process.

What :func:`openmaker.testing.check_algorithm` does for one generated problem, offered to an
algorithm's tests for their own data::

    ws = Workspace(tmp_path, "kmeans")
    run = ws.train({"k": 4, "feature_dim": 5}, {"train": ws.channel("train", X)})
    run.model().predict(body, "text/csv", "application/json")
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.spec.algorithm import AlgorithmSpec, ChannelInput, TrainingContext


@dataclass
class Run:
    """The result of one training run."""

    context: TrainingContext
    log: str
    spec: AlgorithmSpec

    @property
    def model_dir(self) -> Path:
        """The folder ``train`` wrote the model into."""
        return Path(self.context.model_dir)

    def model_bytes(self) -> bytes:
        """The bytes of ``model_algo-1``."""
        return (self.model_dir / "model_algo-1").read_bytes()

    def files(self) -> dict[str, bytes]:
        """Every file of the model folder, by name."""
        return {p.name: p.read_bytes() for p in sorted(self.model_dir.iterdir())}

    def model(self) -> Any:
        """The algorithm's model class loaded from :attr:`model_dir`."""
        return self.spec.model_class().load(self.model_dir)


class Workspace:
    """Writes channels under ``root`` and runs the algorithm's ``train`` like a job would.

    Args:
        root: an empty folder (``tmp_path``).
        algorithm: the registered name (``kmeans``).
    """

    def __init__(self, root: Path, algorithm: str) -> None:
        from openmaker.algorithms import registry

        self.root = root
        self.spec = registry.get(algorithm)
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
        """``X`` (and labels ``y``) written as ``parts`` files of ``content_type``."""
        from openmaker.data import Dataset, write_dataset

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
        """A fresh job folder (model, output, checkpoints) logging into a string."""
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
        """Validate ``hyperparameters`` and train in this process."""
        ctx = self.context()
        typed = self.spec.validate_hyperparameters(hyperparameters)
        self.spec.train_function()(typed, channels, ctx)
        assert isinstance(ctx.log, io.StringIO)
        return Run(ctx, ctx.log.getvalue(), self.spec)
