"""Tiny generated learning problems for conformance checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Problem:
    """A train / validation split of generated data."""

    kind: str
    X_train: np.ndarray
    y_train: np.ndarray | None
    X_val: np.ndarray
    y_val: np.ndarray | None


def make_entity_ip(n: int = 240, seed: int = 0) -> Problem:
    """``entity_ip``: (entity id, IPv4) string pairs, as IP Insights reads them.

    Each of ``n // 12`` entities logs in from its own /24 subnet; ``X`` is an object array of
    shape (n, 2), ``y`` is None.
    """
    rng = np.random.default_rng(seed)
    n_entities = max(2, n // 12)
    subnets = rng.integers(1, 224, size=(n_entities, 3))
    who = rng.integers(0, n_entities, size=n)
    host = rng.integers(1, 255, size=n)
    X = np.array(
        [
            [f"user{e}", "{}.{}.{}.{}".format(*subnets[e], h)]
            for e, h in zip(who, host, strict=True)
        ],
        dtype=object,
    )
    cut = int(n * 0.75)
    return Problem("entity_ip", X[:cut], None, X[cut:], None)


def make_word_counts(n: int = 240, d: int = 6, seed: int = 0) -> Problem:
    """``word_counts``: bag-of-words documents over a ``d``-word vocabulary (the topic models'
    input), drawn from two topics; every document has at least one word. ``y`` is None."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(d, 0.3), size=2)
    mixture = rng.dirichlet([0.5, 0.5], size=n)
    lengths = 1 + rng.poisson(12, size=n)
    X = np.stack(
        [rng.multinomial(k, p / p.sum()) for k, p in zip(lengths, mixture @ topics, strict=True)]
    ).astype("float32")
    cut = int(n * 0.75)
    return Problem("word_counts", X[:cut], None, X[cut:], None)


def make_text(kind: str, n: int = 240, seed: int = 0) -> Problem:
    """``text`` / ``labelled_text``: sentences (a 1-D object array of strings) drawn from one of
    three word groups plus common words; ``labelled_text``'s ``y`` is the group (0, 1, 2)."""
    rng = np.random.default_rng(seed)
    groups = [[f"g{g}w{i}" for i in range(8)] for g in range(3)]
    common = [f"c{i}" for i in range(6)]
    y = rng.integers(0, 3, size=n)
    X = np.array([" ".join(rng.choice(groups[k] + common, size=8)) for k in y], dtype=object)
    labels = y.astype("float32") if kind == "labelled_text" else None
    cut = int(n * 0.75)
    return Problem(
        kind,
        X[:cut],
        None if labels is None else labels[:cut],
        X[cut:],
        None if labels is None else labels[cut:],
    )


def make_time_series(n: int = 240, seed: int = 0) -> Problem:
    """``time_series``: ``n // 12`` hourly series (daily cycle plus noise, a few missing
    values) as DeepAR's records (a 1-D object array of dicts); ``X_val`` holds the same series
    with 6 more points (a test channel scores those). ``y`` is None."""
    rng = np.random.default_rng(seed)
    records_train, records_val = [], []
    for i in range(max(2, n // 12)):
        length = 40 + int(rng.integers(0, 20))
        t = np.arange(length + 6)
        y = 10.0 + 3.0 * np.sin(2 * np.pi * (t + 3 * i) / 24) + rng.normal(0, 0.3, t.size)
        values: list[float | None] = [round(float(v), 4) for v in y]
        values[int(rng.integers(0, length))] = None
        start = f"2021-01-{1 + i % 28:02d} {i % 24:02d}:00:00"
        records_train.append({"start": start, "target": values[:length]})
        records_val.append({"start": start, "target": values})
    X_train = np.empty(len(records_train), dtype=object)
    X_train[:] = records_train
    X_val = np.empty(len(records_val), dtype=object)
    X_val[:] = records_val
    return Problem("time_series", X_train, None, X_val, None)


def make_problem(kind: str, *, n: int = 240, d: int = 6, seed: int = 0) -> Problem:
    """Generated data for ``kind`` (regression, binary, multiclass, unsupervised, entity_ip,
    word_counts, text, labelled_text, time_series)."""
    if kind == "time_series":
        return make_time_series(n, seed)
    if kind == "entity_ip":
        return make_entity_ip(n, seed)
    if kind == "word_counts":
        return make_word_counts(n, d, seed)
    if kind in ("text", "labelled_text"):
        return make_text(kind, n, seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype("float32")
    w = rng.normal(size=d)
    signal = X @ w
    if kind == "regression":
        y = (signal + 0.1 * rng.normal(size=n)).astype("float32")
    elif kind == "binary":
        y = (signal > 0).astype("float32")
    elif kind == "multiclass":
        y = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3])).astype("float32")
    elif kind == "unsupervised":
        y = None
    else:
        raise ValueError(f"unknown problem kind {kind!r}")
    cut = int(n * 0.75)
    return Problem(
        kind,
        X[:cut],
        None if y is None else y[:cut],
        X[cut:],
        None if y is None else y[cut:],
    )


def _csv_cell(value: object) -> str:
    return value if isinstance(value, str) else repr(float(value))  # type: ignore[arg-type]


def encode_request(X: np.ndarray, content_type: str) -> bytes:
    """Features (numbers, or strings for ``entity_ip``) as a request body in ``content_type``."""
    import io
    import json

    if X.ndim == 1 and X.dtype == object and len(X) and isinstance(X[0], dict):  # series
        if content_type == "application/json":
            return json.dumps({"instances": X.tolist()}).encode()
        if content_type == "application/jsonlines":
            return "\n".join(json.dumps(r) for r in X.tolist()).encode()
    if X.ndim == 1 and X.dtype == object:  # text: one sentence per record
        if content_type == "text/plain":
            return "\n".join(X.tolist()).encode()
        if content_type == "application/json":
            return json.dumps({"instances": X.tolist()}).encode()
        if content_type == "application/jsonlines":
            return "\n".join(json.dumps({"source": s}) for s in X.tolist()).encode()
    if content_type == "text/csv":
        return "\n".join(",".join(_csv_cell(v) for v in row) for row in X).encode()
    if content_type == "text/libsvm":
        return "\n".join(
            " ".join(f"{j}:{float(v)!r}" for j, v in enumerate(row) if v != 0) for row in X
        ).encode()
    if content_type == "application/json":
        return json.dumps({"instances": [{"features": row.tolist()} for row in X]}).encode()
    if content_type == "application/jsonlines":
        return "\n".join(json.dumps({"features": row.tolist()}) for row in X).encode()
    if content_type == "application/x-npy":
        buf = io.BytesIO()
        np.save(buf, X)
        return buf.getvalue()
    if content_type == "application/x-recordio-protobuf":
        import tempfile
        from pathlib import Path

        from openmaker.data import Dataset, write_dataset

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "body.pbr"
            write_dataset(Dataset(X, None, None), str(path), content_type)
            return path.read_bytes()
    raise ValueError(f"cannot encode {content_type}")
