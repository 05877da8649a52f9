"""``evaluation=True``: Spearman's rho on WordSim-353 (``train:mean_rho``, ``eval.json``).

The word pairs and human scores are read from the copy of WordSim-353 that ships inside
gensim's test data (``gensim.test.utils.datapath('wordsim353.tsv')``, the 353-pair "ALL"
set); nothing is downloaded. A pair with a word outside the vocabulary counts as
``not_found`` and is left out of the correlation. gensim ships only the ALL set, so
``eval.json`` holds ``EN-WS-353-ALL.txt`` and ``mean_rho`` is its rho (SageMaker also lists the
REL and SIM subsets and averages the three; their pair lists are not available offline).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

WS353_NAME = "EN-WS-353-ALL.txt"


def wordsim353_path() -> str:
    """The path of gensim's bundled WordSim-353 file."""
    from openmaker.errors import require

    require("gensim", "text")
    from gensim.test.utils import datapath

    return str(datapath("wordsim353.tsv"))


def read_pairs(path: str | None = None) -> list[tuple[str, str, float]]:
    """``(word1, word2, human score)`` of every pair of a WordSim-style TSV file."""
    pairs = []
    with open(path or wordsim353_path(), encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            a, b, score = line.rstrip("\n").split("\t")[:3]
            pairs.append((a, b, float(score)))
    return pairs


def word_similarity(
    lookup: Callable[[str], np.ndarray | None], pairs: Sequence[tuple[str, str, float]]
) -> dict[str, Any]:
    """Spearman's rho between cosine similarities and human scores over in-vocabulary pairs.

    Args:
        lookup: a word's vector, or None when the word is not in the vocabulary. Words are
            looked up as given, then lower-cased.
        pairs: the word pairs with their human scores.
    """
    from scipy.stats import spearmanr

    model, human = [], []
    not_found = 0
    for a, b, score in pairs:
        va = lookup(a)
        va = va if va is not None else lookup(a.lower())
        vb = lookup(b)
        vb = vb if vb is not None else lookup(b.lower())
        if va is None or vb is None:
            not_found += 1
            continue
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
        model.append(float(va @ vb) / denom if denom > 0 else 0.0)
        human.append(score)
    rho = 0.0
    if len(model) >= 2:
        value = spearmanr(model, human).statistic
        rho = 0.0 if not np.isfinite(value) else float(value)
    return {"not_found": not_found, "spearmans_rho": rho, "total_pairs": len(pairs)}


def evaluate(lookup: Callable[[str], np.ndarray | None], out_dir: Path) -> dict[str, Any]:
    """Score the vectors on WordSim-353, write ``eval.json`` and return its content."""
    result = word_similarity(lookup, read_pairs())
    report = {WS353_NAME: result, "mean_rho": result["spearmans_rho"]}
    (out_dir / "eval.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
