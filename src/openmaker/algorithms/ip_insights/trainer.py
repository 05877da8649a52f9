"""Batches, negative sampling, scores, the training step and the discriminator AUC.

Negatives, for every positive (entity, IP) pair of a batch (reference 8.6):

* ``random_negative_sampling_rate`` R pairs of the entity with a uniformly random IPv4 address
  (each octet uniform in 0..255, i.e. a uniform 32-bit integer);
* ``shuffled_negative_sampling_rate`` S pairs made by permuting the entities of the batch (a
  fresh permutation for each of the S rounds) against its IPs. A shuffled pair whose entity
  hashes to the same slot as the pair's own entity is a real pair, not a negative: it is left
  out of the loss (and of the AUC).

The loss is the binary cross-entropy of ``sigmoid(<entity, ip>)`` against 1 for positives and 0
for negatives, averaged over every pair of the batch (positives and negatives). The shuffled
negatives reuse the batch's IP vectors and the random ones its entity vectors, so a batch costs
``mini_batch_size x (1 + R)`` IP encodings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.ip_insights.hashing import entity_slots
from openmaker.algorithms.ip_insights.network import (
    EncoderCache,
    Gradients,
    Weights,
    encode,
    encode_backward,
    row_dot,
    segment_sum,
)
from openmaker.algorithms.ip_insights.optim import Adam
from openmaker.algorithms.ip_insights.records import iter_pairs
from openmaker.spec.algorithm import ChannelInput

#: The shuffle pool holds this many batches (at least :data:`MIN_SHUFFLE_POOL` pairs).
SHUFFLE_POOL_BATCHES = 8
MIN_SHUFFLE_POOL = 1 << 16

Batch = tuple[np.ndarray, np.ndarray]
"""``(entity slots int64, IPv4 addresses uint32)``."""


def slot_blocks(channel: ChannelInput, num_entity_vectors: int) -> Iterator[Batch]:
    """One pass over a channel as blocks of ``(slots, ips)`` (File and Pipe mode alike)."""
    for entities, ips in iter_pairs(channel):
        yield entity_slots(entities, num_entity_vectors), ips


def batches(
    blocks: Iterator[Batch], batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[Batch]:
    """Re-cut blocks into batches of ``batch_size`` pairs (the last may be smaller).

    With ``rng``, pairs are shuffled within a pool of ``SHUFFLE_POOL_BATCHES`` batches (at
    least ``MIN_SHUFFLE_POOL`` pairs): memory stays bounded however large the channel, and
    data sorted by entity still gives mixed batches (and useful shuffled negatives).
    """
    pool = max(SHUFFLE_POOL_BATCHES * batch_size, MIN_SHUFFLE_POOL) if rng is not None else 0
    slots: list[np.ndarray] = []
    ips: list[np.ndarray] = []
    held = 0

    def flush(final: bool) -> Iterator[Batch]:
        nonlocal slots, ips, held
        all_slots, all_ips = np.concatenate(slots), np.concatenate(ips)
        if rng is not None:
            order = rng.permutation(len(all_slots))
            all_slots, all_ips = all_slots[order], all_ips[order]
        end = len(all_slots) if final else (len(all_slots) // batch_size) * batch_size
        for lo in range(0, end, batch_size):
            hi = min(lo + batch_size, end)
            yield all_slots[lo:hi], all_ips[lo:hi]
        slots, ips, held = [all_slots[end:]], [all_ips[end:]], len(all_slots) - end

    for s, i in blocks:
        slots.append(s)
        ips.append(i)
        held += len(s)
        if held >= max(pool, batch_size):
            yield from flush(final=False)
    if held:
        yield from flush(final=True)


@dataclass
class Negatives:
    """The negative samples of one batch.

    Attributes:
        random_ips: ``(R, B)`` uint32 random addresses, row r paired with the batch's entities.
        perms: ``(S, B)`` permutations; shuffled pair ``(k, i)`` is entity ``perms[k, i]``
            with the IP of pair ``i``.
        keep: ``(S, B)``: False where the shuffled pair is a real pair (same entity slot).
    """

    random_ips: np.ndarray
    perms: np.ndarray
    keep: np.ndarray


def sample_negatives(
    slots: np.ndarray, random_rate: int, shuffled_rate: int, rng: np.random.Generator
) -> Negatives:
    """Draw the negatives of a batch (see the module docstring)."""
    B = len(slots)
    random_ips = rng.integers(0, 1 << 32, size=(random_rate, B), dtype=np.uint64).astype(np.uint32)
    perms = (
        np.stack([rng.permutation(B) for _ in range(shuffled_rate)])
        if shuffled_rate
        else (np.zeros((0, B), dtype=np.int64))
    )
    keep = slots[perms] != slots[None, :]
    return Negatives(random_ips, perms, keep)


@dataclass
class Scores:
    """Scores of a batch's positives and negatives, with what the gradient needs."""

    positive: np.ndarray
    random: np.ndarray
    shuffled: np.ndarray
    entity: np.ndarray
    ip: np.ndarray
    cache: EncoderCache

    def pairs(self, keep: np.ndarray) -> int:
        """Number of pairs in the loss."""
        return int(self.positive.size + self.random.size + keep.sum())


def score_batch(
    w: Weights, slots: np.ndarray, ips: np.ndarray, neg: Negatives, *, keep: bool = False
) -> Scores:
    """``<entity, ip>`` of every positive and negative pair of a batch."""
    B = len(slots)
    R = neg.random_ips.shape[0]
    v, cache = encode(w, np.concatenate([ips, neg.random_ips.reshape(-1)]), keep=keep)
    e = w.entity[slots]
    vp = v[:B]
    positive = row_dot(e, vp)
    random = np.einsum("bd,rbd->rb", e, v[B:].reshape(R, B, w.vector_dim))
    shuffled = (
        np.stack([row_dot(e[p], vp) for p in neg.perms])
        if len(neg.perms)
        else (np.zeros((0, B), dtype=np.float32))
    )
    return Scores(positive, random, shuffled, e, v, cache)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.float32(0), x)


@dataclass
class StepResult:
    """Loss sum, correctly classified pairs and pairs of one batch."""

    loss: float
    correct: int
    pairs: int


def batch_gradients(
    w: Weights, slots: np.ndarray, ips: np.ndarray, neg: Negatives
) -> tuple[StepResult, Gradients]:
    """Forward, loss and manual gradients of the mean loss of one batch (no update)."""
    from scipy.special import expit

    B = len(slots)
    sc = score_batch(w, slots, ips, neg, keep=True)
    keep = neg.keep
    n = sc.pairs(keep)
    loss = (
        float(_softplus(-sc.positive).sum())
        + float(_softplus(sc.random).sum())
        + float((_softplus(sc.shuffled) * keep).sum())
    )
    correct = int(
        (sc.positive > 0).sum() + (sc.random <= 0).sum() + ((sc.shuffled <= 0) & keep).sum()
    )
    inv_n = 1.0 / n
    g_pos = (expit(sc.positive) - 1) * inv_n
    g_rand = expit(sc.random) * inv_n
    g_shuf = expit(sc.shuffled) * keep * inv_n

    e, v = sc.entity, sc.ip
    d = e.shape[1]
    vp = v[:B]
    vr = v[B:].reshape(neg.random_ips.shape[0], B, d)
    de = g_pos[:, None] * vp + np.einsum("rb,rbd->bd", g_rand, vr)
    dv = np.empty_like(v)
    dv[:B] = g_pos[:, None] * e
    dv[B:] = (g_rand[:, :, None] * e[None, :, :]).reshape(-1, d)
    for k, p in enumerate(neg.perms):
        g = g_shuf[k][:, None]
        de[p] += g * vp  # p is a permutation: no index repeats, plain fancy += is exact
        dv[:B] += g * e[p]
    levels, layers = encode_backward(w, sc.cache, dv)
    return StepResult(loss, correct, n), Gradients(segment_sum(slots, de), levels, layers)


def train_step(
    w: Weights,
    opt: Adam,
    slots: np.ndarray,
    ips: np.ndarray,
    random_rate: int,
    shuffled_rate: int,
    rng: np.random.Generator,
) -> StepResult:
    """One Adam step on one batch: negatives, forward, loss, gradients, sparse updates."""
    neg = sample_negatives(slots, random_rate, shuffled_rate, rng)
    result, grads = batch_gradients(w, slots, ips, neg)
    opt.step(grads)
    return result


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting one half (Mann-Whitney U)."""
    from scipy.stats import rankdata

    n_pos, n_neg = len(positive), len(negative)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positive, negative]).astype(np.float64))
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


#: Seed of the negatives drawn for validation: the same negatives after every epoch.
VALIDATION_SEED = 1


def discriminator_auc(
    w: Weights, blocks: Iterator[Batch], batch_size: int, random_rate: int, shuffled_rate: int
) -> tuple[float, int]:
    """AUC of real pairs against generated negatives (``validation:discriminator_auc``).

    The pairs are read in order in batches of ``batch_size``; each batch gets the negatives
    training would give it, drawn with the fixed seed :data:`VALIDATION_SEED`.

    Returns:
        ``(auc, positive pairs)``.
    """
    rng = np.random.default_rng(VALIDATION_SEED)
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    for slots, ips in batches(blocks, batch_size):
        drawn = sample_negatives(slots, random_rate, shuffled_rate, rng)
        sc = score_batch(w, slots, ips, drawn)
        pos.append(sc.positive)
        neg.append(sc.random.reshape(-1))
        neg.append(sc.shuffled[drawn.keep])
    if not pos:
        return float("nan"), 0
    positives = np.concatenate(pos)
    return roc_auc(positives, np.concatenate(neg)), len(positives)
