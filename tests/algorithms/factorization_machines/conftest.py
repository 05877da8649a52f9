"""Helpers for the Factorization Machines tests: one-hot rating data, channels, a context."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.data import Dataset, write_dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext

RECORDIO = "application/x-recordio-protobuf"


def one_hot(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """Rows with a 1 at the user's column and at ``n_users + item``."""
    n = len(users)
    cols = np.column_stack([users, n_users + items]).ravel()
    rows = np.repeat(np.arange(n), 2)
    data = np.ones(2 * n, dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n_users + n_items))


def ratings(
    n: int = 2000,
    n_users: int = 40,
    n_items: int = 50,
    k: int = 3,
    *,
    binary: bool = False,
    seed: int = 0,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Ratings with user/item biases and a rank-``k`` interaction, one-hot encoded.

    Binary labels are 1 where the rating is above its median.
    """
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n_users, k))
    item_f = rng.normal(size=(n_items, k))
    bu = rng.normal(scale=0.5, size=n_users)
    bi = rng.normal(scale=0.5, size=n_items)
    users = rng.integers(0, n_users, size=n)
    items = rng.integers(0, n_items, size=n)
    r = 3.0 + bu[users] + bi[items] + (U[users] * item_f[items]).sum(1)
    r += 0.1 * rng.normal(size=n)
    X = one_hot(users, items, n_users, n_items)
    y = (r > np.median(r)).astype(np.float32) if binary else r.astype(np.float32)
    return X, y


def hyperparameters(predictor_type: str, feature_dim: int, **extra: Any) -> dict[str, str]:
    """Settings that learn the tiny problems above in a few epochs."""
    hp = {
        "predictor_type": predictor_type,
        "feature_dim": str(feature_dim),
        "num_factors": "4",
        "epochs": "10",
        "mini_batch_size": "100",
        "factors_lr": "0.02",
        "linear_lr": "0.05",
        "factors_init_sigma": "0.1",
    }
    hp.update({k: str(v) for k, v in extra.items()})
    return hp


class Workspace:
    """Writes channels under ``root`` and runs ``train`` like a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def channel(self, name: str, X: Any, y: Any, mode: str = "File") -> ChannelInput:
        """Write ``X``/``y`` as RecordIO-protobuf (sparse for a sparse ``X``)."""
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        write_dataset(Dataset(X, y, None), str(folder / "part-0"), RECORDIO)
        files = tuple(sorted(str(p) for p in folder.iterdir()))
        return ChannelInput(
            name=name,
            content_type=RECORDIO,
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=files,
        )

    def raw_channel(self, name: str, payload: bytes, mode: str = "File") -> ChannelInput:
        """A channel holding ``payload`` as its only file."""
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        (folder / "part-0").write_bytes(payload)
        return ChannelInput(
            name=name,
            content_type=RECORDIO,
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=(str(folder / "part-0"),),
        )

    def train(
        self, hp: dict[str, str], channels: dict[str, ChannelInput]
    ) -> tuple[TrainingContext, str]:
        """Run ``train``; returns the context and the log."""
        from openmaker.algorithms.factorization_machines.train import train

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
        train(hp, channels, ctx)
        assert isinstance(ctx.log, io.StringIO)
        return ctx, ctx.log.getvalue()


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace per test."""
    return Workspace(tmp_path)
