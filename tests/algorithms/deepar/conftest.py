"""Helpers for the DeepAR tests: seasonal series, JSON Lines channels, in-process runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.spec.algorithm import ChannelInput
from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace

#: Small and fast: hourly series, a day of context, six hours ahead, a tiny network.
FAST = {
    "time_freq": "H",
    "context_length": "24",
    "prediction_length": "6",
    "epochs": "3",
    "mini_batch_size": "32",
    "num_cells": "16",
    "num_layers": "1",
    "learning_rate": "0.01",
    "num_eval_samples": "50",
}


def seasonal_series(
    n: int = 12, length: int = 120, seed: int = 0, *, cat: bool = False, dyn: bool = False
) -> list[dict[str, Any]]:
    """Hourly series with a daily cycle; ``cat`` 0/1 sets the level (10 or 30), ``dyn`` adds
    a known promotion feature that lifts the value by 5."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = np.arange(length)
        level = 30.0 if cat and i % 2 else 10.0
        y = level + 3.0 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.2, length)
        rec: dict[str, Any] = {"start": "2021-03-01 00:00:00"}
        if dyn:
            promo = (rng.random(length) < 0.2).astype(float)
            y = y + 5.0 * promo
            rec["dynamic_feat"] = [promo.tolist()]
        if cat:
            rec["cat"] = [i % 2]
        rec["target"] = [round(float(v), 4) for v in y]
        out.append(rec)
    return out


class Workspace(AlgorithmWorkspace):
    """The shared workspace with DeepAR's record channels."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "forecasting-deepar")

    def records(
        self,
        name: str,
        records: list[dict[str, Any]] | list[str],
        file_name: str = "data.json",
        content_type: str = "application/jsonlines",
    ) -> ChannelInput:
        """Records (dicts, or raw lines as given) written as one JSON Lines file."""
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        (folder / file_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return ChannelInput(name=name, content_type=content_type, path=folder)

    def run(self, records: list[dict[str, Any]], test: Any = None, **hp: Any) -> Run:
        """Train on ``records`` with :data:`FAST` plus ``hp``."""
        channels = {"train": self.records("train", records)}
        if test is not None:
            channels["test"] = self.records("test", test)
        return self.train({**FAST, **{k: str(v) for k, v in hp.items()}}, channels)
