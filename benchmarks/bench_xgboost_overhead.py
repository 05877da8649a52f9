"""Training overhead: a whole openmaker XGBoost job vs calling ``xgboost.train`` directly.

The peer evaluates the metric on train and validation every round, as SageMaker's container
does (its watchlist), so both sides do the same work; a validation-only peer is reported too.
Both sides start from the same CSV file on disk (SageMaker layout: label first, no header) and
use the same parameters (hist, 100 rounds). The peer loads the CSV with pandas' fastest reader
(``engine="pyarrow"``), builds a DMatrix and trains. openmaker runs a full training job: job
record, supervisor and algorithm subprocesses, our CSV reader, training, metric parsing,
``model.tar.gz`` packing and upload. Reported: wall time of each, the ratio, and the
validation AUC of both models (same quality expected).

    python benchmarks/bench_xgboost_overhead.py --rows 1000000 --features 50
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def make_data(path: Path, rows: int, features: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    chunk = 200_000
    w = rng.normal(size=features)
    with open(path, "w") as f:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            X = rng.normal(size=(n, features)).astype("float32")
            y = ((X @ w + rng.normal(size=n)) > 0).astype("float32")
            np.savetxt(f, np.column_stack([y, X]), delimiter=",", fmt="%.6g")


def peer(
    train: Path, val: Path, params: dict, rounds: int, *, watch_train: bool
) -> tuple[float, float]:
    import pandas as pd
    import xgboost as xgb

    t0 = time.perf_counter()
    tr = pd.read_csv(train, header=None, engine="pyarrow")
    va = pd.read_csv(val, header=None, engine="pyarrow")
    dtrain = xgb.DMatrix(tr.iloc[:, 1:].to_numpy("float32"), label=tr.iloc[:, 0].to_numpy())
    dval = xgb.DMatrix(va.iloc[:, 1:].to_numpy("float32"), label=va.iloc[:, 0].to_numpy())
    evals: dict = {}
    watchlist = [(dtrain, "train"), (dval, "validation")] if watch_train else [(dval, "validation")]
    xgb.train(params, dtrain, rounds, evals=watchlist, evals_result=evals, verbose_eval=False)
    return time.perf_counter() - t0, evals["validation"]["auc"][-1]


def ours(train: Path, val: Path, params: dict, rounds: int) -> tuple[float, float]:
    from openmaker import Estimator

    hp = {k: str(v) for k, v in params.items() if k not in ("nthread",)}
    hp["num_round"] = str(rounds)
    t0 = time.perf_counter()
    job = Estimator("xgboost", hp).fit(
        {"train": str(train), "validation": str(val)}, content_type="text/csv"
    )
    elapsed = time.perf_counter() - t0
    return elapsed, job.final_metrics()["validation:auc"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 6,
        "eta": 0.3,
        "eval_metric": "auc",
        "nthread": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENMAKER_HOME"] = str(Path(tmp) / "home")
        train, val = Path(tmp) / "train.csv", Path(tmp) / "validation.csv"
        make_data(train, args.rows, args.features, seed=1)
        make_data(val, max(args.rows // 10, 1000), args.features, seed=2)
        mb = train.stat().st_size / 1e6
        # SageMaker's container evaluates the metrics on train AND validation every round
        # (its watchlist); the same work done directly is the fair peer. The validation-only
        # call is shown too: it is what a user who skips train metrics would time.
        peer_s, peer_auc = peer(train, val, params, args.rounds, watch_train=True)
        light_s, _ = peer(train, val, params, args.rounds, watch_train=False)
        our_s, our_auc = ours(train, val, params, args.rounds)
    result = {
        "rows": args.rows,
        "features": args.features,
        "rounds": args.rounds,
        "train_csv_mb": round(mb, 1),
        "xgboost_train_s (train+validation watchlist)": round(peer_s, 2),
        "xgboost_train_s (validation only)": round(light_s, 2),
        "openmaker_job_s": round(our_s, 2),
        "ratio": round(our_s / peer_s, 3),
        "ratio_vs_validation_only": round(our_s / light_s, 3),
        "xgboost_validation_auc": round(peer_auc, 5),
        "openmaker_validation_auc": round(our_auc, 5),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
