"""Helpers for the LDA tests: a corpus drawn from known topics, channels on disk, training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.common.topics import SyntheticCorpus, synthetic_corpus
from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace


class Workspace(AlgorithmWorkspace):
    """The shared test workspace with LDA's ``fit`` defaults."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "lda")

    def fit(
        self,
        X: Any,
        content_type: str = "application/x-recordio-protobuf",
        *,
        mode: str = "File",
        test: Any = None,
        **hyperparameters: Any,
    ) -> Run:
        """Train on ``X`` (dense counts) with ``feature_dim`` from the data."""
        hp = {"feature_dim": X.shape[1], "mini_batch_size": 100, "num_topics": 4}
        hp.update(hyperparameters)
        channels = {"train": self.channel("train", X, content_type, mode=mode)}
        if test is not None:
            channels["test"] = self.channel("test", test, content_type, mode=mode)
        return self.train(hp, channels)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace in a temporary folder."""
    return Workspace(tmp_path)


@pytest.fixture(scope="session")
def corpus() -> SyntheticCorpus:
    """2000 documents of ~50 words over 60 words from 4 known topics."""
    return synthetic_corpus(2000, 60, 4, topic_concentration=0.1, seed=7)


@pytest.fixture(scope="session")
def counts(corpus: SyntheticCorpus) -> np.ndarray:
    """The corpus as a dense float32 array."""
    return np.asarray(corpus.counts.toarray(), dtype=np.float32)
