"""Automatic model tuning: Bayesian vs Random vs Grid, Hyperband vs Random, tuner overhead.

XGBoost on scikit-learn's bundled breast-cancer data set (569 rows, 30 features; a fixed
stratified 70/30 split), objective ``validation:logloss`` (minimise), 30 trials with 2 in
parallel, through the real service (detached supervisor, children through the local executor).

1. Best objective reached after 5/10/20/30 trials, averaged over seeds, for Bayesian (TPE),
   Random and Grid (5 x 3 x 2 = 30 combinations of eta, max_depth, subsample).
2. Hyperband vs Random with 1000 boosting rounds (the resource): total training time of the
   children (sum of TrainingStartTime -> TrainingEndTime) and the best objective reached.
3. The tuner's overhead per trial: time from a child's end to the next child's creation.

Run: ``.venv/bin/python benchmarks/bench_tuning.py [--seeds 5] [--hyperband-seeds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CHECKPOINTS = (5, 10, 20, 30)
RANGES_BAYES = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.6", "MaxValue": "1.0", "ScalingType": "Linear"},
        {
            "Name": "min_child_weight",
            "MinValue": "0.1",
            "MaxValue": "10",
            "ScalingType": "Logarithmic",
        },
    ],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
}
RANGES_GRID = {
    "CategoricalParameterRanges": [
        {"Name": "eta", "Values": ["0.01", "0.03", "0.1", "0.2", "0.5"]},
        {"Name": "max_depth", "Values": ["2", "4", "6"]},
        {"Name": "subsample", "Values": ["0.6", "1.0"]},
    ]
}
RANGES_LONG = {
    "ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.003", "MaxValue": "0.3", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.6", "MaxValue": "1.0", "ScalingType": "Linear"},
    ],
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
}


def write_data(folder: Path) -> dict[str, str]:
    """The fixed breast-cancer split as SageMaker CSV (label first, no header)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (Xs, ys) in {"train": (Xtr, ytr), "validation": (Xva, yva)}.items():
        path = folder / f"{name}.csv"
        np.savetxt(path, np.column_stack([ys, Xs]), delimiter=",", fmt="%.7g")
        paths[name] = str(path)
    return paths


def request(
    name: str,
    strategy: str,
    seed: int,
    data: dict[str, str],
    *,
    ranges: dict,
    num_round: int,
    hyperband: dict | None = None,
) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": 2}
    if strategy != "Grid":
        limits["MaxNumberOfTrainingJobs"] = 30
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {
            "Type": "Minimize",
            "MetricName": "validation:logloss",
        },
        "ResourceLimits": limits,
        "ParameterRanges": ranges,
        "RandomSeed": seed,
    }
    if hyperband:
        config["StrategyConfig"] = {"HyperbandStrategyConfig": hyperband}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
            "StaticHyperParameters": {
                "num_round": str(num_round),
                "objective": "binary:logistic",
                "seed": "0",
                "nthread": "1",
            },
            "InputDataConfig": [
                {
                    "ChannelName": ch,
                    "ContentType": "text/csv",
                    "DataSource": {"S3DataSource": {"S3Uri": uri}},
                }
                for ch, uri in data.items()
            ],
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def run(req: dict[str, Any]) -> dict[str, Any]:
    """Run one tuning job to its end; return per-child facts in creation order."""
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    started = time.monotonic()
    rec = service.create(req)
    final = service.wait(rec.name, poll=0.5)
    wall = time.monotonic() - started
    settings = service.settings_of(rec.name)
    children = service.children(rec.name)
    rows = []
    for c in children:
        value = next((p.value for p in c.final_metrics if p.name == settings.objective_name), None)
        rounds = len(service.store.training_jobs.metric_series(c.name, settings.objective_name))
        rows.append(
            {
                "rounds": rounds,
                "name": c.name,
                "status": c.status,
                "value": value,
                "created": c.creation_time.timestamp(),
                "start": c.training_start_time.timestamp() if c.training_start_time else None,
                "end": c.training_end_time.timestamp() if c.training_end_time else None,
            }
        )
    return {"status": final.status, "wall": wall, "children": rows}


def best_after(children: list[dict[str, Any]], n: int) -> float:
    values = [c["value"] for c in children[:n] if c["value"] is not None]
    return min(values) if values else float("nan")


def overhead_gaps(children: list[dict[str, Any]], parallel: int = 2) -> list[float]:
    """Seconds from the end that freed a slot to the creation of the child that took it."""
    ends = sorted(c["end"] for c in children if c["end"] is not None)
    gaps = []
    for i, child in enumerate(children[parallel:]):
        if i < len(ends):
            gaps.append(child["created"] - ends[i])
    return gaps


def training_seconds(children: list[dict[str, Any]]) -> float:
    return sum(c["end"] - c["start"] for c in children if c["start"] and c["end"])


def seconds_to_reach(children: list[dict[str, Any]], threshold: float) -> float:
    """Children's training seconds (in order of ending) until the best is <= ``threshold``."""
    spent = 0.0
    for c in sorted((c for c in children if c["end"]), key=lambda c: c["end"]):
        spent += c["end"] - c["start"]
        if c["value"] is not None and c["value"] <= threshold:
            return spent
    return float("nan")


def hyperband_table(raw: dict[str, list[dict[str, Any]]]) -> None:
    """Hyperband vs Random: training time, rounds, and time to the same best objective."""
    hb, rnd = raw["Hyperband-long"], raw["Random-long"]
    print(
        "| seed | strategy | best logloss | training s | rounds trained | stopped "
        "| training s to reach the worse of the two bests |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed, (h, r) in enumerate(zip(hb, rnd, strict=True)):
        common = max(best_after(h["children"], 30), best_after(r["children"], 30))
        for label, run_ in (("Hyperband", h), ("Random", r)):
            ch = run_["children"]
            rounds = sum(c.get("rounds", 0) for c in ch)
            stopped = sum(c["status"] == "Stopped" for c in ch)
            print(
                f"| {seed} | {label} | {best_after(ch, 30):.5f} | {training_seconds(ch):.1f} "
                f"| {rounds} | {stopped} | {seconds_to_reach(ch, common):.1f} |"
            )


def strategy_table(raw: dict[str, list[dict[str, Any]]], seeds: int) -> None:
    """Best objective after N trials per strategy, and how often Bayesian beat Random."""
    print("\n## Best validation:logloss after N trials (mean over seeds; lower is better)")
    print("| strategy | " + " | ".join(f"{n} trials" for n in CHECKPOINTS) + " |")
    print("|---|" + "---|" * len(CHECKPOINTS))
    for strategy in ("Bayesian", "Random", "Grid"):
        runs = raw[strategy]
        cells = [statistics.mean(best_after(r["children"], n) for r in runs) for n in CHECKPOINTS]
        print(f"| {strategy} | " + " | ".join(f"{c:.5f}" for c in cells) + " |")
    wins = sum(
        best_after(b["children"], 30) < best_after(r["children"], 30)
        for b, r in zip(raw["Bayesian"], raw["Random"], strict=True)
    )
    print(f"Bayesian better than Random at 30 trials on {wins} of {seeds} seeds")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hyperband-seeds", type=int, default=3)
    parser.add_argument("--out", default=None, help="Write the raw results as JSON here.")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    os.environ["OPENMAKER_HOME"] = str(root / "home")
    os.environ.pop("OPENMAKER_DATABASE_URL", None)
    data = write_data(root / "data")
    raw: dict[str, list[dict[str, Any]]] = {}

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
    for seed in range(args.seeds):
        for strategy in ("Bayesian", "Random", "Grid"):
            ranges = RANGES_GRID if strategy == "Grid" else RANGES_BAYES
            req = request(
                f"{strategy[:4].lower()}-s{seed}", strategy, seed, data, ranges=ranges, num_round=50
            )
            result = run(req)
            raw.setdefault(strategy, []).append(result)
            print(
                f"{strategy:9s} seed {seed}: {result['status']} in {result['wall']:.0f}s, best "
                f"{best_after(result['children'], 30):.5f}",
                flush=True,
            )
    for seed in range(args.hyperband_seeds):
        for strategy in ("Hyperband", "Random"):
            req = request(
                f"{strategy[:4].lower()}-long-s{seed}",
                strategy,
                seed,
                data,
                ranges=RANGES_LONG,
                num_round=1000,
                hyperband={"MinResource": 30, "MaxResource": 1000}
                if strategy == "Hyperband"
                else None,
            )
            result = run(req)
            raw.setdefault(f"{strategy}-long", []).append(result)
            print(
                f"{strategy:9s} long seed {seed}: {result['status']} in {result['wall']:.0f}s, "
                f"train {training_seconds(result['children']):.1f}s, best "
                f"{best_after(result['children'], 30):.5f}",
                flush=True,
            )

    if args.seeds:
        strategy_table(raw, args.seeds)
    if args.hyperband_seeds:
        print("\n## Hyperband vs Random, 1000 rounds, per seed")
        hyperband_table(raw)
        print("\n## Hyperband vs Random, 1000 rounds (mean over seeds)")
        print(
            "| strategy | children's training time (s) | wall time (s) | best logloss | stopped |"
        )
        print("|---|---|---|---|---|")
        for strategy in ("Hyperband-long", "Random-long"):
            runs = raw[strategy]
            print(
                f"| {strategy.split('-')[0]} "
                f"| {statistics.mean(training_seconds(r['children']) for r in runs):.1f} "
                f"| {statistics.mean(r['wall'] for r in runs):.1f} "
                f"| {statistics.mean(best_after(r['children'], 30) for r in runs):.5f} "
                f"| {statistics.mean(sum(c['status'] == 'Stopped' for c in r['children']) for r in runs):.1f} |"  # noqa: E501
            )

    gaps = [g for runs in raw.values() for r in runs for g in overhead_gaps(r["children"])]
    gaps.sort()
    print("\n## Tuner overhead per trial (child end -> next child created)")
    print(
        f"n={len(gaps)} median {statistics.median(gaps):.3f}s mean {statistics.mean(gaps):.3f}s "
        f"p90 {gaps[int(0.9 * (len(gaps) - 1))]:.3f}s max {gaps[-1]:.3f}s"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(raw, indent=1))
    sys.exit(0)


if __name__ == "__main__":
    main()
