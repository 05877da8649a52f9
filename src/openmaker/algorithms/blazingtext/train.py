"""Training for SageMaker's BlazingText: ``train(hyperparameters, channels, context)``.

* ``cbow`` / ``skipgram`` (:mod:`~openmaker.algorithms.blazingtext.fasttext_engine`): fastText
  trains on the ``train`` channel; ``vectors.bin`` is fastText's model, ``vectors.txt`` the
  word2vec text of its word vectors (subword-averaged with ``subwords=True``).
* ``batch_skipgram`` (:mod:`~openmaker.algorithms.blazingtext.batch_skipgram`): PyTorch, on
  the GPU when there is one, on every core otherwise, over every host of the job.
* ``supervised``: fastText's classifier; ``model.bin``. With a ``validation`` channel it logs
  ``#validation_accuracy: <acc>``; ``early_stopping`` keeps the best epoch. At the end it logs
  ``#train_accuracy: <acc>`` (precision at 1 on the first 1,000 training lines).
* ``evaluation=True`` (Word2Vec): ``eval.json`` and ``#mean_rho: <rho>``
  (:mod:`~openmaker.algorithms.blazingtext.evaluation`).

Word2Vec takes only the ``train`` channel (a ``validation`` channel is refused, as SageMaker
says "No other channels are supported"); only ``batch_skipgram`` runs on several instances.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.blazingtext import corpus as corpora
from openmaker.algorithms.blazingtext.spec import WORD2VEC_MODES
from openmaker.algorithms.common import MetricLog
from openmaker.errors import ChannelError, HyperparameterError
from openmaker.spec.algorithm import ChannelInput, TrainingContext


def _threads(context: TrainingContext) -> int:
    from openmaker.algorithms.common.torch.runtime import cpu_count

    return max(1, min(int(context.num_cpus or 1), cpu_count()))


def _check_channels(hp: dict[str, Any], channels: Mapping[str, ChannelInput]) -> None:
    if "train" not in channels:
        raise ChannelError("BlazingText needs a 'train' channel", channel="train")
    mode = hp["mode"]
    if mode in WORD2VEC_MODES:
        extra = sorted(set(channels) - {"train"})
        if extra:
            raise ChannelError(
                f"Channel {extra[0]!r} is not supported with mode={mode}: Word2Vec takes only "
                f"the 'train' channel",
                channel=extra[0],
            )
    elif hp.get("early_stopping") and "validation" not in channels:
        raise ChannelError(
            "early_stopping=True needs the 'validation' channel (validation accuracy decides "
            "when to stop)",
            channel="validation",
        )


def _log_vocabulary(log: MetricLog, words: int, tokens: int) -> None:
    log.info(f"Number of words: {words}, tokens read: {tokens}")


def _evaluate(
    hp: dict[str, Any], words: list[str], vectors: np.ndarray, log: MetricLog, out: Path
) -> None:
    if not hp.get("evaluation", True):
        return
    from openmaker.algorithms.blazingtext.evaluation import evaluate

    index = {w: i for i, w in enumerate(words)}

    def lookup(word: str) -> np.ndarray | None:
        i = index.get(word)
        return None if i is None else vectors[i]

    report = evaluate(lookup, out)
    log.info("Evaluation on WordSim-353: " + json.dumps(report, sort_keys=True))
    log.context.print(f"#mean_rho: {report['mean_rho']:.6f}")


def _fasttext_word2vec(
    hp: dict[str, Any], channels: Mapping[str, ChannelInput], ctx: TrainingContext, work: Path
) -> None:
    from openmaker.algorithms.blazingtext import fasttext_engine as engine
    from openmaker.algorithms.blazingtext.vectors import write_vectors_txt

    log = MetricLog(ctx)
    path, stats = corpora.word2vec_corpus(channels["train"], work)
    log.info(f"Processing {channels['train'].name} channel: {stats.lines} lines")
    result = engine.train_word2vec(hp, path, log, _threads(ctx))
    words, vectors = engine.word_vectors(result.model)
    _log_vocabulary(log, len(words), stats.tokens)
    result.model.save_model(str(ctx.model_dir / "vectors.bin"))
    write_vectors_txt(ctx.model_dir / "vectors.txt", words, vectors)
    log.info(f"Training finished in {result.seconds:.2f} s")
    _evaluate(hp, words, vectors, log, ctx.model_dir)


def _batch_skipgram(
    hp: dict[str, Any], channels: Mapping[str, ChannelInput], ctx: TrainingContext, work: Path
) -> None:
    from collections import Counter

    from openmaker.algorithms.blazingtext import batch_skipgram as bsg
    from openmaker.algorithms.blazingtext.vectors import write_fasttext_bin, write_vectors_txt
    from openmaker.algorithms.common.torch.runtime import choose_device
    from openmaker.distributed.collective import connect
    from openmaker.distributed.sharding import SHARDED, describe

    log = MetricLog(ctx)
    channel = channels["train"]
    with connect(ctx) as comm:
        sharded = channel.distribution == SHARDED
        rank, size = (0, 1) if sharded else (comm.rank, comm.size)
        if size == 1:
            path, stats = corpora.word2vec_corpus(channel, work)
        else:
            path = work / "train.txt"
            stats = corpora.write_corpus(channel, path, supervised=False, rank=rank, size=size)
        if comm.size > 1:
            log.info(f"host {comm.rank + 1} of {comm.size}: {describe(channel, comm)}")
        counts = bsg.count_words(path)
        if comm.size > 1:
            merged: Counter[str] = Counter()
            for part in comm.allgather(dict(counts)):
                merged.update(part)
            counts = merged
        s = bsg.Settings.from_hyperparameters(hp)
        vocab = bsg.build_vocabulary(counts, s.min_count)
        ids, lines, read = bsg.encode(path, vocab)
        device = choose_device()
        if comm.is_leader:
            _log_vocabulary(log, len(vocab.words), stats.tokens)
            log.info(f"batch_skipgram on {device.type}, {s.contexts} window words per batch")
        start = time.perf_counter()
        w_in, w_out, _ = bsg.train_vectors(
            ids, lines, read, vocab, s, ctx.print, comm, device, workers=_threads(ctx)
        )
        if not comm.is_leader:
            return
        write_vectors_txt(ctx.model_dir / "vectors.txt", vocab.words, w_in)
        write_fasttext_bin(
            ctx.model_dir / "vectors.bin",
            vocab.words,
            vocab.counts.tolist(),
            w_in,
            w_out,
            window_size=s.window,
            epochs=s.epochs,
            min_count=s.min_count,
            negative_samples=s.negatives,
            sampling_threshold=s.t,
        )
        log.info(f"Training finished in {time.perf_counter() - start:.2f} s")
        _evaluate(hp, vocab.words, w_in, log, ctx.model_dir)


#: ``train:accuracy`` is measured on (at most) the first lines of the training channel.
TRAIN_ACCURACY_LINES = 1_000


def _head(path: Path, lines: int, work: Path) -> Path:
    """``path`` itself, or a copy of its first ``lines`` lines."""
    import itertools

    with open(path, encoding="utf-8") as fh:
        head = list(itertools.islice(fh, lines + 1))
    if len(head) <= lines:
        return path
    out = work / f"{path.stem}-head.txt"
    out.write_text("".join(head[:lines]), encoding="utf-8")
    return out


def _supervised(
    hp: dict[str, Any], channels: Mapping[str, ChannelInput], ctx: TrainingContext, work: Path
) -> None:
    from openmaker.algorithms.blazingtext import fasttext_engine as engine

    log = MetricLog(ctx)
    train_path, stats = corpora.supervised_corpus(channels["train"], work)
    log.info(f"Processing train channel: {stats.lines} lines, {stats.tokens} words")
    validation = None
    if "validation" in channels:
        validation, vstats = corpora.supervised_corpus(channels["validation"], work)
        log.info(f"Processing validation channel: {vstats.lines} lines")
    result = engine.train_supervised(hp, train_path, validation, log, _threads(ctx))
    result.model.save_model(str(ctx.model_dir / "model.bin"))
    acc = engine.accuracy(result.model, _head(train_path, TRAIN_ACCURACY_LINES, work))
    ctx.print(f"#train_accuracy: {acc:.6f}")
    log.info(f"Training finished in {result.seconds:.2f} s")


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train BlazingText and write its artifacts into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required); ``validation`` (supervised only).
        context: the job's directories, hosts and log.

    Raises:
        ChannelError: no ``train`` channel; a ``validation`` channel with a Word2Vec mode;
            ``early_stopping`` without ``validation``.
        HyperparameterError: several instances with a mode other than ``batch_skipgram``.
        DataFormatError: a corpus that is not UTF-8 (byte offset named); in supervised mode
            empty lines, lines without a ``__label__`` label or without words.
    """
    hp = dict(hyperparameters)
    mode = hp["mode"]
    _check_channels(hp, channels)
    if len(context.hosts) > 1 and mode != "batch_skipgram":
        raise HyperparameterError(
            f"Hyperparameter 'mode': value {mode!r} trains on one instance; only "
            f"batch_skipgram runs on several instances ({len(context.hosts)} given)",
            parameter="mode",
            value=mode,
            allowed="batch_skipgram when InstanceCount > 1",
        )
    log = MetricLog(context)
    if context.current_host == context.hosts[0]:
        log.info(f"Final configuration: {json.dumps(hp, sort_keys=True, default=str)}")
    with tempfile.TemporaryDirectory(prefix="openmaker-blazingtext-") as tmp:
        work = Path(tmp)
        if mode == "supervised":
            _supervised(hp, channels, context, work)
        elif mode == "batch_skipgram":
            _batch_skipgram(hp, channels, context, work)
        else:
            _fasttext_word2vec(hp, channels, context, work)
