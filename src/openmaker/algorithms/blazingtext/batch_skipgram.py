"""``batch_skipgram``: mini-batched skip-gram with shared negative samples, in PyTorch.

BlazingText's own Word2Vec mode (Ji et al., "Parallelizing Word2Vec in Shared and Distributed
Memory", arXiv 1604.04661): for each centre word, the words of its window form one mini-batch
of input vectors that share one set of ``negative_samples`` negatives, so the updates are
matrix products (level-3 BLAS) instead of one dot product per pair:

* the window of a centre at position ``i`` is ``b`` words on each side, ``b`` drawn uniformly
  in ``[1, window_size]`` (word2vec's dynamic window), within the line, after frequent words
  were down-sampled (kept with probability ``sqrt(t / f) + t / f``, fastText's rule, for word
  frequency ``f`` and ``t = sampling_threshold``). At most ``batch_size - 1`` window words
  (the nearest) share the negatives; ``batch_size`` is "the window including its centre",
  ``2 * window_size + 1`` in AWS's notebooks;
* scores ``S = W_in[window] . W_out[[centre, negatives]]^T`` (shape ``window x (1 + K)``);
  gradients ``G = lr * (labels - sigmoid(S))``; ``W_in[window] += G . W_out[...]`` and
  ``W_out[...] += G^T . W_in[window]`` (summed over the mini-batches of a step with
  ``index_add_``). Negatives are drawn from the unigram distribution raised to 3/4; a negative
  equal to the centre is masked;
* on the CPU, ``workers`` threads (one per core, torch on one thread each) train disjoint
  parts of each epoch at once: they gather and multiply in parallel and add their updates to
  the shared parameters one at a time;
* many centres are processed per step (up to ``PAIRS_PER_STEP`` window words, and at most
  half the vocabulary size of centres: a word's updates within a step add up, as if applied
  at once, which a small vocabulary does not tolerate), on the GPU when there is one,
  else on every core; the learning rate decays linearly to 0 over ``epochs`` passes.

The input vectors are the word vectors (``vectors.txt``); ``vectors.bin`` is written in
fastText's format (input and output matrices) so it loads with ``fasttext.load_model``.

**Several instances** (``InstanceCount`` > 1): the vocabulary is counted over every host's
share (counts gathered and summed, so every host has the same vocabulary, most frequent word
first); each host then trains its share of the lines (line ``r, r + n, ...`` of a
``FullyReplicated`` channel, as SageMaker shards the data itself; its own files if
``ShardedByS3Key``) from the same initial vectors, and the hosts average their parameters
(``allreduce_sum`` / n) at ``sync_points`` moments per epoch (one per ~1M corpus words, 1 to
20). ``algo-1`` writes the artifacts.

Memory: the corpus is held as int32 word ids (4 bytes per kept token).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.blazingtext.progress import progress_line
from openmaker.errors import DataFormatError, HyperparameterError

#: Seed of the initial vectors, the down-sampling, the windows and the negatives.
SEED = 0
#: Window words (input vectors) per vectorised step, over all its mini-batches.
PAIRS_PER_STEP = 8192
#: Centres per step at least (a step holds at most ``max(MIN_CENTERS, vocabulary / 2)``).
MIN_CENTERS = 64
#: Positions prepared at once (windows built for a chunk of the epoch; one learning rate).
CHUNK = 1 << 14
_NEG_TABLE = 10_000_000
#: Negatives are drawn with probability proportional to count ** NEGATIVE_POWER.
NEGATIVE_POWER = 0.75


@dataclass
class Vocabulary:
    """The kept words, most frequent first, and their counts."""

    words: list[str]
    counts: np.ndarray

    @property
    def index(self) -> dict[str, int]:
        """word -> id."""
        return {w: i for i, w in enumerate(self.words)}


def count_words(path: Path) -> Counter[str]:
    """Token counts of a corpus file (one sentence per line)."""
    counts: Counter[str] = Counter()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            counts.update(line.split())
    return counts


def build_vocabulary(counts: Counter[str], min_count: int) -> Vocabulary:
    """Words seen at least ``min_count`` times, by count then alphabetically."""
    kept = sorted(
        ((w, c) for w, c in counts.items() if c >= max(min_count, 1)), key=lambda x: (-x[1], x[0])
    )
    if not kept:
        raise HyperparameterError(
            f"Hyperparameter 'min_count': value {min_count} leaves no word in the vocabulary "
            f"(the most frequent word occurs {max(counts.values(), default=0)} times)",
            parameter="min_count",
            value=min_count,
        )
    return Vocabulary([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64))


def encode(path: Path, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray, int]:
    """Word ids of the corpus (words outside the vocabulary dropped), each token's line, and
    the number of tokens read (what words/s counts)."""
    index = vocab.index
    ids: list[int] = []
    lines: list[int] = []
    read = 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            tokens = line.split()
            read += len(tokens)
            row = [i for i in map(index.get, tokens) if i is not None]
            ids.extend(row)
            lines.extend([n] * len(row))
    return np.asarray(ids, dtype=np.int32), np.asarray(lines, dtype=np.int32), read


@dataclass
class Settings:
    """The hyperparameters batch_skipgram uses."""

    dim: int
    window: int
    negatives: int
    epochs: int
    lr: float
    t: float
    min_count: int
    batch_size: int

    @classmethod
    def from_hyperparameters(cls, hp: dict[str, Any]) -> Settings:
        """Settings from validated hyperparameters."""
        return cls(
            dim=int(hp["vector_dim"]),
            window=int(hp["window_size"]),
            negatives=int(hp["negative_samples"]),
            epochs=int(hp["epochs"]),
            lr=float(hp["learning_rate"]),
            t=float(hp["sampling_threshold"]),
            min_count=int(hp["min_count"]),
            batch_size=int(hp["batch_size"]),
        )

    @property
    def contexts(self) -> int:
        """Window words per mini-batch (sharing one set of negatives)."""
        return max(1, min(2 * self.window, self.batch_size - 1))


class Trainer:
    """The parameters and the vectorised update (one host's view)."""

    def __init__(self, vocab: Vocabulary, s: Settings, device: Any) -> None:
        from openmaker.algorithms.common.torch.runtime import import_torch

        torch = import_torch()
        self.torch = torch
        self.s = s
        self.device = device
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(SEED)
        v = len(vocab.words)
        init = torch.Generator().manual_seed(SEED)
        w_in = (torch.rand(v, s.dim, generator=init) * 2 - 1) / s.dim
        self.w_in = w_in.to(device)
        self.w_out = torch.zeros(v, s.dim, device=device)
        freq = vocab.counts / max(vocab.counts.sum(), 1)
        keep = np.minimum(1.0, np.sqrt(s.t / freq) + s.t / freq)
        self.keep = torch.as_tensor(keep, dtype=torch.float32, device=device)
        p = vocab.counts.astype(np.float64) ** NEGATIVE_POWER
        reps = np.maximum(1, np.round(p / p.sum() * _NEG_TABLE)).astype(np.int64)
        table = np.repeat(np.arange(v, dtype=np.int64), reps)
        self.table = torch.as_tensor(table, device=device)
        # window offsets, nearest first: 1, -1, 2, -2, ...
        offs = [o for k in range(1, s.window + 1) for o in (k, -k)][: s.contexts]
        self.offsets = torch.as_tensor(offs, dtype=torch.long, device=device)
        self.lock = threading.Lock()
        # a word's updates within a step add up: a small vocabulary needs smaller steps
        self.max_centers = max(MIN_CENTERS, v // 2)

    def subsample(self, ids: Any, lines: Any) -> tuple[Any, Any]:
        """The tokens kept this epoch (frequent words down-sampled)."""
        torch = self.torch
        r = torch.rand(ids.shape[0], generator=self.gen, device=self.device)
        mask = r < self.keep[ids]
        return ids[mask], lines[mask]

    def train_chunk(self, tok: Any, lid: Any, lo: int, hi: int, lr: float, gen: Any) -> None:
        """Train the centres at positions ``lo..hi`` of the kept tokens ``tok`` at rate ``lr``.

        Centres are grouped by their window radius ``b`` so that a step holds only the slots
        of their window: the centres of radius ``b`` share ``min(2b, contexts)`` slots.
        """
        torch = self.torch
        n = tok.shape[0]
        pos = torch.arange(lo, hi, device=self.device)
        b = torch.randint(1, self.s.window + 1, (hi - lo,), generator=gen, device=self.device)
        for radius in range(1, self.s.window + 1):
            p = pos[b == radius]
            if p.numel() == 0:
                continue
            offs = self.offsets[: min(2 * radius, self.s.contexts)]
            at = p[:, None] + offs[None, :]
            inside = (at >= 0) & (at < n)
            at = at.clamp(0, n - 1)
            valid = inside & (lid[at] == lid[p][:, None])
            ctx = tok[at]
            centers = tok[p]
            per_step = max(1, min(PAIRS_PER_STEP // offs.numel(), self.max_centers))
            for start in range(0, p.numel(), per_step):
                stop = start + per_step
                self.step(centers[start:stop], ctx[start:stop], valid[start:stop], lr, gen)

    def step(self, centers: Any, ctx: Any, valid: Any, lr: float, gen: Any) -> None:
        """One vectorised update of ``len(centers)`` mini-batches."""
        torch = self.torch
        emb = torch.nn.functional.embedding
        k = self.s.negatives
        draw = torch.randint(
            0, self.table.shape[0], (centers.shape[0], k), generator=gen, device=self.device
        )
        neg = self.table[draw]
        outs = torch.cat([centers[:, None], neg], dim=1)  # (N, 1 + K)
        out_ok = torch.cat([valid.new_ones(centers.shape[0], 1), neg != centers[:, None]], 1)
        w_c = emb(ctx, self.w_in)  # (N, C, d)
        w_o = emb(outs, self.w_out)  # (N, 1 + K, d)
        scores = torch.bmm(w_c, w_o.transpose(1, 2))  # (N, C, 1 + K)
        g = torch.sigmoid(scores).neg_()
        g[:, :, 0] += 1.0
        g.mul_((valid[:, :, None] & out_ok[:, None, :]).to(g.dtype)).mul_(lr)
        d_in = torch.bmm(g, w_o)
        d_out = torch.bmm(g.transpose(1, 2), w_c)
        dim = self.s.dim
        # the workers compute in parallel but add their updates one at a time: a step's
        # updates cover much of the vocabulary, and two unlocked read-add-writes of the same
        # row would lose one of them (fastText's per-pair Hogwild updates rarely collide)
        with self.lock:
            self.w_in.index_put_((ctx.reshape(-1),), d_in.reshape(-1, dim), accumulate=True)
            self.w_out.index_put_((outs.reshape(-1),), d_out.reshape(-1, dim), accumulate=True)


def sync_points(total_tokens: int) -> int:
    """Parameter averages per epoch across hosts: one per ~1M words, 1 to 20."""
    return max(1, min(20, math.ceil(total_tokens / 1_000_000)))


def _generators(torch: Any, device: Any, workers: int, epoch: int) -> list[Any]:
    gens = []
    for w in range(workers):
        g = torch.Generator(device=device)
        g.manual_seed(SEED + 1 + 1000 * epoch + w)
        gens.append(g)
    return gens


def train_vectors(
    ids_np: np.ndarray,
    lines_np: np.ndarray,
    read_tokens: int,
    vocab: Vocabulary,
    s: Settings,
    emit: Callable[[str], None],
    comm: Any,
    device: Any,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Train; returns (input vectors, output vectors, words per second of all hosts).

    Args:
        workers: on the CPU, threads that train disjoint parts of each epoch at once on the
            shared parameters, each running torch on one core; on a GPU one.
    """
    from concurrent.futures import ThreadPoolExecutor

    if ids_np.size == 0 and comm.size == 1:
        raise DataFormatError("the training corpus has no word of the vocabulary")
    trainer = Trainer(vocab, s, device)
    torch = trainer.torch
    if device.type == "cpu":
        torch.set_num_threads(1)  # one core per worker: no idle OpenMP barriers
    else:
        workers = 1
    workers = max(1, workers)
    ids = torch.as_tensor(ids_np.astype(np.int64), device=device)
    lines = torch.as_tensor(lines_np.astype(np.int64), device=device)
    (global_read,) = comm.allreduce_sum([np.float64(read_tokens)])
    syncs = sync_points(int(global_read)) if comm.size > 1 else 1
    total_words = max(1, s.epochs * read_tokens)
    start = time.perf_counter()
    clock = {"last": 0.0}

    def report(done_words: float, lr: float) -> None:
        now = time.perf_counter() - start
        if comm.is_leader and now - clock["last"] >= 1.0:
            clock["last"] = now
            rate = done_words * comm.size / max(now, 1e-9) / 1e6
            emit(progress_line(lr, 100.0 * done_words / total_words, rate))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch-skipgram") as pool:
        for epoch in range(s.epochs):
            tok, lid = trainer.subsample(ids, lines)
            kept = int(tok.shape[0])
            wpk = read_tokens / max(kept, 1)
            base = epoch * read_tokens
            gens = _generators(torch, device, workers, epoch)

            def lr_at(position: int, base: int = base, wpk: float = wpk) -> float:
                return s.lr * max(1e-4, 1.0 - (base + position * wpk) / total_words)

            def work(
                w: int,
                lo: int,
                hi: int,
                tok: Any = tok,
                lid: Any = lid,
                gens: list[Any] = gens,
                base: int = base,
                wpk: float = wpk,
                lr_at: Callable[[int], float] = lr_at,
            ) -> None:
                span = hi - lo
                a, b = lo + span * w // workers, lo + span * (w + 1) // workers
                # the workers' parts advance together; the lr follows the overall progress
                for c in range(a, b, CHUNK):
                    e = min(c + CHUNK, b)
                    done = lo + (e - a) * workers
                    middle = lo + ((c + e) // 2 - a) * workers
                    trainer.train_chunk(tok, lid, c, e, lr_at(middle), gens[w])
                    if w == 0:
                        report(base + done * wpk, lr_at(done))

            bounds = np.linspace(0, kept, syncs + 1).astype(np.int64)
            for part in range(syncs):
                lo, hi = int(bounds[part]), int(bounds[part + 1])
                for f in [pool.submit(work, w, lo, hi) for w in range(workers)]:
                    f.result()
                if comm.size > 1:
                    w_in, w_out = comm.allreduce_sum(
                        [trainer.w_in.cpu().numpy(), trainer.w_out.cpu().numpy()]
                    )
                    trainer.w_in = torch.as_tensor(w_in / comm.size, device=device)
                    trainer.w_out = torch.as_tensor(w_out / comm.size, device=device)
            if comm.is_leader:
                emit(f"-------------- End of epoch: {epoch + 1}")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = max(time.perf_counter() - start, 1e-9)
    rate = float(global_read) * s.epochs / seconds
    if comm.is_leader:
        emit(progress_line(0.0, 100.0, rate / 1e6))
    return (
        trainer.w_in.cpu().numpy().astype(np.float32),
        trainer.w_out.cpu().numpy().astype(np.float32),
        rate,
    )
