"""A seeded generator of text with known word similarity (tests and benchmarks).

:func:`topic_corpus` writes sentences over ``groups x topics_per_group`` topics of
``words_per_topic`` words each (``g{G}t{T}w{W}``) plus ``fillers`` common words (``f{F}``).
Each sentence picks a topic; each of its words comes from that topic (probability
``p_topic``), from a sibling topic of the same group (``p_group``) or from the fillers (the
rest), Zipf-distributed within each list. The true similarity of two topic words is 2 (same
topic), 1 (same group) or 0 (:func:`true_similarity`), so the quality of word vectors is the
Spearman correlation between their cosine similarities and that truth over seeded random
pairs (:func:`similarity_pairs`; it saturates once the three levels are separated), and the
share of each topic word's nearest neighbours that are in its topic
(:func:`neighbour_precision`), which keeps discriminating.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def _zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def topic_words(groups: int, topics_per_group: int, words_per_topic: int) -> list[str]:
    """Every topic word, topic by topic."""
    return [
        f"g{g}t{t}w{w}"
        for g in range(groups)
        for t in range(topics_per_group)
        for w in range(words_per_topic)
    ]


def topic_corpus(
    path: Path,
    *,
    sentences: int = 2000,
    length: int = 12,
    groups: int = 5,
    topics_per_group: int = 4,
    words_per_topic: int = 25,
    fillers: int = 100,
    p_topic: float = 0.6,
    p_group: float = 0.2,
    seed: int = 0,
) -> int:
    """Write the corpus to ``path`` (one sentence a line); returns the number of tokens."""
    rng = np.random.default_rng(seed)
    n_topics = groups * topics_per_group
    names = np.array(topic_words(groups, topics_per_group, words_per_topic)).reshape(
        n_topics, words_per_topic
    )
    filler = np.array([f"f{i}" for i in range(fillers)])
    pw, pf = _zipf(words_per_topic, 0.7), _zipf(fillers)
    topic = rng.integers(0, n_topics, size=sentences)
    source = rng.choice(3, size=(sentences, length), p=[p_topic, p_group, 1 - p_topic - p_group])
    sibling = rng.integers(0, topics_per_group, size=(sentences, length))
    within = rng.choice(words_per_topic, size=(sentences, length), p=pw)
    fill = rng.choice(fillers, size=(sentences, length), p=pf)
    group_of = topic // topics_per_group
    with open(path, "w", encoding="utf-8") as out:
        for i in range(sentences):
            words = []
            for j in range(length):
                if source[i, j] == 0:
                    words.append(names[topic[i], within[i, j]])
                elif source[i, j] == 1:
                    t = group_of[i] * topics_per_group + sibling[i, j]
                    words.append(names[t, within[i, j]])
                else:
                    words.append(filler[fill[i, j]])
            out.write(" ".join(words) + "\n")
    return sentences * length


def true_similarity(a: str, b: str) -> int:
    """2 for words of one topic, 1 for one group, 0 otherwise."""
    ga, ta = a.split("w")[0].split("t")
    gb, tb = b.split("w")[0].split("t")
    if ga != gb:
        return 0
    return 2 if ta == tb else 1


def similarity_pairs(
    groups: int = 5,
    topics_per_group: int = 4,
    words_per_topic: int = 25,
    n: int = 2000,
    seed: int = 1,
) -> list[tuple[str, str, float]]:
    """Seeded random pairs of distinct topic words with their true similarity."""
    rng = np.random.default_rng(seed)
    words = topic_words(groups, topics_per_group, words_per_topic)
    pairs = []
    for _ in range(n):
        i, j = rng.choice(len(words), size=2, replace=False)
        pairs.append((words[i], words[j], float(true_similarity(words[i], words[j]))))
    return pairs


def neighbour_precision(
    lookup: Callable[[str], np.ndarray | None],
    groups: int = 5,
    topics_per_group: int = 4,
    words_per_topic: int = 25,
    k: int = 10,
) -> float:
    """Mean share of each topic word's ``k`` nearest topic words (cosine) in its own topic.

    Words without a vector are left out; 0.0 when fewer than ``k + 1`` words have one.
    """
    words = topic_words(groups, topics_per_group, words_per_topic)
    found = [(w, v) for w in words if (v := lookup(w)) is not None]
    if len(found) <= k:
        return 0.0
    V = np.vstack([v for _, v in found]).astype(np.float64)
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    sims = V @ V.T
    np.fill_diagonal(sims, -np.inf)
    topic = np.array([w.split("w")[0] for w, _ in found])
    nearest = np.argsort(-sims, axis=1)[:, :k]
    return float((topic[nearest] == topic[:, None]).mean())
