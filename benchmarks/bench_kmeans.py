"""K-Means: openmaker vs scikit-learn KMeans / MiniBatchKMeans and faiss Kmeans, side by side.

Usage::

    .venv/bin/python benchmarks/bench_kmeans.py [--rows 1000000] [--dim 50] [--ks 10,100]
        [--data blobs|gaussian] [--skip-peers kmeans,minibatch,faiss]

Data (generated, float32, ``--rows`` x ``--dim``):

* ``blobs``: a Gaussian mixture with as many components as the k being fitted (scikit-learn's
  ``make_blobs`` layout: centres uniform in [-10, 10]^d, ``cluster_std`` 4 so they overlap);
* ``gaussian``: one standard normal cloud (no cluster structure; the hardest case for a
  one-pass algorithm).

For each k it fits openmaker's K-Means through the scikit-learn adapter (end to end: the array
is handed to ``train()`` as an in-memory channel read in the same mini-batches a job reads from
its files; then ``labels_`` and ``inertia_`` are computed; the ratios use this time), and
times ``train()`` alone in Pipe mode on a channel written beforehand, with SageMaker's defaults
(``mini_batch_size`` 5000, ``epochs`` 1, ``extra_center_factor`` and
``local_lloyd_num_trials`` auto = 10, ``init_method`` random), and the peers with their
defaults (KMeans: k-means++, ``n_init`` auto = 1, Lloyd; MiniBatchKMeans: batch 1024; faiss:
25 iterations). Every inertia is recomputed the same way (float64, nearest centre). It prints
the wall time, the inertia and openmaker's ratios to each peer; the targets are inertia <= 1.01x
and time <= 0.5x scikit-learn's KMeans.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np


def make_data(kind: str, n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """The benchmark matrix (float32)."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal((n, d), dtype=np.float32)
    centers = rng.uniform(-10.0, 10.0, size=(k, d)).astype(np.float32)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X *= 4.0
    X += centers[rng.integers(0, k, size=n)]
    return X


def inertia(X: np.ndarray, centers: np.ndarray) -> float:
    """Σ min_j ‖x - c_j‖², float64, in row chunks."""
    C = np.asarray(centers, dtype=np.float64)
    c_sq = (C**2).sum(1)
    total = 0.0
    for lo in range(0, len(X), 50_000):
        B = X[lo : lo + 50_000].astype(np.float64)
        d = (B**2).sum(1)[:, None] - 2.0 * B @ C.T + c_sq[None, :]
        total += float(np.maximum(d.min(1), 0.0).sum())
    return total


def run_openmaker(X: np.ndarray, k: int) -> np.ndarray:
    from openmaker.algorithms.kmeans import KMeansEstimator

    return KMeansEstimator(k=k).fit(X).cluster_centers_


def time_openmaker_train(X: np.ndarray, k: int, mode: str) -> tuple[float, float]:
    """``train()`` alone, as inside a job: the channel is written first (not timed)."""
    import io
    import tempfile
    from pathlib import Path

    from openmaker.algorithms.kmeans.model import KMeansModel
    from openmaker.algorithms.kmeans.spec import SPEC
    from openmaker.algorithms.kmeans.train import train
    from openmaker.data import Dataset, write_dataset
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    content_type = "application/x-recordio-protobuf"
    with tempfile.TemporaryDirectory(prefix="bench-kmeans-") as tmp:
        root = Path(tmp)
        folder = root / "train"
        folder.mkdir()
        write_dataset(Dataset(X, None, None), str(folder / "part-0"), content_type)
        files = tuple(str(p) for p in folder.iterdir())
        channel = ChannelInput(
            "train", content_type, {}, mode, folder if mode == "File" else None, files
        )
        ctx = TrainingContext(
            "bench", root / "model", root / "out", root / "ckpt", log=io.StringIO()
        )
        ctx.model_dir.mkdir()
        typed = SPEC.validate_hyperparameters({"k": k, "feature_dim": X.shape[1]})
        start = time.perf_counter()
        train(typed, {"train": channel}, ctx)
        seconds = time.perf_counter() - start
        centers = KMeansModel.load(ctx.model_dir).centers
    return seconds, inertia(X, centers)


def run_sklearn_kmeans(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(k, random_state=0).fit(X).cluster_centers_


def run_minibatch(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    return MiniBatchKMeans(k, random_state=0).fit(X).cluster_centers_


def run_faiss(X: np.ndarray, k: int) -> np.ndarray:
    import faiss

    km = faiss.Kmeans(X.shape[1], k, seed=0, verbose=False)
    km.train(np.ascontiguousarray(X, dtype=np.float32))
    return km.centroids


PEERS: dict[str, tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = {
    "kmeans": ("sklearn KMeans", run_sklearn_kmeans),
    "minibatch": ("sklearn MiniBatchKMeans", run_minibatch),
    "faiss": ("faiss Kmeans", run_faiss),
}


def timed(
    fn: Callable[[np.ndarray, int], np.ndarray], X: np.ndarray, k: int
) -> tuple[float, float]:
    start = time.perf_counter()
    centers = fn(X, k)
    seconds = time.perf_counter() - start
    return seconds, inertia(X, centers)


def warm_up(skip: set[str]) -> None:
    """Import every contender (and run each once on tiny data) so no timing pays for it."""
    X = make_data("blobs", 2000, 5, 3, seed=1)
    run_openmaker(X, 3)
    for key, (_, fn) in PEERS.items():
        if key not in skip:
            fn(X, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=50)
    parser.add_argument("--ks", default="10,100")
    parser.add_argument("--data", default="blobs", choices=("blobs", "gaussian"))
    parser.add_argument("--skip-peers", default="")
    args = parser.parse_args()
    skip = {s for s in args.skip_peers.split(",") if s}

    print(
        f"# bench_kmeans: {args.rows:,} x {args.dim} {args.data}, k in {args.ks}; "
        f"{platform.machine()}, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}, "
        f"numpy {np.__version__}"
    )
    header = (
        f"{'k':>4} {'algorithm':<26} {'seconds':>9} {'inertia':>16} "
        f"{'om/peer inertia':>16} {'om/peer time':>13}"
    )
    warm_up(skip)
    for k in (int(x) for x in args.ks.split(",")):
        X = make_data(args.data, args.rows, args.dim, k)
        print(header)
        t_om, i_om = timed(run_openmaker, X, k)
        print(f"{k:>4} {'openmaker kmeans':<26} {t_om:>9.2f} {i_om:>16.6g} {'':>16} {'':>13}")
        t_job, i_job = time_openmaker_train(X, k, "Pipe")
        print(f"{k:>4} {'openmaker train() (Pipe)':<26} {t_job:>9.2f} {i_job:>16.6g}")
        for key, (label, fn) in PEERS.items():
            if key in skip:
                continue
            t, i = timed(fn, X, k)
            print(f"{k:>4} {label:<26} {t:>9.2f} {i:>16.6g} {i_om / i:>16.4f} {t_om / t:>13.3f}")


if __name__ == "__main__":
    main()
