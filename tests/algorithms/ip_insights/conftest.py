"""Helpers for the IP Insights tests: generated logins, channels on disk, training runs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.ip_insights.spec import SPEC
from openmaker.spec.algorithm import ChannelInput, TrainingContext
from openmaker.spec.metrics import format_log_line

#: Small, fast settings that still learn the generated logins.
FAST = {
    "num_entity_vectors": "80",
    "vector_dim": "16",
    "epochs": "4",
    "mini_batch_size": "100",
    "learning_rate": "0.02",
    "batch_metrics_publish_interval": "5",
}


def ip_text(value: int) -> str:
    v = int(value)
    return f"{v >> 24 & 255}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"


@dataclass
class Logins:
    """Generated logins: each user logs in from hosts of its two home /24 subnets."""

    homes: np.ndarray  # (users, 2) /24 prefixes (24-bit ints)
    seed: int

    def normal(self, n: int, seed: int) -> list[tuple[str, str]]:
        rng = np.random.default_rng(seed)
        users = rng.integers(0, len(self.homes), n)
        which = rng.integers(0, 2, n)
        hosts = rng.integers(1, 255, n)
        ips = (self.homes[users, which].astype(np.int64) << 8) | hosts
        return [(f"user{u}", ip_text(ip)) for u, ip in zip(users, ips, strict=True)]

    def anomalous(self, n: int, seed: int) -> list[tuple[str, str]]:
        rng = np.random.default_rng(seed)
        users = rng.integers(0, len(self.homes), n)
        ips = rng.integers(0, 1 << 32, n)
        return [(f"user{u}", ip_text(ip)) for u, ip in zip(users, ips, strict=True)]


def make_logins(users: int = 40, seed: int = 0) -> Logins:
    rng = np.random.default_rng(seed)
    return Logins(rng.integers(1 << 16, 1 << 24, size=(users, 2)), seed)


def csv_text(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"{e},{ip}\n" for e, ip in pairs)


def metrics_in(log: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in log.splitlines():
        for m in SPEC.metrics:
            value = m.match(format_log_line(line))
            if value is not None:
                found.setdefault(m.name, []).append(value)
    return found


@dataclass
class Run:
    context: TrainingContext
    log: str

    @property
    def model_dir(self) -> Path:
        return Path(self.context.model_dir)

    def model_bytes(self) -> bytes:
        return (self.model_dir / "model_algo-1").read_bytes()

    def model(self) -> Any:
        from openmaker.algorithms.ip_insights.model import IPInsightsModel

        return IPInsightsModel.load(self.model_dir)


class Workspace:
    """Writes channels under ``root`` and runs ``train`` as a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def channel(
        self,
        name: str,
        data: str | bytes | list[tuple[str, str]],
        *,
        mode: str = "File",
        parts: int = 1,
        gzip: bool = False,
        content_type: str = "text/csv",
    ) -> ChannelInput:
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        text = csv_text(data) if isinstance(data, list) else data
        raw = text.encode() if isinstance(text, str) else text
        lines = raw.splitlines(keepends=True)
        bounds = np.linspace(0, len(lines), parts + 1).astype(int)
        for i in range(parts):
            chunk = b"".join(lines[bounds[i] : bounds[i + 1]])
            if gzip:
                import gzip as gz

                chunk = gz.compress(chunk)
            (folder / f"part-{i}.csv").write_bytes(chunk)
        files = tuple(sorted(str(p) for p in folder.iterdir()))
        return ChannelInput(
            name=name,
            content_type=content_type,
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=files,
        )

    def run(self, channels: dict[str, ChannelInput], **hyperparameters: Any) -> Run:
        from openmaker.algorithms.ip_insights.train import train

        self._n += 1
        root = self.root / f"run{self._n}"
        log = io.StringIO()
        ctx = TrainingContext(
            job_name="test",
            model_dir=root / "model",
            output_dir=root / "output",
            checkpoint_dir=root / "checkpoints",
            log=log,
        )
        for d in (ctx.model_dir, ctx.output_dir, ctx.checkpoint_dir):
            d.mkdir(parents=True)
        hp = {**FAST, **{k: str(v) for k, v in hyperparameters.items()}}
        train(SPEC.validate_hyperparameters(hp), channels, ctx)
        return Run(ctx, log.getvalue())

    def fit(self, train: Any, validation: Any = None, **hyperparameters: Any) -> Run:
        channels = {"train": self.channel("train", train)}
        if validation is not None:
            channels["validation"] = self.channel("validation", validation)
        return self.run(channels, **hyperparameters)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture(scope="session")
def logins() -> Logins:
    return make_logins()
