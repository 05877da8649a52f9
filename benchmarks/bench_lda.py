"""LDA: openmaker's spectral LDA vs scikit-learn LatentDirichletAllocation and gensim LdaModel.

Part 1 (topic recovery and time): corpora drawn from known topics by the documented, seeded
generator :func:`openmaker.algorithms.common.topics.synthetic_corpus` (topics
``β_k ~ Dirichlet(0.05 · 1_V)``, mixtures ``θ_d ~ Dirichlet(alpha0 / k)``, lengths
``max(3, Poisson(50))``, counts ``Multinomial(n_d, θ_d β)``), one corpus per seed. Each
method fits the same CSR matrix from memory with the true ``num_topics`` and document prior
(``alpha0 / k`` per topic): openmaker through its scikit-learn adapter (the real ``train()``,
in-memory channel), scikit-learn with ``learning_method="batch"`` (its default ``max_iter=10``)
and gensim with ``passes=10``, ``chunksize=2000``, ``iterations=100``, ``gamma_threshold=1e-4``
(the best of the few settings tried; gensim's defaults, one pass, recover much less).
Error: the mean L1 distance between the estimated and the true topics after a Hungarian
matching (``topics.topic_recovery_error``; 0 = perfect, 2 = disjoint), mean and median over
the seeds. Time: the fit only (gensim's corpus conversion is not timed).

Part 2 (a real corpus): gensim's ``lee_background.cor`` (300 news paragraphs), tokenised by
``[a-z]+`` on lower-cased text, gensim's STOPWORDS and words under 3 letters removed, words in
fewer than 2 training documents dropped. 240 documents train, 60 are held out. Held-out
per-word log-likelihood by *document completion*, the same estimator for every model: each
held-out document's tokens alternate between an observed half and a scored half; θ is
inferred from the observed half under the model's (α, β) with openmaker's variational E-step,
and the scored half is scored by ``log(θ · β_w)``. Also openmaker's own ``test:pwll``
(θ inferred from the whole document).

Part 3 (Pipe-mode memory): ``train()`` in Pipe mode over RecordIO files of ``pipe_docs`` and
4 x / 16 x as many documents (V = 2000, k = 20), each in a fresh subprocess; peak RSS from
``resource.getrusage`` and VmHWM. Run first, while the parent process is small.

Usage::

    .venv/bin/python benchmarks/bench_lda.py [--docs 10000] [--vocab 500] [--k 10]
        [--seeds 3] [--pipe-docs 20000] [--skip-pipe]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

RECORDIO = "application/x-recordio-protobuf"
#: openmaker's opt-in refinement (internal hyperparameter ``_em_passes``), reported apart.
EM_PASSES = 5
EM_NAME = f"openmaker (spectral + {EM_PASSES} EM)"


# --- the three methods ---------------------------------------------------------------------
def fit_openmaker(
    X: sp.csr_matrix, k: int, alpha0: float, em_passes: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(beta, alpha)`` from openmaker's LDA (spectral; ``em_passes`` EM passes after)."""
    from openmaker.algorithms.lda import LDAEstimator

    hp: dict[str, Any] = {"num_topics": k, "alpha0": alpha0}
    if em_passes:
        hp["_em_passes"] = em_passes
    est = LDAEstimator(**hp).fit(X)
    return est.components_, est.doc_topic_prior_


def fit_sklearn(X: sp.csr_matrix, k: int, alpha0: float) -> tuple[np.ndarray, np.ndarray]:
    """``(beta, alpha)`` from scikit-learn's batch variational Bayes."""
    from sklearn.decomposition import LatentDirichletAllocation

    lda = LatentDirichletAllocation(
        n_components=k, doc_topic_prior=alpha0 / k, learning_method="batch", random_state=0
    ).fit(X)
    beta = lda.components_ / lda.components_.sum(axis=1, keepdims=True)
    return beta, np.full(k, alpha0 / k)


def gensim_corpus(X: sp.csr_matrix) -> list[list[tuple[int, int]]]:
    """A CSR count matrix as gensim's bag-of-words documents."""
    X = sp.csr_matrix(X)
    return [
        list(
            zip(
                X.indices[X.indptr[i] : X.indptr[i + 1]].tolist(),
                X.data[X.indptr[i] : X.indptr[i + 1]].astype(int).tolist(),
                strict=True,
            )
        )
        for i in range(X.shape[0])
    ]


def fit_gensim(
    bow: list[list[tuple[int, int]]], V: int, k: int, alpha0: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(beta, alpha)`` from gensim's online variational Bayes (10 passes of 2000)."""
    from gensim.models import LdaModel

    model = LdaModel(
        bow,
        num_topics=k,
        id2word={i: str(i) for i in range(V)},
        alpha=np.full(k, alpha0 / k),
        passes=10,
        chunksize=2000,
        iterations=100,
        gamma_threshold=1e-4,
        eval_every=None,
        random_state=0,
    )
    return model.get_topics(), np.asarray(model.alpha)


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


# --- part 1 --------------------------------------------------------------------------------
def part1(args: argparse.Namespace) -> list[dict[str, Any]]:
    from openmaker.algorithms.common.topics import synthetic_corpus, topic_recovery_error

    rows = []
    for seed in range(args.seeds):
        corpus = synthetic_corpus(args.docs, args.vocab, args.k, alpha0=args.alpha0, seed=seed)
        X = corpus.counts
        bow = gensim_corpus(X)
        for name, fn, data in (
            ("openmaker (spectral)", fit_openmaker, (X, args.k, args.alpha0)),
            (EM_NAME, fit_openmaker, (X, args.k, args.alpha0, EM_PASSES)),
            ("scikit-learn (batch VB)", fit_sklearn, (X, args.k, args.alpha0)),
            ("gensim (online VB, 10 passes)", fit_gensim, (bow, args.vocab, args.k, args.alpha0)),
        ):
            (beta, _), seconds = timed(fn, *data)
            error = topic_recovery_error(beta, corpus.topics)
            rows.append({"seed": seed, "method": name, "error": error, "time": seconds})
            print(f"  seed {seed} {name:30s} error {error:.4f}  time {seconds:7.2f} s", flush=True)
    return rows


# --- part 2 --------------------------------------------------------------------------------
def lee_corpus() -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, list[str]]:
    """Train counts, held-out observed half, held-out scored half, vocabulary."""
    from openmaker.algorithms.common.topics import lee_documents, word_counts

    train, test, vocab = lee_documents()
    known = set(vocab)
    kept = [[w for w in d if w in known] for d in test]
    kept = [d for d in kept if len(d) >= 2]
    observed = word_counts([d[0::2] for d in kept], vocab)
    scored = word_counts([d[1::2] for d in kept], vocab)
    X = word_counts(train, vocab)
    X = X[np.asarray(X.sum(axis=1)).reshape(-1) > 0]
    return X, observed, scored, vocab


def completion_pwll(
    beta: np.ndarray, alpha: np.ndarray, observed: sp.csr_matrix, scored: sp.csr_matrix
) -> float:
    """Held-out per-word log-likelihood by document completion (see the module docstring)."""
    from openmaker.algorithms.lda.inference import log_likelihood_sums, topic_mixtures

    beta = np.maximum(np.asarray(beta, dtype=np.float64), 1e-12)
    beta /= beta.sum(axis=1, keepdims=True)
    theta = topic_mixtures(observed, beta, np.asarray(alpha, dtype=np.float64))
    ll, n = log_likelihood_sums(scored, beta, theta)
    return ll / n


def part2(args: argparse.Namespace) -> dict[str, Any]:
    from openmaker.algorithms.common.topics import top_words

    X, observed, scored, vocab = lee_corpus()
    k, alpha0 = args.real_k, args.alpha0
    print(
        f"  lee_background: {X.shape[0]} training documents, {observed.shape[0]} held out, "
        f"vocabulary {len(vocab)}, {int(X.sum())} training words, k={k}",
        flush=True,
    )
    out: dict[str, Any] = {"vocab": len(vocab), "docs": X.shape[0], "rows": []}
    bow = gensim_corpus(X)
    for name, fn, data in (
        ("openmaker (spectral)", fit_openmaker, (X, k, alpha0)),
        (EM_NAME, fit_openmaker, (X, k, alpha0, EM_PASSES)),
        ("scikit-learn (batch VB)", fit_sklearn, (X, k, alpha0)),
        ("gensim (online VB, 10 passes)", fit_gensim, (bow, len(vocab), k, alpha0)),
    ):
        (beta, alpha), seconds = timed(fn, *data)
        pwll = completion_pwll(beta, alpha, observed, scored)
        words = [" ".join(t.words) for t in top_words(beta, vocab, 6)[:3]]
        out["rows"].append({"method": name, "pwll": pwll, "time": seconds, "topics": words})
        print(f"  {name:30s} held-out pwll {pwll:8.4f}  time {seconds:6.2f} s", flush=True)
    uniform = completion_pwll(np.full((1, len(vocab)), 1.0), np.ones(1), observed, scored)
    freq = np.asarray(X.sum(axis=0)).reshape(1, -1) + 0.5
    unigram = completion_pwll(freq, np.ones(1), observed, scored)
    out["baselines"] = {"uniform": uniform, "unigram (add-0.5)": unigram}
    return out


# --- part 3 --------------------------------------------------------------------------------
def _hwm_kib() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_child(folder: str, vocab: int, k: int, docs: int) -> None:
    """Subprocess body: Pipe-mode train() over the folder's files, then peak RSS as JSON."""
    import io

    from openmaker.algorithms.lda.spec import SPEC
    from openmaker.algorithms.lda.train import train
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    root = Path(folder).parent / "job"
    ctx = TrainingContext(
        job_name="bench",
        model_dir=root / "model",
        output_dir=root / "output",
        checkpoint_dir=root / "checkpoints",
        log=io.StringIO(),
    )
    for d in (ctx.model_dir, ctx.output_dir):
        d.mkdir(parents=True, exist_ok=True)
    files = tuple(sorted(str(p) for p in Path(folder).iterdir()))
    channel = ChannelInput("train", RECORDIO, input_mode="Pipe", uris=files)
    hp = SPEC.validate_hyperparameters(
        # SageMaker's mini_batch_size: the number of documents in the corpus
        {"num_topics": k, "feature_dim": vocab, "mini_batch_size": docs}
    )
    t = time.perf_counter()
    train(hp, {"train": channel}, ctx)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"base_kib": base, "peak_kib": peak, "hwm_kib": _hwm_kib(), "time": seconds}))


def write_child(folder: str, docs: int, vocab: int, k: int) -> None:
    """Subprocess body: ``docs`` documents from known topics as sparse RecordIO, in chunks."""
    from openmaker.algorithms.common.topics import corpus_chunks, true_topics
    from openmaker.data import Dataset, DatasetWriter

    topics = true_topics(vocab, k, seed=0)
    with DatasetWriter(str(Path(folder) / "part-0"), RECORDIO) as w:
        for counts, _ in corpus_chunks(topics, docs, seed=0, chunk=5000):
            w.write(Dataset(counts, None))


def part3(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    out = []
    vocab, k = 2000, 20
    for docs in (args.pipe_docs, 4 * args.pipe_docs, 16 * args.pipe_docs):
        folder = tmp / f"pipe{docs}"
        folder.mkdir()
        cmd = [sys.executable, __file__, "--write-child", str(folder), str(docs), str(vocab)]
        subprocess.run([*cmd, str(k)], check=True)
        size = (folder / "part-0").stat().st_size / 2**20
        cmd = [sys.executable, __file__, "--rss-child", str(folder), str(vocab), str(k), str(docs)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        info = json.loads(res.stdout.strip().splitlines()[-1])
        info.update(docs=docs, file_mib=size)
        print(
            f"  {docs:>8d} docs  file {size:7.1f} MiB  peak RSS {info['peak_kib'] / 1024:7.1f} "
            f"MiB  train {info['time']:6.1f} s",
            flush=True,
        )
        out.append(info)
        for p in folder.iterdir():
            p.unlink()
    return out


# --- report --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--vocab", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--alpha0", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--real-k", type=int, default=10)
    parser.add_argument("--pipe-docs", type=int, default=20_000)
    parser.add_argument("--skip-pipe", action="store_true")
    parser.add_argument("--rss-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--write-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        a = args.rss_child
        rss_child(a[0], int(a[1]), int(a[2]), int(a[3]))
        return
    if args.write_child:
        a = args.write_child
        write_child(a[0], int(a[1]), int(a[2]), int(a[3]))
        return
    rss: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-lda-") as tmp:
        # Pipe-mode memory first, while this (parent) process is small: Linux keeps ru_maxrss
        # across fork + exec, so a child of a large parent would report the parent's size.
        if not args.skip_pipe:
            print("Part 3 first (Pipe-mode memory, fresh subprocesses):", flush=True)
            rss = part3(args, Path(tmp))
    import gensim
    import sklearn

    print(
        f"\nmachine: {platform.machine()} {os.cpu_count()} cores, {platform.system()}, python "
        f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, gensim {gensim.__version__}",
        flush=True,
    )
    print(
        f"\nPart 1: {args.docs} documents x {args.vocab} words, k={args.k}, "
        f"alpha0={args.alpha0}, {args.seeds} seed(s)",
        flush=True,
    )
    rows = part1(args)
    print("\nPart 2: real corpus", flush=True)
    real = part2(args)

    print("\n== summary ==")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    mean = {
        m: (
            float(np.mean([r["error"] for r in rows if r["method"] == m])),
            float(np.mean([r["time"] for r in rows if r["method"] == m])),
        )
        for m in methods
    }
    median = {m: float(np.median([r["error"] for r in rows if r["method"] == m])) for m in methods}
    print(f"topic recovery ({args.docs} x {args.vocab}, k={args.k}, {args.seeds} seeds)")
    print(f"  {'method':30s} {'mean L1':>8s} {'median':>8s} {'fit s':>8s}")
    for m in methods:
        print(f"  {m:30s} {mean[m][0]:8.4f} {median[m]:8.4f} {mean[m][1]:8.2f}")
    for ours_name in methods[:2]:
        ours = mean[ours_name]
        for m in methods[2:]:
            ratio_e, ratio_t = ours[0] / mean[m][0], ours[1] / mean[m][1]
            ratio_m = median[ours_name] / median[m]
            print(
                f"  {ours_name} / {m}: error {ratio_e:.3f}x (median {ratio_m:.3f}x), "
                f"time {ratio_t:.4f}x"
            )
    print(f"real corpus (lee_background, vocabulary {real['vocab']}, k={args.real_k})")
    for r in real["rows"]:
        print(f"  {r['method']:30s} held-out pwll {r['pwll']:8.4f}  fit {r['time']:6.2f} s")
        for words in r["topics"]:
            print(f"      {words}")
    for name, value in real["baselines"].items():
        print(f"  baseline {name:21s} held-out pwll {value:8.4f}")
    if rss:
        print("Pipe mode peak RSS (V=2000, k=20)")
        for r in rss:
            print(
                f"  {r['docs']:>8d} docs {r['file_mib']:7.1f} MiB file: peak RSS "
                f"{r['peak_kib'] / 1024:7.1f} MiB, VmHWM {r['hwm_kib'] / 1024:7.1f} MiB "
                f"(after imports {r['base_kib'] / 1024:6.1f})"
            )
        print(f"  peak RSS at {rss[-1]['docs']} / at {rss[0]['docs']} docs = "
              f"{rss[-1]['peak_kib'] / rss[0]['peak_kib']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
