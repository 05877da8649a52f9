"""Training input for the first-party algorithms: streamed mini-batches from a channel.

The same code reads File mode (local files) and Pipe mode (streamed URIs): both go through
:func:`openmaker.data.iter_batches`, so memory stays bounded by the batch size whatever the
data size. Unlabelled channels (``text/csv;label_size=0``) have ``label_size=0``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput

#: First-party algorithms read RecordIO-protobuf when the channel declares no content type.
DEFAULT_CONTENT_TYPE = "application/x-recordio-protobuf"

T = TypeVar("T")


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """``items`` produced by a background thread, up to ``depth`` ahead of the consumer.

    Reading and decoding batches (file reads and numpy, which release the GIL) then overlap the
    consumer's training step. Items arrive in order; an exception raised while producing them
    is raised here, after the items produced before it. Closing this generator early stops
    the thread and closes ``items``.
    """
    q: queue.Queue[tuple[int, object]] = queue.Queue(depth)
    stop = threading.Event()
    ITEM, END, ERROR = 0, 1, 2

    def put(kind: int, value: object) -> bool:
        while not stop.is_set():
            try:
                q.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(ITEM, item):
                    return
            put(END, None)
        except BaseException as exc:  # handed to the consumer, raised there
            put(ERROR, exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="openmaker-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == ITEM:
                yield value  # type: ignore[misc]
            elif kind == END:
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def label_size_of(channel: ChannelInput, default: int = 1) -> int:
    """``label_size`` from the content-type parameters (``text/csv;label_size=0``)."""
    raw = channel.params.get("label_size")
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(
            f"Channel {channel.name!r}: label_size={raw!r} is not an integer"
        ) from None


def channel_batches(
    channel: ChannelInput,
    batch_size: int,
    *,
    label_size: int | None = None,
    n_features: int | None = None,
) -> Iterator:
    """Mini-batches (``openmaker.data.Dataset``) of one pass over a channel (its files, or its
    in-memory ``dataset``)."""
    from openmaker.data import iter_batches

    if channel.dataset is not None:
        yield from _dataset_batches(channel, batch_size, n_features)
        return
    size = label_size_of(channel) if label_size is None else label_size
    yield from iter_batches(
        channel.sources(),
        channel.content_type,
        {k: v for k, v in channel.params.items() if k != "label_size"},
        batch_size=batch_size,
        label_size=size,
        n_features=n_features,
    )


def _dataset_batches(channel: ChannelInput, batch_size: int, n_features: int | None) -> Iterator:
    """Row slices of an in-memory channel (views, no copies), as a file would be read: sparse
    rows narrower than ``n_features`` are widened to it, as the sparse readers do."""
    from openmaker.data import Dataset

    ds = channel.dataset
    X = ds.X
    if n_features is not None and hasattr(X, "tocsr") and X.shape[1] < n_features:
        import scipy.sparse as sp

        X = X.tocsr()
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
        ds = Dataset(X, ds.y, ds.weights)
    n = int(ds.X.shape[0])
    if n == 0:
        raise DataFormatError(f"Channel {channel.name!r} holds no records")
    step = max(1, int(batch_size))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        yield Dataset(
            ds.X[lo:hi],
            None if ds.y is None else ds.y[lo:hi],
            None if ds.weights is None else ds.weights[lo:hi],
        )


def sample_rows(
    channel: ChannelInput,
    n: int,
    *,
    batch_size: int = 10_000,
    label_size: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A uniform reservoir sample of up to ``n`` rows (dense), with labels when present."""
    rng = np.random.default_rng(seed)
    X_s: np.ndarray | None = None
    y_s: np.ndarray | None = None
    seen = 0
    for batch in channel_batches(channel, batch_size, label_size=label_size):
        X = batch.X.toarray() if hasattr(batch.X, "toarray") else np.asarray(batch.X)
        y = batch.y
        if X_s is None:
            X_s = np.empty((0, X.shape[1]), dtype=np.float32)
            y_s = None if y is None else np.empty((0, *y.shape[1:]), dtype=np.float32)
        if len(X_s) < n:
            take = min(n - len(X_s), len(X))
            X_s = np.concatenate([X_s, X[:take]])
            if y is not None and y_s is not None:
                y_s = np.concatenate([y_s, y[:take]])
            X, y = X[take:], (None if y is None else y[take:])
            seen += take
        if len(X):
            # reservoir: row i (global index seen+j) replaces a random slot with prob n/(i+1)
            idx = seen + np.arange(len(X))
            slots = (rng.random(len(X)) * (idx + 1)).astype(np.int64)
            keep = slots < n
            X_s[slots[keep]] = X[keep]
            if y is not None and y_s is not None:
                y_s[slots[keep]] = y[keep]
            seen += len(X)
    if X_s is None:
        raise DataFormatError(f"Channel {channel.name!r} contains no records")
    return X_s, y_s


def check_feature_dim(X: object, feature_dim: int | None, where: str) -> int:
    """The width of ``X``; ValidationError when it differs from ``feature_dim``."""
    width = int(X.shape[1])  # type: ignore[attr-defined]
    if feature_dim is not None and width != feature_dim:
        raise ValidationError(
            f"{where}: the data has {width} features but feature_dim is {feature_dim}"
        )
    return width


def check_finite(X: object, where: str) -> None:
    """DataFormatError when the batch holds NaN or infinity (first-party algorithms refuse them)."""
    data = X.data if hasattr(X, "data") and not isinstance(X, np.ndarray) else X  # type: ignore[attr-defined]
    arr = np.asarray(data)
    if arr.size and not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0][0]) if arr.ndim else 0
        raise DataFormatError(f"{where}: NaN or infinite value (row {bad} of the batch)")


def fit_sparse(X: object, feature_dim: int, where: str) -> object:
    """``X`` as float32 CSR exactly ``feature_dim`` wide (narrower sparse rows are padded).

    Raises:
        DataFormatError: a feature index at or beyond ``feature_dim``.
    """
    import scipy.sparse as sp

    M = sp.csr_matrix(X, dtype=np.float32)
    if M.shape[1] > feature_dim:
        raise DataFormatError(
            f"{where}: a sparse row has feature index {M.shape[1] - 1}, but feature_dim is "
            f"{feature_dim} (indices 0..{feature_dim - 1})"
        )
    if M.shape[1] < feature_dim:
        M = sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], feature_dim))
    return M


def unlabelled_batches(channel: ChannelInput, batch_rows: int, feature_dim: int) -> Iterator:
    """One checked pass over an unsupervised algorithm's channel (K-Means, PCA...).

    ``text/csv`` without ``label_size`` is all features (``label_size=0``); ``label_size=N``
    drops N leading columns; RecordIO labels are ignored. Yields float32 arrays or CSR
    matrices exactly ``feature_dim`` wide.

    Raises:
        ValidationError: dense data whose width is not ``feature_dim``.
        DataFormatError: sparse indices beyond ``feature_dim``, NaN or infinity, no records.
    """
    start = 0
    for batch in channel_batches(channel, batch_rows, label_size=label_size_of(channel, 0)):
        X = batch.X
        rows = int(X.shape[0])
        where = f"Channel {channel.name!r}, records {start}..{start + rows - 1}"
        if isinstance(X, np.ndarray):
            check_feature_dim(X, feature_dim, f"Channel {channel.name!r}")
            X = np.ascontiguousarray(X, dtype=np.float32)
        else:
            X = fit_sparse(X, feature_dim, where)
        check_finite(X, where)
        start += rows
        yield X
