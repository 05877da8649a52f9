"""Helpers for the BlazingText tests: tiny corpora on disk and in-process training runs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from openmaker.algorithms.blazingtext.spec import SPEC
from openmaker.algorithms.blazingtext.synthetic import topic_corpus
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Small and quick: 3 groups x 2 topics x 10 words, 100 fillers.
SMALL = {"groups": 3, "topics_per_group": 2, "words_per_topic": 10, "fillers": 40}


class Job:
    """One in-process training run: its model folder and log."""

    def __init__(self, root: Path, log: str) -> None:
        self.model_dir = root / "model"
        self.log = log

    def lines(self, prefix: str) -> list[str]:
        """Log lines that contain ``prefix``."""
        return [line for line in self.log.splitlines() if prefix in line]


class Workspace:
    """Writes text channels under ``root`` and trains BlazingText as a job would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def text_channel(
        self, name: str, content: bytes | str, *, mode: str = "File", filename: str = "part-0"
    ) -> ChannelInput:
        """A channel of one text file holding ``content``."""
        self._n += 1
        folder = self.root / f"data{self._n}" / name
        folder.mkdir(parents=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / filename).write_bytes(data)
        return ChannelInput(
            name=name,
            content_type="text/plain",
            input_mode=mode,
            path=folder if mode == "File" else None,
            uris=(str(folder / filename),),
        )

    def corpus_channel(self, sentences: int = 600, seed: int = 0) -> ChannelInput:
        """A generated topic corpus (:mod:`openmaker.algorithms.blazingtext.synthetic`)."""
        path = self.root / f"corpus-{sentences}-{seed}.txt"
        topic_corpus(path, sentences=sentences, seed=seed, **SMALL)
        return self.text_channel("train", path.read_bytes())

    def context(
        self, hosts: tuple[str, ...] = ("algo-1",), host: str = "algo-1"
    ) -> TrainingContext:
        """A fresh job folder."""
        self._n += 1
        base = self.root / f"job{self._n}-{host}"
        ctx = TrainingContext(
            job_name=base.name,
            model_dir=base / "model",
            output_dir=base / "output",
            checkpoint_dir=base / "checkpoints",
            hosts=hosts,
            current_host=host,
            num_cpus=2,
            log=io.StringIO(),
        )
        for d in (ctx.model_dir, ctx.output_dir, ctx.checkpoint_dir):
            d.mkdir(parents=True)
        return ctx

    def train(
        self, hyperparameters: dict[str, Any], channels: dict[str, ChannelInput], **ctx: Any
    ) -> Job:
        """Validate and train in this process."""
        from openmaker.algorithms.blazingtext.train import train

        context = self.context(**ctx)
        train(SPEC.validate_hyperparameters(hyperparameters), channels, context)
        assert isinstance(context.log, io.StringIO)
        return Job(context.model_dir.parent, context.log.getvalue())


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def labelled_lines(n: int = 200, seed: int = 0) -> list[str]:
    """Supervised lines: the label is decided by which keyword set the sentence uses."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocab = {
        "pos": ["great", "wonderful", "superb", "moving", "brilliant", "fun"],
        "neg": ["dull", "awful", "boring", "tedious", "weak", "silly"],
    }
    common = ["the", "film", "a", "plot", "is", "and", "of", "story", "acting", "it"]
    out = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = list(rng.choice(common, size=6)) + list(rng.choice(vocab[label], size=2))
        rng.shuffle(words)
        out.append(f"__label__{label} " + " ".join(words))
    return out
