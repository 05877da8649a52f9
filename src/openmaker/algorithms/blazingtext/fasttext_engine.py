"""``cbow``, ``skipgram`` and ``supervised``, trained by fastText itself (the field's engine).

BlazingText's names map onto fastText's: ``vector_dim`` -> ``dim``, ``window_size`` -> ``ws``,
``min_count`` -> ``minCount``, ``negative_samples`` -> ``neg``, ``sampling_threshold`` -> ``t``,
``learning_rate`` -> ``lr``, ``epochs`` -> ``epoch``, ``min_char`` / ``max_char`` ->
``minn`` / ``maxn`` (0 / 0 without ``subwords``), ``buckets`` -> ``bucket``, ``word_ngrams`` ->
``wordNgrams``. Word2Vec uses negative sampling (``loss=ns``), supervised fastText's softmax.
fastText trains on every core the job has (``thread``); with one thread and its fixed seed the
model bytes are reproducible, with several they are not (Hogwild updates, as fastText).

Supervised early stopping (``early_stopping=True``, needs ``validation``): fastText cannot
resume a run, so "the model after epoch e" is a fastText run of ``e`` epochs (with its
learning rate decaying over those ``e`` epochs). Runs of ``min_epochs``, ``min_epochs + 1``,
... ``epochs`` epochs are scored on the validation channel in turn; each improvement is kept
(``Validation accuracy improved! Storing best weights...``) and after ``patience`` runs without
one, training stops with the best model. Without early stopping there is one run of
``epochs`` epochs, scored on the validation channel at the end when there is one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.blazingtext.progress import fasttext_progress
from openmaker.algorithms.common import MetricLog
from openmaker.errors import require


def import_fasttext() -> Any:
    """``fasttext``, or a MissingExtraError naming the ``text`` extra."""
    return require("fasttext", "text")


@dataclass
class RunResult:
    """One fastText training call."""

    model: Any
    seconds: float
    words_per_second: float


def _train(log: MetricLog, threads: int, supervised: bool, **args: Any) -> RunResult:
    ft = import_fasttext()
    fn = ft.train_supervised if supervised else ft.train_unsupervised
    start = time.perf_counter()
    with fasttext_progress(log.info, threads) as pump:
        model = fn(thread=threads, verbose=2, **args)
    return RunResult(model, time.perf_counter() - start, pump.words_per_second)


def word2vec_args(hp: dict[str, Any], corpus: Path) -> dict[str, Any]:
    """fastText's arguments for a cbow / skipgram run."""
    subwords = bool(hp.get("subwords", False))
    return {
        "input": str(corpus),
        "model": hp["mode"],
        "dim": int(hp["vector_dim"]),
        "ws": int(hp["window_size"]),
        "epoch": int(hp["epochs"]),
        "minCount": int(hp["min_count"]),
        "neg": int(hp["negative_samples"]),
        "t": float(hp["sampling_threshold"]),
        "lr": float(hp["learning_rate"]),
        "loss": "ns",
        "minn": int(hp["min_char"]) if subwords else 0,
        "maxn": int(hp["max_char"]) if subwords else 0,
        "bucket": int(hp["buckets"]) if subwords else 0,
    }


def train_word2vec(hp: dict[str, Any], corpus: Path, log: MetricLog, threads: int) -> RunResult:
    """Train cbow / skipgram on ``corpus`` (one sentence per line)."""
    result = _train(log, threads, False, **word2vec_args(hp, corpus))
    log.info(f"-------------- End of epoch: {int(hp['epochs'])}")
    return result


def word_vectors(model: Any) -> tuple[list[str], np.ndarray]:
    """The vocabulary and its vectors (subword-averaged when trained with subwords)."""
    words = list(model.words)
    if model.f.getArgs().maxn == 0:  # no subwords: a word's vector is its input row
        return words, np.array(model.get_input_matrix()[: len(words)], dtype=np.float32)
    dim = model.get_dimension()
    out = np.empty((len(words), dim), dtype=np.float32)
    for i, w in enumerate(words):
        out[i] = model.get_word_vector(w)
    return words, out


def supervised_args(hp: dict[str, Any], corpus: Path, epochs: int) -> dict[str, Any]:
    """fastText's arguments for a supervised run of ``epochs`` epochs."""
    return {
        "input": str(corpus),
        "dim": int(hp["vector_dim"]),
        "epoch": epochs,
        "minCount": int(hp["min_count"]),
        "lr": float(hp["learning_rate"]),
        "wordNgrams": int(hp["word_ngrams"]),
        "bucket": int(hp["buckets"]) if int(hp["word_ngrams"]) > 1 else 0,
        "loss": "softmax",
    }


def accuracy(model: Any, path: Path) -> float:
    """Precision at 1: the share of lines whose top prediction is one of their labels."""
    n, p_at_1, _ = model.test(str(path), 1)
    return float(p_at_1) if n else 0.0


def train_supervised(
    hp: dict[str, Any],
    corpus: Path,
    validation: Path | None,
    log: MetricLog,
    threads: int,
) -> RunResult:
    """Train the classifier, with early stopping on ``validation`` when asked."""
    epochs = int(hp["epochs"])
    if not (hp.get("early_stopping") and validation is not None):
        result = _train(log, threads, True, **supervised_args(hp, corpus, epochs))
        log.info(f"-------------- End of epoch: {epochs}")
        if validation is not None:
            acc = accuracy(result.model, validation)
            log.info(f"Validation accuracy: {acc:.6f}")
            log.context.print(f"#validation_accuracy: {acc:.6f}")
        return result
    patience = int(hp["patience"])
    first = min(int(hp["min_epochs"]), epochs)
    best: RunResult | None = None
    best_acc = -1.0
    waited = 0
    total = 0.0
    for e in range(first, epochs + 1):
        run = _train(log, threads, True, **supervised_args(hp, corpus, e))
        total += run.seconds
        log.info(f"-------------- End of epoch: {e}")
        acc = accuracy(run.model, validation)
        log.info(f"Validation accuracy: {acc:.6f}")
        log.context.print(f"#validation_accuracy: {acc:.6f}")
        if acc > best_acc:
            log.info("Validation accuracy improved! Storing best weights...")
            best, best_acc, waited = run, acc, 0
        else:
            waited += 1
            log.info(
                f"Validation accuracy has not improved for last {waited} epochs."
                if waited < patience
                else f"Reached patience. Best validation accuracy: {best_acc:.6f}"
            )
            if waited >= patience:
                log.info("Stopping the training early.")
                break
    assert best is not None
    best.seconds = total
    return best
