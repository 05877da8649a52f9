"""Pipe-mode memory: peak RSS while streaming CSVs of two sizes, 10x apart.

Writes ``--rows`` and ``10 * --rows`` rows x ``--cols`` float32 CSVs, then for each one starts
a fresh Python process that imports openmaker, warms up, records its RSS, streams the file with
``iter_batches(batch_size=10_000)`` while a thread samples RSS (psutil, every 2 ms), and reports
the peak RSS growth over that baseline, plus the process's ``ru_maxrss``. If memory is bounded
by the batch, both peaks are about the same.

    python benchmarks/bench_pipe_memory.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = r"""
import json, resource, sys, threading, time
import psutil
from openmaker.data import iter_batches
path, batch = sys.argv[1], int(sys.argv[2])
for _ in iter_batches([path], "text/csv", batch_size=10):
    break
proc = psutil.Process()
rss0 = proc.memory_info().rss
peak = [rss0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.002)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t0 = time.perf_counter()
rows = 0
for b in iter_batches([path], "text/csv", batch_size=batch):
    rows += b.n_rows
secs = time.perf_counter() - t0
done.set()
sampler.join()
peak[0] = max(peak[0], proc.memory_info().rss)
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"rows": rows, "baseline_rss": rss0, "peak_growth": peak[0] - rss0,
                  "ru_maxrss": maxrss, "seconds": secs}))
"""


def _write_csv(path: str, rows: int, cols: int) -> None:
    from openmaker.data import Dataset, DatasetWriter

    rng = np.random.default_rng(0)
    chunk = 100_000
    with DatasetWriter(path, "text/csv") as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            X = rng.standard_normal((n, cols)).astype(np.float32)
            writer.write(Dataset(X=X, y=rng.integers(0, 2, n).astype(np.float32)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print(f"batch_size={args.batch_size}, {args.cols} feature columns + label")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (args.rows, 10 * args.rows):
            path = os.path.join(tmp, f"data_{rows}.csv")
            t0 = time.perf_counter()
            _write_csv(path, rows, args.cols)
            mb = os.path.getsize(path) / 1e6
            out = subprocess.run(
                [sys.executable, "-c", CHILD, path, str(args.batch_size)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            res = json.loads(out.strip().splitlines()[-1])
            res.update(file_mb=mb, write_s=time.perf_counter() - t0)
            results.append(res)
            print(
                f"{rows:>10} rows  file {mb:8.1f} MB  streamed in {res['seconds']:6.2f} s  "
                f"baseline RSS {res['baseline_rss'] / 1e6:7.1f} MB  "
                f"peak RSS growth {res['peak_growth'] / 1e6:7.1f} MB  "
                f"ru_maxrss {res['ru_maxrss'] / 1e6:7.1f} MB"
            )
    small, large = results
    print(
        f"data grew {large['file_mb'] / small['file_mb']:.1f}x, peak RSS growth "
        f"{small['peak_growth'] / 1e6:.1f} MB -> {large['peak_growth'] / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
