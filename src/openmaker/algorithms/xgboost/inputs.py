"""Reading XGBoost's channels: File mode into a DMatrix, Pipe mode streamed into a
QuantileDMatrix."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.algorithms.xgboost.params import _objective
from openmaker.errors import ChannelError, DataFormatError, ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext
from openmaker.spec.channels import ContentType

if TYPE_CHECKING:
    import xgboost as xgb

    from openmaker.data import Dataset


# --- channels and data -------------------------------------------------------------------------


def _check_channels(
    channels: Mapping[str, ChannelInput],
) -> tuple[ChannelInput, ChannelInput | None]:
    if "train" not in channels:
        raise ChannelError("Missing required channel 'train'", channel="train")
    unknown = sorted(set(channels) - {"train", "validation"})
    if unknown:
        raise ChannelError(
            f"Channel(s) {', '.join(unknown)} not supported by xgboost; supported: train, "
            "validation",
            channel=unknown[0],
        )
    train_ch = channels["train"]
    val_ch = channels.get("validation")
    for ch in (train_ch, val_ch):
        if ch is None:
            continue
        if ch.content_type == ContentType.LIBSVM and ch.input_mode == "Pipe":
            raise ChannelError("Pipe mode not supported for LibSVM", channel=ch.name)
        label_size = str(ch.params.get("label_size", "1")).strip()
        if ch.content_type == ContentType.CSV and label_size != "1":
            raise ChannelError(
                f"Channel {ch.name!r}: label_size must be 1 for xgboost CSV input, got "
                f"{label_size!r}",
                channel=ch.name,
            )
    if val_ch is not None and val_ch.content_type != train_ch.content_type:
        raise ChannelError(
            "Training and validation channels must have the same content type; got "
            f"{train_ch.content_type!r} and {val_ch.content_type!r}",
            channel="validation",
        )
    return train_ch, val_ch


def _sources(channel: ChannelInput) -> list[str]:
    files = channel.sources()
    if not files:
        raise ChannelError(f"Channel {channel.name!r} holds no data files", channel=channel.name)
    return files


def read_channel(channel: ChannelInput, weight_column: bool) -> Dataset:
    """The whole channel in memory (File mode, or Pipe mode gathered batch by batch)."""
    from openmaker.data import iter_batches, read_dataset

    files = _sources(channel)
    if channel.input_mode == "Pipe":
        parts = list(
            iter_batches(files, channel.content_type, channel.params, weight_column=weight_column)
        )
        if not parts:
            raise ChannelError(f"Channel {channel.name!r} holds no records", channel=channel.name)
        ds = _concat(parts)
    else:
        ds = read_dataset(files, channel.content_type, channel.params, weight_column=weight_column)
    if ds.y is None:
        raise ValidationError(_no_labels(channel.name))
    if ds.n_rows == 0:
        raise ChannelError(f"Channel {channel.name!r} holds no records", channel=channel.name)
    return ds


def _no_labels(name: str) -> str:
    return (
        f"Channel {name!r} has no labels: xgboost needs a label for every record (CSV and "
        "Parquet: first column; LibSVM: first token; RecordIO-protobuf: Record.label['values']). "
        "With multi-instance training each host needs data: the number of records should "
        "exceed 16 x the number of instances."
    )


def _concat(parts: list[Dataset]) -> Dataset:
    from openmaker.data import Dataset

    if len(parts) == 1:
        return parts[0]
    if any(not isinstance(p.X, np.ndarray) for p in parts):
        import scipy.sparse as sp

        width = max(int(p.X.shape[1]) for p in parts)
        X: Any = sp.vstack([_csr(p.X, width) for p in parts], format="csr")
    else:
        widths = {p.X.shape[1] for p in parts}
        if len(widths) > 1:
            raise DataFormatError(f"records have different feature counts: {sorted(widths)}")
        X = np.concatenate([p.X for p in parts], axis=0)
    ys = [p.y for p in parts]
    ws = [p.weights for p in parts]
    y: np.ndarray | None = None
    w: np.ndarray | None = None
    if all(v is not None for v in ys):
        y = np.concatenate([v for v in ys if v is not None])
    if all(v is not None for v in ws):
        w = np.concatenate([v for v in ws if v is not None])
    return Dataset(X, y, w)


def _csr(X: Any, width: int) -> Any:
    import scipy.sparse as sp

    m = sp.csr_matrix(X, dtype=np.float32)
    if m.shape[1] < width:
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))
    return m


def align(train_ds: Dataset, val_ds: Dataset | None) -> tuple[Dataset, Dataset | None]:
    """Give train and validation the same feature count (sparse data is padded)."""
    from openmaker.data import Dataset

    if val_ds is None or train_ds.X.shape[1] == val_ds.X.shape[1]:
        return train_ds, val_ds
    dense = isinstance(train_ds.X, np.ndarray) and isinstance(val_ds.X, np.ndarray)
    if dense:
        raise DataFormatError(
            f"validation data has {val_ds.X.shape[1]} feature columns, but the training data "
            f"has {train_ds.X.shape[1]}"
        )
    width = max(int(train_ds.X.shape[1]), int(val_ds.X.shape[1]))
    return (
        Dataset(_csr(train_ds.X, width), train_ds.y, train_ds.weights),
        Dataset(_csr(val_ds.X, width), val_ds.y, val_ds.weights),
    )


def _dmatrix(ds: Dataset, nthread: int) -> xgb.DMatrix:
    import xgboost as xgb

    y = ds.y
    if y is not None and y.ndim > 1:
        y = y[:, 0] if y.shape[1] == 1 else y
    return xgb.DMatrix(ds.X, label=y, weight=ds.weights, nthread=nthread, missing=np.nan)


def _use_quantile(hp: Mapping[str, Any]) -> bool:
    return (
        hp.get("tree_method") in (None, "auto", "hist", "gpu_hist")
        and hp.get("booster") in (None, "gbtree", "dart")
        and "updater" not in hp
        and hp.get("process_type") != "update"
    )


def _load_matrices(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    weight_column: bool,
    context: TrainingContext,
) -> tuple[xgb.DMatrix, xgb.DMatrix | None]:
    nthread = int(params["nthread"])
    if train_ch.input_mode == "Pipe" and not _use_quantile(hp):
        context.print(
            "INFO:root:Pipe mode: a QuantileDMatrix serves only tree_method hist; gathering the "
            "streamed batches into memory for this configuration"
        )
    if train_ch.input_mode == "Pipe" and _use_quantile(hp):
        import xgboost as xgb

        max_bin = hp.get("max_bin")
        kwargs: dict[str, Any] = {"nthread": nthread}
        if max_bin:
            kwargs["max_bin"] = max_bin
        width = sparse_width(train_ch, weight_column)
        if val_ch is not None and width is not None:
            width = max(width, sparse_width(val_ch, weight_column) or 0)
        dtrain = xgb.QuantileDMatrix(
            make_batch_iter(train_ch, weight_column, n_features=width), **kwargs
        )
        dval = None
        if val_ch is not None:
            dval = xgb.QuantileDMatrix(
                make_batch_iter(val_ch, weight_column, n_features=dtrain.num_col()),
                ref=dtrain,
                **kwargs,
            )
        return dtrain, dval
    train_ds = read_channel(train_ch, weight_column)
    val_ds = read_channel(val_ch, weight_column) if val_ch is not None else None
    train_ds, val_ds = align(train_ds, val_ds)
    return _dmatrix(train_ds, nthread), None if val_ds is None else _dmatrix(val_ds, nthread)


def sparse_width(channel: ChannelInput, weight_column: bool) -> int | None:
    """For sparse Pipe-mode data, the widest batch (one streaming pass); None when dense.

    Sparse batches are as wide as their largest index, and a ``QuantileDMatrix`` needs one
    width for all of them, so sparse channels are scanned once before training.
    """
    from openmaker.data import iter_batches

    width: int | None = None
    for ds in iter_batches(
        _sources(channel), channel.content_type, channel.params, weight_column=weight_column
    ):
        if isinstance(ds.X, np.ndarray):
            return None
        width = max(width or 0, int(ds.X.shape[1]))
    return width


def make_batch_iter(
    channel: ChannelInput, weight_column: bool, n_features: int | None = None
) -> xgb.DataIter:
    """An ``xgboost.DataIter`` over the channel's Pipe-mode batches (re-read on every pass)."""
    import xgboost as xgb

    from openmaker.data import iter_batches

    files = _sources(channel)

    class _BatchIter(xgb.DataIter):
        def __init__(self) -> None:
            super().__init__(release_data=True)
            self._batches: Iterator[Dataset] | None = None
            self._seen = 0

        def reset(self) -> None:
            self._batches = None

        def next(self, input_data: Callable[..., Any]) -> bool:
            if self._batches is None:
                self._seen = 0
                self._batches = iter(
                    iter_batches(
                        files,
                        channel.content_type,
                        channel.params,
                        weight_column=weight_column,
                        n_features=n_features,
                    )
                )
            for ds in self._batches:
                if ds.n_rows == 0:
                    continue
                if ds.y is None:
                    raise ValidationError(_no_labels(channel.name))
                y = ds.y[:, 0] if ds.y.ndim > 1 else ds.y
                input_data(data=ds.X, label=y, weight=ds.weights)
                self._seen += ds.n_rows
                return True
            if self._seen == 0:
                raise ChannelError(
                    f"Channel {channel.name!r} holds no records", channel=channel.name
                )
            return False

    return _BatchIter()


def _check_labels(hp: Mapping[str, Any], dmat: xgb.DMatrix, name: str) -> None:
    objective = _objective(hp)
    labels = dmat.get_label()
    if labels.size == 0:
        return
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge"):
        if np.any((labels < 0) | (labels > 1)):
            bad = labels[(labels < 0) | (labels > 1)][0]
            raise ValidationError(
                f"Channel {name!r}: objective {objective} needs labels in [0, 1]; found {bad!r}"
            )
    elif objective.startswith("multi:"):
        k = int(hp["num_class"])
        bad_mask = (labels < 0) | (labels >= k) | (labels != np.round(labels))
        if np.any(bad_mask):
            raise ValidationError(
                f"Channel {name!r}: objective {objective} with num_class={k} needs integer "
                f"labels in [0, {k - 1}]; found {float(labels[bad_mask][0])!r}"
            )
