"""Batch transform rows/s on a 1M-row CSV vs. in-process predict on the same data.

Run: ``.venv/bin/python benchmarks/bench_transform.py [--rows 1000000] [--workers 2]``

Same model (XGBoost, 50 trees of depth 6, 10 features), same file:

* in-process: read the file in 6 MB blocks cut at newlines and call ``model.predict`` on each,
  in this process (parsing and prediction, no job machinery);
* transform: a ``TransformJob`` (SplitType Line, MultiRecord, MaxPayloadInMB 6,
  AssembleWith Line, ``MaxConcurrentTransforms`` = ``--workers``), timed from CreateTransformJob
  to ``Completed`` (supervisor start-up, model loads and the output write included).

Prints rows/s of both and their ratio (target >= 0.8 with 2 workers on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np


def make_model(folder: Path) -> str:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 10)).astype("float32")
    y = X @ rng.normal(size=10) + rng.normal(size=5000)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 6}, xgb.DMatrix(X, y), 50)
    booster.save_model(str(folder / "xgboost-model.ubj"))
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(folder / "xgboost-model.ubj", arcname="xgboost-model")
    return str(folder / "model.tar.gz")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-transform-"))
    os.environ["OPENMAKER_HOME"] = str(tmp / "home")
    uri = make_model(tmp)
    data = tmp / "in" / "data.csv"
    data.parent.mkdir()
    X = np.random.default_rng(1).normal(size=(args.rows, 10))
    np.savetxt(data, X, delimiter=",", fmt="%.4f")
    print(f"{args.rows} rows, {data.stat().st_size / 1e6:.1f} MB, {os.cpu_count()} CPUs")

    from openmaker.serving import load_model

    model = load_model(uri)
    block = 6 * 1024 * 1024
    t0 = time.perf_counter()
    n_out = 0
    with open(data, "rb") as f:
        carry = b""
        while True:
            chunk = f.read(block - len(carry))
            buf = carry + chunk
            if not chunk:
                if buf.strip():
                    n_out += model.predict(buf, "text/csv")[0].count(b"\n") + 1
                break
            cut = buf.rfind(b"\n") + 1
            body, carry = buf[:cut], buf[cut:]
            n_out += model.predict(body, "text/csv")[0].count(b"\n") + 1
    inproc = time.perf_counter() - t0
    assert n_out == args.rows, n_out

    from openmaker.hosting.models import ModelService
    from openmaker.transform.service import TransformJobService

    ModelService().create(
        {"ModelName": "bench", "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": uri}}
    )
    service = TransformJobService()
    t0 = time.perf_counter()
    service.create({
        "TransformJobName": "bench", "ModelName": "bench",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": str(data)}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": str(tmp / "out"), "AssembleWith": "Line"},
        "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 6,
        "MaxConcurrentTransforms": args.workers,
    })  # fmt: skip
    rec = service.wait("bench", poll=0.05)
    job = time.perf_counter() - t0
    assert rec.status == "Completed", rec.failure_reason
    with open(tmp / "out" / "data.csv.out", "rb") as f:
        lines = sum(1 for _ in f)
    assert lines == args.rows, lines
    print(f"in-process predict: {args.rows / inproc:10.0f} rows/s ({inproc:.2f} s)")
    print(f"transform job ({args.workers} workers): {args.rows / job:10.0f} rows/s ({job:.2f} s)")
    steady = (rec.transform_end_time - rec.transform_start_time).total_seconds()
    print(f"ratio transform / in-process: {inproc / job:.2f}")
    print(
        f"  of which the supervisor's own run (TransformStartTime..EndTime): {steady:.2f} s "
        f"-> {args.rows / steady:.0f} rows/s, ratio {inproc / steady:.2f}; the rest is "
        "process start-up and polling"
    )
    shutil.rmtree(tmp, ignore_errors=True)  # ~170 MB of input and output


if __name__ == "__main__":
    main()
