"""PCA: openmaker vs scikit-learn PCA (full, covariance_eigh, randomized), one run.

Part 1 (quality and time): a synthetic ``rows x dim`` float32 matrix (a decaying low-rank
signal plus isotropic noise, off-centre), ``num_components`` components. openmaker runs its
real ``train()`` in File mode on a RecordIO-protobuf file of the data (written once, timed
apart; the time includes reading and decoding the file), regular and randomized mode.
scikit-learn fits the same array from memory. Quality: the share of the total variance the
components capture, measured on the data for every method the same way, and the explained
variance ratios each reports. Ratios are openmaker / peer.

Part 2 (Pipe-mode memory): ``train()`` in Pipe mode over ``pipe_rows`` and 10 x ``pipe_rows``
rows of narrower data, each in a fresh subprocess; peak RSS from ``resource.getrusage``
(``ru_maxrss``) and, on Linux, ``VmHWM`` of the child's own image. Part 2 runs first, while
the parent is small (Linux carries ``ru_maxrss`` across fork + exec).

Usage::

    .venv/bin/python benchmarks/bench_pca.py [--rows 1000000] [--dim 200] [--k 10]
        [--pipe-rows 1000000] [--pipe-dim 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RECORDIO = "application/x-recordio-protobuf"


def make_data(rows: int, dim: int, seed: int = 0, chunk: int = 200_000) -> np.ndarray:
    """A rank-``dim/4`` signal with a decaying spectrum plus unit noise, float32."""
    rng = np.random.default_rng(seed)
    rank = max(dim // 4, 1)
    basis = np.linalg.qr(rng.normal(size=(dim, rank)))[0].T  # rank x dim, orthonormal rows
    scales = 10.0 * 0.85 ** np.arange(rank)
    offset = rng.normal(size=dim) * 5
    X = np.empty((rows, dim), np.float32)
    for lo in range(0, rows, chunk):
        hi = min(lo + chunk, rows)
        z = rng.standard_normal((hi - lo, rank), dtype=np.float32) * scales.astype(np.float32)
        X[lo:hi] = z @ basis.astype(np.float32)
        X[lo:hi] += rng.standard_normal((hi - lo, dim), dtype=np.float32)
        X[lo:hi] += offset.astype(np.float32)
    return X


def write_recordio(X: np.ndarray, path: Path, chunk: int = 500_000) -> None:
    from openmaker.data import Dataset, DatasetWriter

    with DatasetWriter(str(path), RECORDIO) as w:
        for lo in range(0, X.shape[0], chunk):
            w.write(Dataset(X[lo : lo + chunk], None, None))


def run_train(folder: Path, hp: dict, mode: str = "File", workdir: Path | None = None) -> Path:
    """openmaker's train() on a channel folder; returns the model dir."""
    from openmaker.algorithms.pca.spec import SPEC
    from openmaker.algorithms.pca.train import train
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    root = Path(tempfile.mkdtemp(prefix="bench-pca-", dir=workdir))
    ctx = TrainingContext(
        job_name="bench",
        model_dir=root / "model",
        output_dir=root / "output",
        checkpoint_dir=root / "ckpt",
        log=io.StringIO(),
    )
    ctx.model_dir.mkdir()
    ctx.output_dir.mkdir()
    files = tuple(sorted(str(p) for p in folder.iterdir()))
    channel = ChannelInput(
        name="train",
        content_type=RECORDIO,
        input_mode=mode,
        path=folder if mode == "File" else None,
        uris=files,
    )
    train(SPEC.validate_hyperparameters(hp), {"train": channel}, ctx)
    return ctx.model_dir


def captured(X: np.ndarray, mean: np.ndarray, V: np.ndarray, chunk: int = 200_000) -> float:
    """Σ‖(x-μ)V‖² / Σ‖x-μ‖² over the data (V: d x k with orthonormal columns)."""
    kept = total = 0.0
    for lo in range(0, X.shape[0], chunk):
        Xc = X[lo : lo + chunk].astype(np.float64) - mean
        P = Xc @ V
        kept += float(np.einsum("ij,ij->", P, P))
        total += float(np.einsum("ij,ij->", Xc, Xc))
    return kept / total


def part1(args: argparse.Namespace, tmp: Path) -> list[dict]:
    from sklearn.decomposition import PCA

    from openmaker.algorithms.pca.model import PCAModel

    t = time.perf_counter()
    X = make_data(args.rows, args.dim)
    print(f"data: {args.rows} x {args.dim} float32, generated in {time.perf_counter() - t:.1f} s")
    folder = tmp / "train"
    folder.mkdir()
    t = time.perf_counter()
    write_recordio(X, folder / "part-0")
    size = (folder / "part-0").stat().st_size / 2**20
    print(f"recordio file: {size:.0f} MiB written in {time.perf_counter() - t:.1f} s")
    mean = X.mean(axis=0, dtype=np.float64)
    k = args.k
    results = []
    hp = {"feature_dim": args.dim, "num_components": k, "mini_batch_size": 500}
    for mode in ("regular", "randomized"):
        t = time.perf_counter()
        model_dir = run_train(folder, {**hp, "algorithm_mode": mode}, workdir=tmp)
        elapsed = time.perf_counter() - t
        model = PCAModel.load(model_dir)
        results.append(
            {
                "method": f"openmaker {mode} (train(), File mode)",
                "time": elapsed,
                "reported": float(sum(model.meta["explained_variance_ratio"])),
                "captured": captured(X, mean, model.components),
            }
        )
    # the same statistics computed from the array in memory (no file), as the peers do
    from openmaker.algorithms.pca.solve import solve_regular
    from openmaker.algorithms.pca.stats import CovarianceStats

    t = time.perf_counter()
    stats = CovarianceStats.empty(args.dim)
    for lo in range(0, args.rows, 10_000):
        stats.update(X[lo : lo + 10_000])
    res = solve_regular(stats, k, True)
    results.append(
        {
            "method": "openmaker regular (statistics from memory)",
            "time": time.perf_counter() - t,
            "reported": float(res.explained_variance_ratio.sum()),
            "captured": captured(X, mean, res.components),
        }
    )
    for solver in ("full", "covariance_eigh", "randomized"):
        t = time.perf_counter()
        peer = PCA(k, svd_solver=solver, random_state=0).fit(X)
        elapsed = time.perf_counter() - t
        results.append(
            {
                "method": f"scikit-learn PCA({solver})",
                "time": elapsed,
                "reported": float(peer.explained_variance_ratio_.sum()),
                "captured": captured(X, mean, peer.components_.T.astype(np.float64)),
            }
        )
        del peer
    return results


def _hwm_kib() -> int:
    """VmHWM (this process image's peak RSS) from /proc; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_child(folder: str, dim: int, k: int, mode: str) -> None:
    """Subprocess body: Pipe-mode train(), then print the peak RSS as JSON."""
    import openmaker.algorithms.pca.train  # noqa: F401  (imports before the baseline)

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    hp = {"feature_dim": dim, "num_components": k, "mini_batch_size": 500, "algorithm_mode": mode}
    run_train(Path(folder), hp, mode="Pipe", workdir=Path(folder).parent)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    info = {"base_kib": base, "peak_kib": peak, "hwm_kib": _hwm_kib()}
    print(json.dumps({**info, "time": time.perf_counter() - t}))


def write_child(folder: str, rows: int, dim: int) -> None:
    """Subprocess body: write ``rows`` x ``dim`` rows of RecordIO in chunks."""
    from openmaker.data import Dataset, DatasetWriter

    with DatasetWriter(str(Path(folder) / "part-0"), RECORDIO) as w:
        chunk = 250_000
        for i, lo in enumerate(range(0, rows, chunk)):
            w.write(Dataset(make_data(min(chunk, rows - lo), dim, seed=i), None))


def part2(args: argparse.Namespace, tmp: Path) -> list[dict]:
    out = []
    for rows in (args.pipe_rows, 10 * args.pipe_rows):
        folder = tmp / f"pipe{rows}"
        folder.mkdir()
        t = time.perf_counter()
        # written by a subprocess so that this process (whose ru_maxrss the training
        # subprocess inherits through fork + exec) stays small
        cmd = [
            sys.executable,
            __file__,
            "--write-child",
            str(folder),
            str(rows),
            str(args.pipe_dim),
        ]
        subprocess.run(cmd, check=True)
        size = (folder / "part-0").stat().st_size / 2**20
        written = time.perf_counter() - t
        for mode in ("regular", "randomized"):
            cmd = [sys.executable, __file__, "--rss-child", str(folder), str(args.pipe_dim), mode]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            info = json.loads(res.stdout.strip().splitlines()[-1])
            info.update(rows=rows, mode=mode, file_mib=size, write_time=written)
            out.append(info)
        for p in folder.iterdir():
            p.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--pipe-rows", type=int, default=1_000_000)
    parser.add_argument("--pipe-dim", type=int, default=20)
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]), 5, args.rss_child[2])
        return
    if args.write_child:
        write_child(args.write_child[0], int(args.write_child[1]), int(args.write_child[2]))
        return
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.system()}, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-pca-") as tmp:
        # Pipe-mode memory first, while this (parent) process is still small: Linux keeps
        # ru_maxrss across fork + exec, so a child of a large parent would report its size.
        rss = part2(args, Path(tmp))
        results = part1(args, Path(tmp))
    print(f"\nPCA {args.rows} x {args.dim}, num_components={args.k}")
    print(f"{'method':48s} {'time s':>8s} {'EVR reported':>13s} {'EVR captured':>13s}")
    for r in results:
        print(f"{r['method']:48s} {r['time']:8.2f} {r['reported']:13.6f} {r['captured']:13.6f}")
    ours = {r["method"].split()[1]: r for r in results if "File mode" in r["method"]}
    peers = {r["method"]: r for r in results if not r["method"].startswith("openmaker")}
    print("\nratios (openmaker / peer): time, captured explained variance")
    for mode, peer_names in (
        ("regular", ("scikit-learn PCA(full)", "scikit-learn PCA(covariance_eigh)")),
        ("randomized", ("scikit-learn PCA(randomized)", "scikit-learn PCA(full)")),
    ):
        for name in peer_names:
            o, p = ours[mode], peers[name]
            rel = o["captured"] / p["captured"] - 1
            print(
                f"  {mode:10s} vs {name:34s} time {o['time'] / p['time']:6.3f}x   "
                f"EVR diff {100 * rel:+.4f} %"
            )
    print(f"\nPipe mode peak RSS (train() in a fresh subprocess, {args.pipe_dim} features, k=5)")
    print(f"  {'rows':>10s} {'mode':>10s} {'file MiB':>9s} {'peak RSS MiB':>13s} "
          f"{'VmHWM MiB':>10s} {'after imports':>14s} {'train s':>8s}")  # fmt: skip
    for r in rss:
        print(
            f"  {r['rows']:>10d} {r['mode']:>10s} {r['file_mib']:9.0f} "
            f"{r['peak_kib'] / 1024:13.0f} {r['hwm_kib'] / 1024:10.0f} "
            f"{r['base_kib'] / 1024:14.0f} {r['time']:8.1f}"
        )
    for mode in ("regular", "randomized"):
        a, b = (r for r in rss if r["mode"] == mode)
        print(f"  {mode}: peak RSS at {b['rows']} rows / at {a['rows']} rows = "
              f"{b['peak_kib'] / a['peak_kib']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
