"""Multi-host training: the same job on 1 and 2 hosts (wall time, speed-up, model equality).

Run: ``.venv/bin/python benchmarks/bench_distributed.py [--rows 200000] [--ray ADDRESS]``

For XGBoost, PCA, K-Means and Linear Learner, one run trains the same CSV data (8 part files)
as a whole training job through :class:`~openmaker.jobs.service.TrainingJobService`:

* 1 host (``InstanceCount`` 1), the reference;
* 2 hosts on the ``local`` executor (``ShardedByS3Key``: each host reads 4 files);
* with ``--ray ADDRESS``: 2 hosts on that Ray cluster (``RAY_ADDRESS``; instance type
  ``ml.m5.large`` mapped to 1 CPU);
* for XGBoost, the peer: plain ``xgboost.train`` on 2 worker processes joined by XGBoost's own
  ``RabitTracker`` on the same files (what a hand-written distributed job costs).

Printed per run: the job's wall time (create -> terminal), its training time (TrainingStartTime
-> TrainingEndTime: reading the data, training, the collective), the speed-up over one host, and
how equal the models are (XGBoost: mean |probability difference|, share of equal classes and
the final train logloss; PCA: max
|component difference|; K-Means: test msd ratio; Linear Learner: validation AUC difference).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARDED, REPLICATED = "ShardedByS3Key", "FullyReplicated"


def write_parts(folder: Path, rows: np.ndarray, parts: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(rows, parts)):
        np.savetxt(folder / f"part-{i}.csv", chunk, delimiter=",", fmt="%.6g")
    return folder


def request(name: str, algo: str, hp: dict[str, str], channels: dict, count: int) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": algo, "TrainingInputMode": "File"},
        "HyperParameters": hp,
        "InputDataConfig": [
            {
                "ChannelName": ch,
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3Uri": str(uri), "S3DataDistributionType": d}},
            }
            for ch, (uri, d) in channels.items()
        ],
        "ResourceConfig": {"InstanceCount": count, "InstanceType": "ml.m5.large"},
    }


def run_job(service: Any, req: dict) -> tuple[Any, float]:
    start = time.perf_counter()
    service.create(req)
    rec = service.wait(req["TrainingJobName"], timeout=3600)
    wall = time.perf_counter() - start
    if rec.status != "Completed":
        raise SystemExit(f"{rec.name}: {rec.status} {rec.failure_reason}")
    return rec, wall


def train_seconds(rec: Any) -> float:
    return (rec.training_end_time - rec.training_start_time).total_seconds()


def arrays(model_data: str, dest: Path) -> dict[str, np.ndarray]:
    from openmaker.algorithms.common import load_model_arrays

    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(model_data) as tar:
        tar.extractall(dest, filter="data")
    return load_model_arrays(dest)[0]


def logloss(rec: Any) -> float:
    return {m.name: m.value for m in rec.final_metrics}["train:logloss"]


def xgb_predict(model_data: str, X: np.ndarray) -> np.ndarray:
    from openmaker import load_model

    body = "\n".join(",".join(f"{v:.6g}" for v in row) for row in X).encode()
    out, _ = load_model(model_data).predict(body, "text/csv", "application/json")
    return np.array([p["score"] for p in json.loads(out)["predictions"]])


PEER = r"""
import sys, glob, json, numpy as np, xgboost as xgb, pandas as pd
rank, args, files = int(sys.argv[1]), json.loads(sys.argv[2]), sorted(glob.glob(sys.argv[3]))
mine = files[rank::2]
data = np.concatenate([pd.read_csv(f, header=None, engine="pyarrow").to_numpy() for f in mine])
args["dmlc_task_id"] = str(rank)
with xgb.collective.CommunicatorContext(**args):
    d = xgb.DMatrix(data[:, 1:], label=data[:, 0], nthread=1)
    xgb.train({"max_depth": 6, "eta": 0.3, "nthread": 1, "tree_method": "hist"}, d,
              int(sys.argv[4]), evals=[(d, "train")], verbose_eval=False)
"""


def xgboost_peer(folder: Path, rounds: int) -> float:
    """Plain xgboost on 2 processes with its RabitTracker (the hand-written equivalent)."""
    from xgboost.tracker import RabitTracker

    start = time.perf_counter()
    tracker = RabitTracker(n_workers=2, host_ip="127.0.0.1", sortby="task")
    tracker.start()
    args = json.dumps(tracker.worker_args())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PEER, str(r), args, str(folder / "*.csv"), str(rounds)]
        )
        for r in range(2)
    ]
    for p in procs:
        p.wait()
    tracker.wait_for(60)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--ray", default=None, help="RAY_ADDRESS of a cluster for 2 Ray hosts.")
    ap.add_argument("--only", default=None, help="Comma-separated: xgboost,pca,kmeans,ll.")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    os.environ["OPENMAKER_HOME"] = str(tmp / "home")
    os.environ.setdefault("OPENMAKER_RAY_INSTANCE_TYPES", '{"ml.m5.large": {"cpus": 1}}')
    from openmaker.executors.local import LocalExecutor
    from openmaker.jobs.service import TrainingJobService

    services = {"local": TrainingJobService(executor=LocalExecutor())}
    if a.ray:
        from openmaker.executors.ray import RayExecutor

        os.environ["RAY_ADDRESS"] = a.ray
        services["ray"] = TrainingJobService(executor=RayExecutor(a.ray))

    rng = np.random.default_rng(0)
    n = a.rows
    only = set((a.only or "xgboost,pca,kmeans,ll").split(","))
    rows_out: list[tuple[str, str, float, float, float, str]] = []

    def compare(algo: str, hp: dict, channels: dict, equal: Any) -> None:
        runs = [("1 host", "local", 1, REPLICATED), ("2 hosts, local", "local", 2, SHARDED)]
        if a.ray:
            runs.append(("2 hosts, Ray", "ray", 2, SHARDED))
        first: Any = None
        for label, where, count, dist in runs:
            chans = {
                ch: (uri, dist if ch == "train" else REPLICATED) for ch, uri in channels.items()
            }
            name = f"{algo}-{count}-{where}".replace("linear-learner", "ll")
            rec, wall = run_job(services[where], request(name, algo, hp, chans, count))
            secs = train_seconds(rec)
            first = first or rec
            note = "reference" if count == 1 else equal(first, rec)
            speed = train_seconds(first) / secs
            rows_out.append((algo, label, wall, secs, speed, note))
            print(f"{algo:15s} {label:15s} wall {wall:7.2f} s  train {secs:7.2f} s  "
                  f"speed-up {speed:5.2f}  {note}", flush=True)  # fmt: skip

    if "xgboost" in only:
        X = rng.normal(size=(n, 30)).astype(np.float32)
        y = (X[:, :5].sum(1) + 0.5 * rng.normal(size=n) > 0).astype(np.float32)
        folder = write_parts(tmp / "xgb", np.column_stack([y, X]), 8)
        probe = X[:2000]

        def xgb_equal(one: Any, two: Any) -> str:
            p1 = xgb_predict(one.model_artifacts, probe)
            p2 = xgb_predict(two.model_artifacts, probe)
            same = float(np.mean((p1 > 0.5) == (p2 > 0.5)))
            return (
                f"mean |prob diff| {np.abs(p1 - p2).mean():.4f}, same class {100 * same:.1f} %, "
                f"train logloss {logloss(one):.5f} vs {logloss(two):.5f}"
            )

        hp = {"num_round": "60", "max_depth": "6", "objective": "binary:logistic"}
        compare("xgboost", hp, {"train": folder}, xgb_equal)
        peer = xgboost_peer(folder, 60)
        print(f"{'xgboost':15s} {'peer: 2 procs':15s} wall {peer:7.2f} s (xgboost + RabitTracker)")
        rows_out.append(
            ("xgboost", "peer: xgboost 2 processes + RabitTracker", peer, peer, 0.0, "")
        )

    if "pca" in only:
        X = rng.normal(size=(n, 60)) @ rng.normal(size=(60, 60))
        folder = write_parts(tmp / "pca", X.astype(np.float32), 8)

        def pca_equal(one: Any, two: Any) -> str:
            a1 = arrays(one.model_artifacts, tmp / "m1" / two.name)
            a2 = arrays(two.model_artifacts, tmp / "m2" / two.name)
            dv = np.abs(np.abs(a1["v"]) - np.abs(a2["v"])).max()
            ds = np.abs(a1["s"] - a2["s"]).max() / a1["s"].max()
            return f"max |component diff| = {dv:.1e}, singular values rel diff {ds:.1e}"

        hp = {"feature_dim": "60", "num_components": "10", "mini_batch_size": "1000"}
        compare("pca", hp, {"train": folder}, pca_equal)

    if "kmeans" in only:
        centres = rng.normal(size=(10, 20)) * 4
        X = centres[rng.integers(0, 10, n)] + rng.normal(size=(n, 20))
        folder = write_parts(tmp / "km", X.astype(np.float32), 8)
        test = write_parts(tmp / "kmt", X[:20000].astype(np.float32), 1)

        def km_equal(one: Any, two: Any) -> str:
            m1 = {m.name: m.value for m in one.final_metrics}["test:msd"]
            m2 = {m.name: m.value for m in two.final_metrics}["test:msd"]
            return f"test msd ratio 2 hosts / 1 host = {m2 / m1:.4f}"

        hp = {"feature_dim": "20", "k": "10", "mini_batch_size": "5000", "epochs": "2"}
        compare("kmeans", hp, {"train": folder, "test": test}, km_equal)

    if "ll" in only:
        X = rng.normal(size=(n, 30)).astype(np.float32)
        y = (X @ rng.normal(size=30) + rng.normal(size=n) > 0).astype(np.float32)
        folder = write_parts(tmp / "ll", np.column_stack([y, X]), 8)
        val = write_parts(tmp / "llv", np.column_stack([y, X])[:20000], 1)

        def ll_equal(one: Any, two: Any) -> str:
            a1 = {m.name: m.value for m in one.final_metrics}["validation:roc_auc_score"]
            a2 = {m.name: m.value for m in two.final_metrics}["validation:roc_auc_score"]
            return f"validation AUC {a1:.4f} vs {a2:.4f}"

        hp = {
            "predictor_type": "binary_classifier",
            "feature_dim": "30",
            "mini_batch_size": "1000",
            "epochs": "3",
        }
        compare("linear-learner", hp, {"train": folder, "validation": val}, ll_equal)

    print("\n| algorithm | run | wall time | training time | speed-up | model equality |")
    print("|---|---|---|---|---|---|")
    for algo, label, wall, secs, speed, note in rows_out:
        sp = f"{speed:.2f}x" if speed else ""
        print(f"| {algo} | {label} | {wall:.2f} s | {secs:.2f} s | {sp} | {note} |")


if __name__ == "__main__":
    main()
