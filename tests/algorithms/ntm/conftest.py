"""Helpers for the NTM tests: a small corpus with known topics, channels on disk, runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.common.topics import SyntheticCorpus, synthetic_corpus
from openmaker.spec.algorithm import ChannelInput
from openmaker.testing.workspace import Run
from openmaker.testing.workspace import Workspace as AlgorithmWorkspace

VOCAB = 24
TOPICS = 3

#: Small and fast: a few epochs of adam on a tiny vocabulary.
FAST = {
    "num_topics": TOPICS,
    "feature_dim": VOCAB,
    "epochs": 4,
    "mini_batch_size": 32,
    "optimizer": "adam",
    "learning_rate": 0.02,
    "num_patience_epochs": 10,
}


def words(n: int = VOCAB) -> list[str]:
    """A vocabulary of ``n`` made-up words."""
    return [f"word{i:02d}" for i in range(n)]


class Workspace(AlgorithmWorkspace):
    """The shared test workspace with NTM's channels (auxiliary vocab.txt included)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "ntm")

    def vocab(self, lines: list[str] | bytes, name: str = "vocab.txt") -> ChannelInput:
        """An ``auxiliary`` channel holding ``name`` with ``lines`` (or raw bytes)."""
        self._n += 1
        folder = self.root / f"aux{self._n}"
        folder.mkdir(parents=True)
        data = lines if isinstance(lines, bytes) else "".join(f"{w}\n" for w in lines).encode()
        (folder / name).write_bytes(data)
        return ChannelInput("auxiliary", "text/plain", path=folder)

    def fit(self, X: Any, content_type: str = "application/x-recordio-protobuf", **hp: Any) -> Run:
        """Train on ``X`` alone with :data:`FAST` settings overridden by ``hp``."""
        return self.train({**FAST, **hp}, {"train": self.channel("train", X, content_type)})


@pytest.fixture(scope="session")
def corpus() -> SyntheticCorpus:
    """300 documents from 3 well separated topics over 24 words."""
    return synthetic_corpus(300, VOCAB, TOPICS, alpha0=0.5, topic_concentration=0.1, seed=3)


@pytest.fixture()
def counts(corpus: SyntheticCorpus) -> np.ndarray:
    """The corpus as dense float32 counts."""
    return np.asarray(corpus.counts.toarray(), dtype=np.float32)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    """A fresh NTM workspace."""
    return Workspace(tmp_path)
