"""Training overhead: a whole openmaker XGBoost job vs calling XGBoost directly.

Both sides start from the same CSV files on disk (SageMaker layout: label first, no header),
use the same parameters (hist, max_depth 6, eta 0.3, eval_metric auc) and evaluate the metric
on train and validation every round, as SageMaker's container does (its watchlist). Two peers:

* in-process: ``pandas.read_csv(engine="pyarrow")`` + ``DMatrix`` + ``xgboost.train`` in this
  process, pandas and xgboost already imported (timed: read to trained model);
* fresh process: ``python peer.py`` doing the same, imports included (what a user who runs a
  training script pays).

openmaker runs a full training job (job record, supervisor and algorithm processes, our CSV
reader, training, metric parsing, ``model.tar.gz`` packing and upload), timed three ways: the
``Estimator.fit`` call in this process (openmaker already imported) as the *first* job of the
process (no standby: both processes start cold) and as a *next* job (handed to the standby the
previous job left, :mod:`openmaker.executors.standby`), both against the in-process peer; and
a fresh ``python -c "import openmaker; Estimator(...).fit(...)"`` against the fresh peer.
Runs alternate (ours, peer, ours, ...); before each timed run the machine is let settle (the
standby's start is over: no process of ours uses the CPU), so no run pays for another's
processes. The median of ``--repeat`` runs is reported.

    python benchmarks/bench_xgboost_overhead.py --rows 1000000 --features 50
    python benchmarks/bench_xgboost_overhead.py --sweep            # 1k (10 rounds), 1k ... 1M
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.3,
    "eval_metric": "auc",
}

PEER_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
import xgboost as xgb
train, val, params, rounds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
tr = pd.read_csv(train, header=None, engine="pyarrow")
va = pd.read_csv(val, header=None, engine="pyarrow")
dtrain = xgb.DMatrix(tr.iloc[:, 1:].to_numpy("float32"), label=tr.iloc[:, 0].to_numpy())
dval = xgb.DMatrix(va.iloc[:, 1:].to_numpy("float32"), label=va.iloc[:, 0].to_numpy())
evals = {}
booster = xgb.train(params, dtrain, rounds, evals=[(dtrain, "train"), (dval, "validation")],
                    evals_result=evals, verbose_eval=False)
booster.save_model(sys.argv[5])
print(json.dumps({"auc": evals["validation"]["auc"][-1]}))
"""

OURS_SCRIPT = """
import json, sys
from openmaker import Estimator
train, val, hp = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
job = Estimator("xgboost", hp).fit({"train": train, "validation": val}, content_type="text/csv")
print(json.dumps({"auc": job.final_metrics()["validation:auc"]}))
"""


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


def peer_in_process(train: Path, val: Path, rounds: int) -> tuple[float, float]:
    import pandas as pd
    import xgboost as xgb

    params = {**PARAMS, "nthread": os.cpu_count()}
    t0 = time.perf_counter()
    tr = pd.read_csv(train, header=None, engine="pyarrow")
    va = pd.read_csv(val, header=None, engine="pyarrow")
    dtrain = xgb.DMatrix(tr.iloc[:, 1:].to_numpy("float32"), label=tr.iloc[:, 0].to_numpy())
    dval = xgb.DMatrix(va.iloc[:, 1:].to_numpy("float32"), label=va.iloc[:, 0].to_numpy())
    evals: dict = {}
    xgb.train(
        params,
        dtrain,
        rounds,
        evals=[(dtrain, "train"), (dval, "validation")],
        evals_result=evals,
        verbose_eval=False,
    )
    return time.perf_counter() - t0, evals["validation"]["auc"][-1]


def hyperparameters(rounds: int) -> dict[str, str]:
    return {**{k: str(v) for k, v in PARAMS.items()}, "num_round": str(rounds)}


def ours_in_process(train: Path, val: Path, rounds: int) -> tuple[float, float]:
    from openmaker import Estimator

    t0 = time.perf_counter()
    job = Estimator("xgboost", hyperparameters(rounds)).fit(
        {"train": str(train), "validation": str(val)}, content_type="text/csv"
    )
    return time.perf_counter() - t0, job.final_metrics()["validation:auc"]


def ours_first_job(train: Path, val: Path, rounds: int) -> tuple[float, float]:
    """The process's first job: no standby waits for it."""
    from openmaker.executors.standby import standby_pool

    standby_pool().close()
    return ours_in_process(train, val, rounds)


def settle(timeout: float = 30.0) -> None:
    """Wait until the standby the last job left (if any) has done its imports and is idle."""
    import psutil

    from openmaker.executors.standby import standby_pool

    deadline = time.monotonic() + timeout
    time.sleep(0.2)  # the supervisor's exit, then the standby's start
    last = -1.0
    while time.monotonic() < deadline:
        used, warming = 0.0, False
        for proc in standby_pool().standbys():
            try:
                tree = [psutil.Process(proc.pid)]
                tree += tree[0].children(recursive=True)
                used += sum(sum(p.cpu_times()[:2]) for p in tree)
                warming = warming or len(tree) < 2  # its warm algorithm process not started yet
            except psutil.NoSuchProcess:
                continue
        if used == last and not warming:
            return
        last = used
        time.sleep(0.25)


def fresh(script: str, *args: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    env = dict(os.environ, OPENMAKER_STANDBY_SECONDS="0")  # a one-shot process: none to keep
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True, env=env
    ).stdout
    return time.perf_counter() - t0, json.loads(out.strip().splitlines()[-1])["auc"]


def measure(tmp: Path, rows: int, features: int, rounds: int, repeat: int) -> dict:
    train, val = tmp / f"train-{rows}.csv", tmp / f"validation-{rows}.csv"
    make_data(train, rows, features, seed=1)
    make_data(val, max(rows // 10, 1000), features, seed=2)
    keys = ("peer", "ours_first", "ours", "peer_fresh", "ours_fresh")
    times: dict[str, list[float]] = {k: [] for k in keys}
    aucs: dict[str, float] = {}
    params = json.dumps({**PARAMS, "nthread": os.cpu_count()})
    for _ in range(repeat):
        for key, run in (
            ("ours_first", lambda: ours_first_job(train, val, rounds)),
            ("ours", lambda: ours_in_process(train, val, rounds)),
            ("peer", lambda: peer_in_process(train, val, rounds)),
            (
                "ours_fresh",
                lambda: fresh(
                    OURS_SCRIPT, str(train), str(val), json.dumps(hyperparameters(rounds))
                ),
            ),
            (
                "peer_fresh",
                lambda: fresh(
                    PEER_SCRIPT, str(train), str(val), params, str(rounds), str(tmp / "m.json")
                ),
            ),
        ):
            settle()
            seconds, auc = run()
            times[key].append(seconds)
            aucs[key] = auc
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "rows": rows,
        "features": features,
        "rounds": rounds,
        "train_csv_mb": round(train.stat().st_size / 1e6, 1),
        "peer_in_process_s": round(med["peer"], 2),
        "openmaker_first_job_s": round(med["ours_first"], 2),
        "ratio_first_job": round(med["ours_first"] / med["peer"], 3),
        "openmaker_fit_s": round(med["ours"], 2),
        "ratio_in_process": round(med["ours"] / med["peer"], 3),
        "peer_fresh_process_s": round(med["peer_fresh"], 2),
        "openmaker_fresh_process_s": round(med["ours_fresh"], 2),
        "ratio_fresh_process": round(med["ours_fresh"] / med["peer_fresh"], 3),
        "validation_auc_peer": round(aucs["peer"], 5),
        "validation_auc_openmaker": round(aucs["ours"], 5),
        "runs": {k: [round(x, 2) for x in v] for k, v in times.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--sweep", action="store_true", help="1k rows x 10 rounds, then 1k-1M rows x --rounds"
    )
    args = ap.parse_args()
    cases = [(args.rows, args.rounds)]
    if args.sweep:
        cases = [(1000, 10)] + [
            (n, args.rounds) for n in (1000, 10_000, 100_000, 300_000, 1_000_000)
        ]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENMAKER_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("OPENMAKER_STANDBY_SECONDS", "600")
        for rows, rounds in cases:
            result = measure(Path(tmp), rows, args.features, rounds, args.repeat)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
