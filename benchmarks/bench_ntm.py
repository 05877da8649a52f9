"""NTM: openmaker's Neural Topic Model vs scikit-learn LatentDirichletAllocation (and openmaker's
spectral LDA), side by side on the same real corpus.

Corpus: gensim's ``lee_background.cor`` (300 news paragraphs, read through
``gensim.test.utils.datapath``), tokenised as ``benchmarks/bench_lda.py`` does: ``[a-z]+`` on
lower-cased text, gensim's STOPWORDS and words under 3 letters removed, words in fewer than 2
training documents dropped. Documents 0-239 train, 240-299 are held out.

Every model gets ``k`` topics (default 10) and its top-10 words per topic are scored the same
way (:mod:`openmaker.algorithms.ntm.coherence`):

* **NPMI** on the held-out documents (document co-occurrence; a pair that never co-occurs
  counts -1), the mean over topics;
* **WETC**: mean pairwise cosine of the top words' PPMI vectors learned from the training
  documents (what NTM's log prints with a vocabulary; GloVe is not available offline);
* **TU**: topic uniqueness.

Perplexity, two ways:

* **completion**: each held-out document's tokens alternate between an observed half and a
  scored half; the topic mixture is inferred from the observed half and the scored half is
  scored under the model's predictive word distribution (LDA: ``θ·β`` with openmaker's
  variational E-step at ``alpha = 1/k``, as bench_lda.py; NTM: ``softmax(W θ + b)`` with
  ``θ`` its topic weights): ``exp(-mean log p(word))``, the same estimator for all;
* **bound**: each model's own variational bound on the whole held-out documents
  (scikit-learn's ``perplexity``; NTM's ``exp(negative ELBO / words)``); both are upper bounds.

Time: the whole fit and seconds per epoch (NTM: fit time / epochs run; scikit-learn batch VB:
fit time / ``n_iter_``, one pass over the data each).

Part 2 (throughput and topic recovery, ``--docs`` documents, skipped with ``--docs 0``): a corpus
drawn from known topics by the documented, seeded generator
:func:`openmaker.algorithms.common.topics.synthetic_corpus` (V = ``--vocab``, ``--synthetic-k``
topics, ``alpha0`` 1, topic concentration 0.05, mean length 50); NTM (adam 0.003, batch 64,
``--epochs`` epochs, early stopping off) vs scikit-learn batch VB LDA (``max_iter`` = the same
number of passes): documents per second per pass, and the matched L1 topic-recovery error
(:func:`~openmaker.algorithms.common.topics.topic_recovery_error`, 0 perfect, 2 disjoint).

NTM runs twice: with SageMaker's defaults (adadelta, mini_batch_size 256, 50 epochs: with 240
documents that is one update per epoch) and tuned for this small corpus (adam, learning rate
0.003, mini_batch_size 16, 100 epochs, early stopping off: ``num_patience_epochs`` above
``epochs``; with the default tolerance the training loss looks flat while the topics are
still forming and training stops after 5 epochs). Its top words
come from ``topic_word_matrix()`` (``softmax(W[:, k] + b)``) and, reported too, from the
decoder columns alone (``include_background=False``).

Usage::

    .venv/bin/python benchmarks/bench_ntm.py [--k 10] [--skip-openmaker-lda] [--docs 10000]
        [--vocab 1000] [--synthetic-k 20] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.ntm import coherence

sys.path.insert(0, str(Path(__file__).resolve().parent))


def lee_corpus() -> tuple[sp.csr_matrix, sp.csr_matrix, list[str]]:
    """``(train counts, held-out counts, vocabulary)``, documents without a known word dropped."""
    from openmaker.algorithms.common.topics import lee_documents, word_counts

    train, test, vocab = lee_documents()

    def counts(documents: list[list[str]]) -> sp.csr_matrix:
        M = word_counts(documents, vocab)
        return M[np.asarray(M.sum(axis=1)).ravel() > 0]

    return counts(train), counts(test), vocab


def halves(X: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each document's tokens alternately into an observed and a scored half."""
    obs_rows, sc_rows = [], []
    for r in range(X.shape[0]):
        row = X.getrow(r)
        tokens = np.repeat(row.indices, row.data.astype(int))
        obs_rows.append(tokens[0::2])
        sc_rows.append(tokens[1::2])
    keep = [i for i, (a, b) in enumerate(zip(obs_rows, sc_rows, strict=True)) if len(a) and len(b)]

    def build(rows: list[np.ndarray]) -> sp.csr_matrix:
        r = np.concatenate([np.full(len(rows[i]), j) for j, i in enumerate(keep)])
        c = np.concatenate([rows[i] for i in keep])
        M = sp.csr_matrix(
            (np.ones(len(c), dtype=np.float32), (r, c)), shape=(len(keep), X.shape[1])
        )
        M.sum_duplicates()
        return M

    return build(obs_rows), build(sc_rows)


def lda_completion(
    beta: np.ndarray, k: int, observed: sp.csr_matrix, scored: sp.csr_matrix
) -> float:
    """Completion perplexity of an LDA model (openmaker's E-step, alpha = 1/k)."""
    from openmaker.algorithms.lda.inference import log_likelihood_sums, topic_mixtures

    beta = np.maximum(np.asarray(beta, dtype=np.float64), 1e-12)
    beta /= beta.sum(axis=1, keepdims=True)
    theta = topic_mixtures(observed, beta, np.full(k, 1.0 / k))
    ll, n = log_likelihood_sums(scored, beta, theta)
    return float(np.exp(-ll / n))


def ntm_completion(model: Any, observed: sp.csr_matrix, scored: sp.csr_matrix) -> float:
    """Completion perplexity of an NTM model: ``softmax(W theta + b)`` at the observed half's
    topic weights."""
    theta = model.topic_weights(observed)
    W, b = model.arrays["decoder.weight"], model.arrays["decoder.bias"]
    logits = theta @ W.T + b
    m = logits.max(axis=1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    S = scored.toarray()
    return float(np.exp(-(S * log_p).sum() / S.sum()))


def scores(topic_word: np.ndarray, X: sp.csr_matrix, held: sp.csr_matrix) -> dict[str, float]:
    """NPMI (held-out), WETC (training PPMI vectors), TU of the top-10 words."""
    top = coherence.top_words(topic_word, 10)
    return {
        "npmi": coherence.npmi(top, [held])[0],
        "wetc": coherence.corpus_wetc(top, [X])[0],
        "tu": coherence.topic_uniqueness(top)[0],
    }


def fit_ntm(X: sp.csr_matrix, k: int, **hp: Any) -> tuple[Any, float, int]:
    from openmaker.algorithms.ntm import NTMEstimator

    start = time.perf_counter()
    est = NTMEstimator(num_topics=k, **hp).fit(X)
    seconds = time.perf_counter() - start
    return est, seconds, int(est.model_.meta["epochs_run"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--skip-openmaker-lda", action="store_true")
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--synthetic-k", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    k = args.k
    X, held, vocab = lee_corpus()
    observed, scored = halves(held)
    print(
        f"NTM benchmark - {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"lee_background: {X.shape[0]} training documents, {held.shape[0]} held out, "
        f"vocabulary {len(vocab)}, {int(X.sum())} training words, k={k}\n",
        flush=True,
    )
    # torch's first import (seconds) is not the fit's: warm it up on a tiny corpus
    fit_ntm(X[:20], 2, epochs=1)
    rows: list[dict[str, Any]] = []

    def add(name: str, tw: np.ndarray, completion: float, bound: float, secs: float,
            epochs: int | None, example: str) -> None:  # fmt: skip
        row = {"method": name, **scores(tw, X, held), "completion": completion, "bound": bound,
               "time": secs, "epochs": epochs, "example": example}  # fmt: skip
        rows.append(row)
        per = f"{secs / epochs:7.3f}" if epochs else "    n/a"
        print(
            f"{name:42s} NPMI {row['npmi']:7.4f}  WETC {row['wetc']:.4f}  TU {row['tu']:.3f}  "
            f"completion ppl {completion:8.1f}  bound ppl {bound:8.1f}  "
            f"time {secs:6.2f} s  s/epoch {per}",
            flush=True,
        )

    def example(tw: np.ndarray) -> str:
        top = coherence.top_words(tw, 6)
        return " | ".join(" ".join(vocab[w] for w in row) for row in top[:3].tolist())

    for label, hp in (
        ("NTM (SageMaker defaults)", {}),
        ("NTM (adam 0.003, batch 16, 100 epochs)", {
            "optimizer": "adam", "learning_rate": 0.003, "mini_batch_size": 16, "epochs": 100,
            "num_patience_epochs": 101}),
    ):  # fmt: skip
        est, secs, epochs = fit_ntm(X, k, **hp)
        model = est.model_
        bound = est.perplexity(held)
        comp = ntm_completion(model, observed, scored)
        tw = model.topic_word_matrix()
        add(label, tw, comp, bound, secs, epochs, example(tw))
        tw0 = model.topic_word_matrix(include_background=False)
        add("  same, top words without background", tw0, comp, bound, secs, epochs, example(tw0))

    from sklearn.decomposition import LatentDirichletAllocation

    for max_iter in (10, 50):
        start = time.perf_counter()
        lda = LatentDirichletAllocation(
            n_components=k, learning_method="batch", max_iter=max_iter, random_state=0
        ).fit(X)
        secs = time.perf_counter() - start
        beta = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
        add(f"scikit-learn LDA (batch VB, max_iter={max_iter})", beta,
            lda_completion(beta, k, observed, scored), float(lda.perplexity(held)), secs,
            int(lda.n_iter_), example(beta))  # fmt: skip

    if not args.skip_openmaker_lda:
        try:
            from openmaker.algorithms.lda import LDAEstimator
        except ImportError:  # pragma: no cover - LDA not there
            LDAEstimator = None
        if LDAEstimator is not None:
            start = time.perf_counter()
            est = LDAEstimator(num_topics=k, alpha0=1.0).fit(X)
            secs = time.perf_counter() - start
            beta = est.components_
            add("openmaker LDA (spectral)", beta, lda_completion(beta, k, observed, scored),
                float("nan"), secs, None, example(beta))  # fmt: skip

    freq = np.asarray(X.sum(axis=0)).ravel() + 0.5
    uni = float(np.exp(-(scored.toarray() * np.log(freq / freq.sum())).sum() / scored.sum()))
    print(f"\nbaseline: unigram (add-0.5) completion perplexity {uni:.1f}; uniform {len(vocab)}")
    base = next(
        r for r in rows if r["method"].startswith("scikit-learn LDA (batch VB, max_iter=10")
    )
    print(
        "\nratios to scikit-learn LDA (max_iter=10): NPMI difference, completion perplexity, time"
    )
    for r in rows:
        if r["method"].startswith("  "):
            continue
        print(
            f"  {r['method']:42s} dNPMI {r['npmi'] - base['npmi']:+.4f}  "
            f"ppl x{r['completion'] / base['completion']:.3f}  time x{r['time'] / base['time']:.2f}"
        )
    print("\nexample topics (first 3, top 6 words):")
    for r in rows:
        print(f"  {r['method']}: {r['example']}")
    if args.docs:
        synthetic(args)


def synthetic(args: argparse.Namespace) -> None:
    """Part 2: throughput and topic recovery on a generated corpus."""
    from sklearn.decomposition import LatentDirichletAllocation

    from openmaker.algorithms.common.topics import synthetic_corpus, topic_recovery_error

    k, passes = args.synthetic_k, args.epochs
    corpus = synthetic_corpus(args.docs, args.vocab, k, alpha0=1.0, seed=0)
    X = corpus.counts
    print(
        f"\nsynthetic corpus: {X.shape[0]} documents, vocabulary {X.shape[1]}, k={k}, "
        f"{int(X.sum())} words, {passes} passes each",
        flush=True,
    )
    est, secs, epochs = fit_ntm(
        X, k, optimizer="adam", learning_rate=0.003, mini_batch_size=64, epochs=passes,
        num_patience_epochs=passes + 1,
    )  # fmt: skip
    ntm_err = topic_recovery_error(est.model_.topic_word_matrix(), corpus.topics)
    ntm_rate = X.shape[0] * epochs / secs
    start = time.perf_counter()
    lda = LatentDirichletAllocation(
        n_components=k, learning_method="batch", max_iter=passes, random_state=0
    ).fit(X)
    lda_secs = time.perf_counter() - start
    lda_err = topic_recovery_error(lda.components_, corpus.topics)
    lda_rate = X.shape[0] * int(lda.n_iter_) / lda_secs
    print(
        f"  NTM                 {secs:7.2f} s  {secs / epochs:6.3f} s/epoch  "
        f"{ntm_rate:9.0f} docs/s/pass  recovery error {ntm_err:.3f}"
    )
    print(
        f"  scikit-learn LDA    {lda_secs:7.2f} s  {lda_secs / lda.n_iter_:6.3f} s/iter   "
        f"{lda_rate:9.0f} docs/s/pass  recovery error {lda_err:.3f}"
    )
    print(
        f"  ratio NTM / LDA: throughput x{ntm_rate / lda_rate:.2f}, error x{ntm_err / lda_err:.2f}"
    )


if __name__ == "__main__":
    main()
