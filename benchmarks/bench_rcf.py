"""Random Cut Forest: openmaker vs rrcf (and scikit-learn's IsolationForest), side by side.

Usage::

    .venv/bin/python benchmarks/bench_rcf.py [--trees 100] [--samples 256] [--rrcf-points 1500]
        [--shingle 8] [--stream-points 1500] [--skip-rrcf]

Needs the ``bench`` extra (``pip install -e '.[bench]'``: rrcf, river, aeon). The data files
are read straight from the installed packages (river and aeon themselves are not imported):

* **shuttle** (river ``datasets/shuttle.csv.gz``, ODDS labelling): 49,097 x 9, 3,511 anomalies.
* **KDD-TSAD 135** (aeon ``datasets/data/KDD-TSAD_135``, UCR anomaly archive
  "InternalBleeding16"): a 7,501-point series with 12 labelled anomalous points (4187-4198),
  a burst of jitter on a smooth curve; its first 1,200 points (the archive's TRAIN part) are
  anomaly-free. Both tools get the series' first differences (the raw values hide the burst
  from any axis-aligned cut: AUC about 0.5 for both). Batch: shingles of ``--shingle``
  differences; the forests are grown on all the shingles of the series and score them all (as
  SageMaker's RCF examples do with a series; a shingle is anomalous when it ends on an
  anomalous point). Streaming: shingles of 4.
* aeon's **Daphnet S06R02E0** ships with no anomalous point (``is_anomaly`` is all 0), so it
  cannot give an AUC and is left out.

**Batch** (per data set, the same forest size for everyone: ``--trees`` trees of ``--samples``
points, or of ``floor(rows / trees)`` when the data is smaller than that, SageMaker's rule,
which openmaker follows): openmaker trains through the scikit-learn adapter (the training-job
code path) and scores every row; rrcf builds the same number of trees, each on as many random
rows, and scores ``--rrcf-points`` rows (all the anomalies when they are rare, plus random
rows; rrcf is pure Python: a row is inserted into every tree, its collusive displacement read
and the row forgotten again, the usual way to score new points); IsolationForest
(``n_estimators`` and ``max_samples`` the same) fits and scores every row. ROC-AUC on the rrcf
rows for all three (and on every row for openmaker and IsolationForest), and throughput in
rows scored per second.

**Streaming** (KDD-TSAD 135, ``--stream-points`` points ending 200 after the anomaly):
openmaker's ``StreamingForest`` (window = tree size = ``--samples``, so every tree holds the
last ``--samples`` shingles, score then learn) against rrcf's streaming recipe (each tree:
forget the oldest shingle, insert the new one, read its CoDisp), both ``--trees`` trees; AUC over
the points after the first window, and points per second.

Targets: openmaker's AUC >= rrcf's and >= 50x its throughput.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path

import numpy as np


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed: pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations)))


def load_shuttle() -> tuple[np.ndarray, np.ndarray]:
    """river's shuttle: (49097 x 9 float32, labels 0/1)."""
    import pandas as pd

    frame = pd.read_csv(_package_dir("river") / "datasets" / "shuttle.csv.gz")
    y = frame.pop("anomaly").to_numpy(dtype=np.int8)
    return frame.to_numpy(dtype=np.float32), y


def load_kdd_series() -> tuple[np.ndarray, np.ndarray, int]:
    """aeon's KDD-TSAD 135: (first differences, labels 0/1, length of the anomaly-free part)."""
    import pandas as pd

    folder = _package_dir("aeon") / "datasets" / "data" / "KDD-TSAD_135"
    test = pd.read_csv(folder / "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
    train = pd.read_csv(folder / "135_UCR_Anomaly_InternalBleeding16_TRAIN.csv")
    values = test["value"].to_numpy(dtype=np.float64)
    return (
        np.diff(values, prepend=values[0]).astype(np.float32),
        test["is_anomaly"].to_numpy(dtype=np.int8),
        len(train),
    )


def shingles(series: np.ndarray, size: int) -> np.ndarray:
    """Rows of ``size`` consecutive values (row i ends at value i + size - 1)."""
    return np.lib.stride_tricks.sliding_window_view(series, size).astype(np.float32)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def rrcf_batch(
    train: np.ndarray, queries: np.ndarray, trees: int, samples: int, seed: int = 0
) -> tuple[np.ndarray, float, float]:
    """rrcf: ``trees`` trees of ``samples`` random training rows; CoDisp of each query row
    averaged over the trees. Returns (scores, build seconds, score seconds)."""
    import rrcf

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    forest = []
    for _ in range(trees):
        idx = rng.choice(len(train), size=min(samples, len(train)), replace=False)
        forest.append(rrcf.RCTree(train[idx].astype(np.float64), index_labels=idx))
    built = time.perf_counter() - start
    start = time.perf_counter()
    scores = np.zeros(len(queries))
    for i, q in enumerate(queries.astype(np.float64)):
        total = 0.0
        for tree in forest:
            tree.insert_point(q, index="query", tolerance=0)
            total += tree.codisp("query")
            tree.forget_point("query")
        scores[i] = total / trees
    return scores, built, time.perf_counter() - start


def ours_batch(
    train: np.ndarray, queries: np.ndarray, trees: int, samples: int
) -> tuple[np.ndarray, float, float]:
    """openmaker through the scikit-learn adapter: (scores, fit seconds, score seconds)."""
    from openmaker.algorithms.random_cut_forest import RandomCutForestEstimator

    start = time.perf_counter()
    est = RandomCutForestEstimator(num_trees=trees, num_samples_per_tree=samples).fit(train)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    scores = est.anomaly_score(queries)
    return scores, fitted, time.perf_counter() - start


def iforest_batch(
    train: np.ndarray, queries: np.ndarray, trees: int, samples: int
) -> tuple[np.ndarray, float, float]:
    from sklearn.ensemble import IsolationForest

    start = time.perf_counter()
    peer = IsolationForest(n_estimators=trees, max_samples=samples, random_state=0).fit(train)
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    scores = -peer.score_samples(queries)
    return scores, fitted, time.perf_counter() - start


def compare_batch(
    name: str,
    train: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    args: argparse.Namespace,
) -> None:
    # RCF (SageMaker's rule) gives each tree floor(rows / trees) points when the data is
    # smaller than trees x samples; the peers get the same tree size
    per_tree = min(args.samples, len(train) // args.trees)
    print(
        f"\n== batch: {name} (train {train.shape[0]} x {train.shape[1]}, score {len(X)}, "
        f"{int(y.sum())} anomalies; {args.trees} trees x {per_tree} samples)"
    )
    rng = np.random.default_rng(1)
    size = min(args.rrcf_points, len(X))
    anomalies = np.flatnonzero(y)
    if len(anomalies) < size // 2:  # rare anomalies: all of them, plus random normal rows
        normal = rng.choice(np.flatnonzero(y == 0), size=size - len(anomalies), replace=False)
        subset = np.sort(np.concatenate([normal, anomalies]))
    else:
        subset = np.sort(rng.choice(len(X), size=size, replace=False))
    ours, fit_o, t_o = ours_batch(train, X, args.trees, args.samples)
    iso, fit_i, t_i = iforest_batch(train, X, args.trees, per_tree)
    rows = [
        ("openmaker RCF", auc(y, ours), auc(y[subset], ours[subset]), fit_o, len(X) / t_o),
        ("IsolationForest", auc(y, iso), auc(y[subset], iso[subset]), fit_i, len(X) / t_i),
    ]
    rr_rate = None
    if not args.skip_rrcf:
        rr, build_r, t_r = rrcf_batch(train, X[subset], args.trees, per_tree)
        rr_rate = len(subset) / t_r
        rows.append(("rrcf", float("nan"), auc(y[subset], rr), build_r, rr_rate))
    print(f"{'':16} {'AUC all':>8} {'AUC subset':>10} {'fit s':>8} {'rows/s':>12}")
    for label, a_all, a_sub, fit, rate in rows:
        print(f"{label:16} {a_all:8.4f} {a_sub:10.4f} {fit:8.2f} {rate:12.0f}")
    print(f"(subset: {len(subset)} rows, {int(y[subset].sum())} anomalies)")
    if rr_rate:
        print(
            f"throughput openmaker / rrcf: {rows[0][4] / rr_rate:.0f}x; "
            f"AUC openmaker - rrcf on the subset: {rows[0][2] - rows[2][2]:+.4f}"
        )
    print(
        f"throughput openmaker / IsolationForest: {rows[0][4] / rows[1][4]:.2f}x; "
        f"AUC openmaker - IsolationForest: {rows[0][1] - rows[1][1]:+.4f}"
    )


def compare_streaming(series: np.ndarray, labels: np.ndarray, args: argparse.Namespace) -> None:
    from openmaker.algorithms.random_cut_forest import StreamingForest

    shingle = 4
    last = int(np.flatnonzero(labels).max()) + 200
    lo = max(0, last - args.stream_points)
    seg, lab = series[lo:last], labels[lo:last]
    warm = args.samples + shingle
    y = lab[warm:]
    print(
        f"\n== streaming: KDD-TSAD 135 points {lo}..{last - 1} ({len(seg)} points, shingle "
        f"{shingle}, {args.trees} trees, window {args.samples}; AUC over the last "
        f"{len(y)} points, {int(y.sum())} anomalies)"
    )
    stream = StreamingForest(
        1, num_trees=args.trees, num_samples_per_tree=args.samples, shingle_size=shingle
    )
    start = time.perf_counter()
    ours = stream.update_many(seg.reshape(-1, 1))
    t_o = time.perf_counter() - start
    full = StreamingForest(
        1, num_trees=args.trees, num_samples_per_tree=args.samples, shingle_size=shingle
    )
    start = time.perf_counter()
    full_scores = full.update_many(series.reshape(-1, 1))
    t_full = time.perf_counter() - start
    print(
        f"openmaker StreamingForest: AUC {auc(y, ours[warm:]):.4f}, {len(seg) / t_o:.0f} "
        f"points/s (whole series of {len(series)}: {len(series) / t_full:.0f} points/s, AUC "
        f"{auc(labels[warm:], full_scores[warm:]):.4f})"
    )
    if args.skip_rrcf:
        return
    import rrcf

    forest = [rrcf.RCTree() for _ in range(args.trees)]
    points = list(rrcf.shingle(seg.astype(np.float64), size=shingle))
    scores = np.zeros(len(seg))
    start = time.perf_counter()
    for i, point in enumerate(points):
        total = 0.0
        for tree in forest:
            if len(tree.leaves) >= args.samples:
                tree.forget_point(i - args.samples)
            tree.insert_point(point, index=i)
            total += tree.codisp(i)
        scores[i + shingle - 1] = total / args.trees
    t_r = time.perf_counter() - start
    print(
        f"rrcf streaming:            AUC {auc(y, scores[warm:]):.4f}, "
        f"{len(points) / t_r:.0f} points/s"
    )
    print(f"throughput openmaker / rrcf: {(len(seg) / t_o) / (len(points) / t_r):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--rrcf-points", type=int, default=1500)
    parser.add_argument("--shingle", type=int, default=8)
    parser.add_argument("--stream-points", type=int, default=1500)
    parser.add_argument("--skip-rrcf", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )

    X, y = load_shuttle()
    compare_batch("shuttle", X, X, y, args)

    series, labels, _ = load_kdd_series()
    S = shingles(series, args.shingle)
    S_labels = labels[args.shingle - 1 :]
    compare_batch(f"KDD-TSAD 135, shingles of {args.shingle}", S, S, S_labels, args)

    compare_streaming(series, labels, args)


if __name__ == "__main__":
    main()
