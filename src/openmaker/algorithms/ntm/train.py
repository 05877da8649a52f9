"""Training for SageMaker's Neural Topic Model (reference section 5).

``train(hyperparameters, channels, context)``:

1. **Statistics pass** over ``train``: every record is checked (word counts: non-negative
   integers, at least one word per document, ids below ``feature_dim``) and the corpus' word
   totals initialise the decoder bias to the log unigram frequencies (so the topics start from
   what the corpus has in common, not from zero). With an ``auxiliary`` channel its
   ``vocab.txt`` is read and must hold exactly ``feature_dim`` words.
2. **Epochs** (:func:`~openmaker.algorithms.common.torch.loop.run_epochs`): the training
   stream is read in windows of :data:`SHUFFLE_BATCHES` mini-batches, each window shuffled,
   and every document kept with probability ``sub_sample`` (so an epoch sees that fraction of
   the data, drawn afresh each epoch; at least one document). Each mini-batch minimises the
   mean ``total_loss = recons_loss + kl_divergence`` of its documents with the chosen
   optimizer (MXNet's ``rescale_gradient``, element-wise ``clip_gradient``, L2
   ``weight_decay``). After each epoch, ``validation`` (when given) is scored. Metrics, per
   document (sums over the documents / number of documents), and ``perplexity`` =
   ``exp(sum of total_loss / number of words)``::

       #quality_metric: host=algo-1, epoch=0, train total_loss <loss>=...
       #quality_metric: host=algo-1, epoch=0, validation total_loss <loss>=...

3. **Early stopping** on ``validation:total_loss`` (``train:total_loss`` without a
   validation channel): see :mod:`~openmaker.algorithms.common.torch.early_stopping`
   (``tolerance``, ``num_patience_epochs``). The **best epoch's** model is kept; its metrics
   are printed again without ``epoch=`` (the final values), then ``test`` is scored.
4. **Topics**: the top-10 words of each topic (the largest entries of its row of
   :meth:`~openmaker.algorithms.ntm.model.NTMModel.topic_word_matrix`, ``softmax(W[:, k] +
   b)``: what the decoder emits for a document of that topic alone), with words from
   ``vocab.txt`` when given (ids otherwise), TU always and WETC with a vocabulary (see
   :mod:`~openmaker.algorithms.ntm.coherence`): ``train tu <score>`` / ``train wetc
   <score>``.

Evaluation draws the reparameterisation noise from a generator with a fixed seed, so a
channel's loss is a one-sample estimate of the negative ELBO that does not move from one
epoch to the next for noise alone. Training noise, shuffling and sub-sampling come from
generators seeded by ``(SEED, host rank, epoch)``: the same data and hyperparameters give the
same model bytes, and a job resumed from its checkpoint continues as if never stopped.

**Several instances** (NTM is "parallelizable"): every host trains on its part of ``train``
(``ShardedByS3Key``, or the full data when replicated), and after each epoch the hosts'
parameters and batch-norm statistics are averaged (:class:`~openmaker.distributed.collective.
Collective` ``allreduce_sum``): synchronous model averaging, one exchange per epoch. The
metrics are sums over every host's documents; ``algo-1`` prints them and writes the model.

**Checkpoints**: after every epoch the network, the optimizer, the best model and the loop's
history go to ``checkpoint_dir/ntm-<host>.pt``; a job that finds a checkpoint written with the
same hyperparameters (``epochs`` aside: a job may be resumed with more epochs) and the same
training data (its document count and word totals) resumes after its last epoch.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.common.torch.checkpoint import Checkpointer, fingerprint
from openmaker.algorithms.common.torch.early_stopping import EarlyStopping
from openmaker.algorithms.common.torch.loop import log_metrics, run_epochs
from openmaker.algorithms.common.torch.optim import make_optimizer, prepare_gradients
from openmaker.algorithms.common.torch.runtime import (
    choose_device,
    import_torch,
    threads_for_step,
)
from openmaker.algorithms.ntm import coherence
from openmaker.algorithms.ntm.inputs import count_batches, read_vocabulary
from openmaker.algorithms.ntm.network import build_network, to_arrays
from openmaker.algorithms.ntm.spec import resolve_encoder_layers
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of every random draw.
SEED = 0
#: Mini-batches read and shuffled together.
SHUFFLE_BATCHES = 32
#: Top words per topic in the log, TU and WETC.
TOP_WORDS = 10
#: Rows per evaluation batch (at least).
EVAL_ROWS = 1024


@dataclass(frozen=True)
class Settings:
    """Typed NTM settings with ``auto`` resolved."""

    feature_dim: int
    num_topics: int
    layers: tuple[int, ...]
    activation: str
    batch_norm: bool
    optimizer: str
    learning_rate: float
    weight_decay: float
    clip_gradient: float
    rescale_gradient: float
    mini_batch_size: int
    epochs: int
    tolerance: float
    patience: int
    sub_sample: float

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        """Settings from validated hyperparameters (``SPEC.validate_hyperparameters``)."""
        k = int(hp["num_topics"])
        return cls(
            feature_dim=int(hp["feature_dim"]),
            num_topics=k,
            layers=tuple(resolve_encoder_layers(hp.get("encoder_layers", "auto"), k)),
            activation=str(hp.get("encoder_layers_activation", "sigmoid")),
            batch_norm=bool(hp.get("batch_norm", False)),
            optimizer=str(hp.get("optimizer", "adadelta")),
            learning_rate=float(hp.get("learning_rate", 0.001)),
            weight_decay=float(hp.get("weight_decay", 0.0)),
            clip_gradient=float(hp.get("clip_gradient", math.inf)),
            rescale_gradient=float(hp.get("rescale_gradient", 1.0)),
            mini_batch_size=int(hp.get("mini_batch_size", 256)),
            epochs=int(hp.get("epochs", 50)),
            tolerance=float(hp.get("tolerance", 0.001)),
            patience=int(hp.get("num_patience_epochs", 3)),
            sub_sample=float(hp.get("sub_sample", 1.0)),
        )


@dataclass
class Sums:
    """Loss sums over documents (mergeable across hosts)."""

    total: float = 0.0
    recons: float = 0.0
    kl: float = 0.0
    docs: float = 0.0
    words: float = 0.0

    def add(self, recons: Any, kl: Any, words: float) -> None:
        """Add one batch's per-document losses (tensors)."""
        r, k = float(recons.sum()), float(kl.sum())
        self.recons += r
        self.kl += k
        self.total += r + k
        self.docs += int(recons.shape[0])
        self.words += words

    def as_array(self) -> np.ndarray:
        return np.array([self.total, self.recons, self.kl, self.docs, self.words])

    @classmethod
    def from_array(cls, a: np.ndarray) -> Sums:
        return cls(*(float(v) for v in a))

    def metrics(self, channel: str, perplexity: bool = True) -> dict[str, float]:
        """``{channel:total_loss, recons_loss, kl_divergence[, perplexity]}`` per document."""
        n = max(self.docs, 1.0)
        out = {
            f"{channel}:total_loss": self.total / n,
            f"{channel}:recons_loss": self.recons / n,
            f"{channel}:kl_divergence": self.kl / n,
        }
        if perplexity:
            out[f"{channel}:perplexity"] = math.exp(min(self.total / max(self.words, 1.0), 700))
        return out


def step_flops(s: Settings) -> float:
    """Multiply-adds of one training step (forward and backward, about 3x the forward)."""
    sizes = [s.feature_dim, *s.layers]
    dense = sum(a * b for a, b in pairwise(sizes))
    dense += 2 * sizes[-1] * s.num_topics + s.num_topics * s.feature_dim
    return 3.0 * s.mini_batch_size * dense


def _rng(rank: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([SEED, rank, epoch])


def epoch_batches(channel: ChannelInput, s: Settings, rng: np.random.Generator) -> Iterator[Any]:
    """The epoch's shuffled, sub-sampled CSR mini-batches (module docstring, step 2)."""
    import scipy.sparse as sp

    window: list[Any] = []
    yielded = False
    leftover: Any = None

    def flush(parts: list[Any], last: bool) -> Iterator[Any]:
        nonlocal yielded, leftover
        if leftover is not None:
            parts = [leftover, *parts]
            leftover = None
        if not parts:
            return
        M = sp.vstack(parts, format="csr")
        order = rng.permutation(M.shape[0])
        if s.sub_sample < 1.0:
            order = order[rng.random(len(order)) < s.sub_sample]
        M = M[order]
        step = s.mini_batch_size
        full = (M.shape[0] // step) * step
        for lo in range(0, full, step):
            yielded = True
            yield M[lo : lo + step]
        if M.shape[0] > full:
            if last:
                yielded = True
                yield M[full:]
            else:
                leftover = M[full:]

    last_seen: Any = None
    for X in count_batches(channel, s.mini_batch_size, s.feature_dim):
        window.append(X)
        last_seen = X
        if len(window) >= SHUFFLE_BATCHES:
            yield from flush(window, last=False)
            window = []
    yield from flush(window, last=True)
    if not yielded and last_seen is not None:  # sub_sample kept nobody: train on one document
        yield last_seen[:1]


def _tensor(torch: Any, M: Any, device: Any) -> Any:
    return torch.from_numpy(np.asarray(M.toarray(), dtype=np.float32)).to(device)


def statistics(channel: ChannelInput, s: Settings) -> tuple[np.ndarray, int]:
    """``(word totals, documents)`` of a channel, checking every record."""
    totals = np.zeros(s.feature_dim, dtype=np.float64)
    docs = 0
    for M in count_batches(channel, max(s.mini_batch_size, EVAL_ROWS), s.feature_dim):
        totals += np.asarray(M.sum(axis=0)).ravel()
        docs += int(M.shape[0])
    return totals, docs


def evaluate(net: Any, channel: ChannelInput, s: Settings, device: Any) -> Sums:
    """Loss sums of a channel under the current network (fixed-seed noise)."""
    torch = import_torch()
    gen = torch.Generator().manual_seed(SEED + 1)
    sums = Sums()
    net.eval()
    with torch.no_grad():
        for M in count_batches(channel, max(s.mini_batch_size, EVAL_ROWS), s.feature_dim):
            x = _tensor(torch, M, device)
            eps = torch.randn(x.shape[0], s.num_topics, generator=gen).to(device)
            recons, kl, _ = net(x, eps)
            sums.add(recons, kl, float(M.sum()))
    return sums


class _Trainer:
    """One host's network, optimizer and epoch step."""

    def __init__(self, s: Settings, device: Any, comm: Any, totals: np.ndarray) -> None:
        torch = import_torch()
        self.torch, self.s, self.device, self.comm = torch, s, device, comm
        torch.manual_seed(SEED)
        net = build_network(s.feature_dim, s.num_topics, list(s.layers), s.activation, s.batch_norm)
        with torch.no_grad():
            freq = (totals + 1.0) / (totals.sum() + s.feature_dim)
            net.decoder.bias.copy_(torch.from_numpy(np.log(freq).astype(np.float32)))
        self.net = net.to(device)
        self.opt = make_optimizer(
            s.optimizer,
            self.net.parameters(),
            learning_rate=s.learning_rate,
            weight_decay=s.weight_decay,
        )
        self.best: dict[str, Any] = copy.deepcopy(self.net.state_dict())
        self.docs_trained = 0

    def train_epoch(self, channel: ChannelInput, epoch: int) -> Sums:
        torch, s = self.torch, self.s
        rng = _rng(self.comm.rank, epoch)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        sums = Sums()
        self.net.train()
        for M in epoch_batches(channel, s, rng):
            x = _tensor(torch, M, self.device)
            eps = torch.randn(x.shape[0], s.num_topics, generator=gen).to(self.device)
            if s.batch_norm and x.shape[0] == 1:
                self.net.eval()  # batch norm cannot normalise a single document
            recons, kl, _ = self.net(x, eps)
            loss = (recons + kl).mean()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            prepare_gradients(
                self.net.parameters(), rescale=s.rescale_gradient, clip=s.clip_gradient
            )
            self.opt.step()
            self.net.train()
            sums.add(recons.detach(), kl.detach(), float(M.sum()))
        self.docs_trained += int(sums.docs)
        return sums

    def average_parameters(self) -> None:
        """Average the parameters and buffers over the hosts (one allreduce)."""
        if self.comm.size == 1:
            return
        torch = self.torch
        state = self.net.state_dict()
        keys = [k for k, v in state.items() if v.dtype.is_floating_point]
        summed = self.comm.allreduce_sum([state[k].detach().cpu().numpy() for k in keys])
        with torch.no_grad():
            for k, arr in zip(keys, summed, strict=True):
                state[k].copy_(torch.from_numpy(np.asarray(arr) / self.comm.size))

    def state(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.opt.state_dict(),
            "best": self.best,
            "docs_trained": self.docs_trained,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["optimizer"])
        self.best = state["best"]
        self.docs_trained = int(state.get("docs_trained", 0))


def _merged(comm: Any, sums: Sums) -> Sums:
    if comm.size == 1:
        return sums
    return Sums.from_array(np.asarray(comm.allreduce_sum([sums.as_array()])[0]))


def _log_topics(
    log: MetricLog,
    topic_word: np.ndarray,
    vocab: list[str] | None,
    channel: ChannelInput,
    s: Settings,
) -> dict[str, float]:
    """Top words, TU and (with a vocabulary) WETC; returns the figures."""
    top = coherence.top_words(topic_word, TOP_WORDS)
    tu, tu_per = coherence.topic_uniqueness(top)
    figures = {"tu": tu}
    if vocab is not None:
        batches = count_batches(channel, max(s.mini_batch_size, EVAL_ROWS), s.feature_dim)
        wetc, wetc_per = coherence.corpus_wetc(top, batches)
        figures["wetc"] = wetc
        log.info(f"Top {top.shape[1]} words of each topic, [WETC, TU]:")
        for k, row in enumerate(top.tolist()):
            words = " ".join(vocab[w] for w in row)
            log.info(f"[{wetc_per[k]:.2f}, {tu_per[k]:.2f}] Topic {k}: {words}")
        log.info(f"Average WETC: {wetc:.4f}  Average TU: {tu:.4f}")
        log.quality("train", "wetc", wetc, "score")
    else:
        log.info(f"Top {top.shape[1]} word ids of each topic, [TU] (give vocab.txt for words):")
        for k, row in enumerate(top.tolist()):
            log.info(f"[{tu_per[k]:.2f}] Topic {k}: {' '.join(map(str, row))}")
        log.info(f"Average TU: {tu:.4f}")
    log.quality("train", "tu", tu, "score")
    return figures


def _save(
    net_state: dict[str, Any],
    s: Settings,
    vocab: list[str] | None,
    extra: dict[str, Any],
    model_dir: Any,
) -> None:
    net = build_network(s.feature_dim, s.num_topics, list(s.layers), s.activation, s.batch_norm)
    net.load_state_dict(net_state)
    arrays = to_arrays(net)
    if vocab is not None:
        arrays["vocabulary"] = np.array(vocab, dtype=str)
    meta = {
        "algorithm": "ntm",
        "feature_dim": s.feature_dim,
        "num_topics": s.num_topics,
        "encoder_layers": list(s.layers),
        "encoder_layers_activation": s.activation,
        "batch_norm": s.batch_norm,
        "batch_norm_eps": 1e-5,
        "encoder_input": "log1p",
        **extra,
    }
    save_model_arrays(model_dir, arrays, meta)


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train NTM and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required); ``validation``, ``test``, ``auxiliary`` optional.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel; no vocab.txt in ``auxiliary``.
        ValidationError: dense rows not ``feature_dim`` wide.
        DataFormatError: negative / non-integer counts, empty documents, a vocabulary whose
            size is not ``feature_dim``, a vocabulary that is not UTF-8, no records.
    """
    from openmaker.distributed.collective import connect

    if "train" not in channels:
        raise ChannelError("NTM needs a 'train' channel", channel="train")
    s = Settings.from_hyperparameters(hyperparameters)
    device = choose_device()
    threads_for_step(step_flops(s), device)
    with connect(context) as comm:
        log = MetricLog(context)
        leader = comm.is_leader
        if leader:
            log.info(
                "Final configuration: "
                + json.dumps(dict(hyperparameters), sort_keys=True, default=str)
            )
        vocab = (
            read_vocabulary(channels["auxiliary"], s.feature_dim)
            if "auxiliary" in channels
            else None
        )
        totals, docs = statistics(channels["train"], s)
        totals, n_docs = comm.allreduce_sum([totals, np.array([float(docs)])])
        if docs == 0 or float(n_docs[0]) == 0:
            raise DataFormatError("Channel 'train' contains no records")
        if leader:
            log.info(
                f"{int(n_docs[0])} training documents, {int(totals.sum())} words, "
                f"vocabulary {s.feature_dim}, {s.num_topics} topics, encoder {list(s.layers)} "
                f"({s.activation}{', batch norm' if s.batch_norm else ''}), {s.optimizer}, "
                f"{comm.size} host(s), device {device.type}"
            )
        trainer = _Trainer(s, device, comm, np.asarray(totals))
        has_val = "validation" in channels
        monitor = "validation:total_loss" if has_val else "train:total_loss"
        stopper = EarlyStopping(s.tolerance, s.patience, "min")
        ckpt = Checkpointer(
            context.checkpoint_dir,
            # ``epochs`` may grow between a job and its resumption (more epochs on top)
            fingerprint(
                {
                    "settings": {k: v for k, v in asdict(s).items() if k != "epochs"},
                    "hosts": comm.size,
                    "rank": comm.rank,
                    # the same corpus: its documents and word totals
                    "data": hashlib.sha256(np.asarray(totals).tobytes()).hexdigest(),
                    "documents": int(n_docs[0]),
                }
            ),
            name=f"ntm-{context.current_host}.pt",
        )
        start_epoch, history = 0, []
        restored = ckpt.load()
        if restored is not None:
            trainer.restore(restored)
            loop_state = restored["loop"]
            stopper.load_state_dict(loop_state["stopper"])
            history = list(loop_state["history"])
            start_epoch = int(loop_state["epoch"]) + 1
            if leader:
                log.info(f"Resuming from the checkpoint after epoch {start_epoch - 1}")

        def run_epoch(epoch: int) -> dict[str, float]:
            sums = _merged(comm, trainer.train_epoch(channels["train"], epoch))
            trainer.average_parameters()
            metrics = sums.metrics("train", perplexity=False)
            if has_val:
                val = _merged(comm, evaluate(trainer.net, channels["validation"], s, device))
                if val.docs == 0:
                    raise DataFormatError("Channel 'validation' contains no records")
                metrics.update(val.metrics("validation"))
            return metrics

        def on_best(epoch: int) -> None:
            trainer.best = copy.deepcopy(trainer.net.state_dict())

        start = time.perf_counter()
        result = run_epochs(
            epochs=s.epochs,
            run_epoch=run_epoch,
            monitor=monitor,
            stopper=stopper,
            log=log,
            on_best=on_best,
            checkpoint=ckpt,
            checkpoint_state=trainer.state,
            start_epoch=start_epoch,
            history=history,
            quiet=not leader,
        )
        seconds = max(time.perf_counter() - start, 1e-9)
        trainer.net.load_state_dict(trainer.best)
        best = result.history[result.best_epoch] if result.best_epoch >= 0 else {}
        if leader:
            log.info(
                f"Best model: epoch {result.best_epoch} of {result.epochs_run} "
                f"({monitor}={result.best_value:.6g})"
            )
            log_metrics(log, best)
        test_metrics: dict[str, float] = {}
        if "test" in channels:
            test = _merged(comm, evaluate(trainer.net, channels["test"], s, device))
            if test.docs == 0:
                raise DataFormatError("Channel 'test' contains no records")
            test_metrics = test.metrics("test")
            if leader:
                log.info(f"test channel: {int(test.docs)} documents")
                log_metrics(log, test_metrics)
        if not leader:
            return
        from openmaker.algorithms.ntm.model import NTMModel

        arrays = to_arrays(trainer.net)
        figures = _log_topics(
            log, NTMModel.from_arrays(arrays, s).topic_word_matrix(), vocab, channels["train"], s
        )
        log.throughput(trainer.docs_trained * comm.size / seconds)
        extra = {
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early,
            "num_records": int(n_docs[0]),
            "documents_trained": trainer.docs_trained * comm.size,
            **{k: float(v) for k, v in best.items()},
            **{k: float(v) for k, v in test_metrics.items()},
            **{f"train:{k}": float(v) for k, v in figures.items()},
        }
        _save(trainer.best, s, vocab, extra, context.model_dir)
        log.info("Saved model_algo-1")
