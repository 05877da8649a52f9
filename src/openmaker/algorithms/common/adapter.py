"""Running an algorithm's ``train()`` in this process: what the scikit-learn adapters share.

The adapters hand their arrays to ``train()`` as in-memory channels
(:attr:`openmaker.spec.algorithm.ChannelInput.dataset`), read in the same mini-batches a
training job reads from its files, so an adapter trains the model a job would, without writing
the data out.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from openmaker.data import Dataset
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: The content type in-memory channels declare (the first-party algorithms' default).
IN_MEMORY_CONTENT_TYPE = "application/x-recordio-protobuf"

M = TypeVar("M")


def train_in_process(
    name: str,
    train: Callable[[dict[str, Any], Mapping[str, ChannelInput], TrainingContext], None],
    hyperparameters: dict[str, Any],
    data: Mapping[str, Dataset],
    load: Callable[[Path], M],
    log: io.StringIO,
) -> M:
    """Train on ``data`` (one :class:`~openmaker.data.Dataset` per channel) and load the model.

    Args:
        name: the algorithm's name, for the temporary job folder.
        train: the algorithm's ``train(hyperparameters, channels, context)``.
        hyperparameters: validated hyperparameters.
        data: the channels' rows.
        load: reads the model back from the model folder (e.g. ``KMeansModel.load``).
        log: receives everything training prints (kept by the caller, also on failure).

    Raises:
        Whatever ``train`` raises for bad hyperparameters or data.
    """
    with tempfile.TemporaryDirectory(prefix=f"openmaker-{name}-") as tmp:
        root = Path(tmp)
        ctx = TrainingContext(
            job_name=f"{name}-estimator",
            model_dir=root / "model",
            output_dir=root / "output",
            checkpoint_dir=root / "checkpoints",
            num_cpus=os.cpu_count() or 1,
            log=log,
        )
        ctx.model_dir.mkdir()
        ctx.output_dir.mkdir()
        channels = {
            channel: ChannelInput(name=channel, content_type=IN_MEMORY_CONTENT_TYPE, dataset=ds)
            for channel, ds in data.items()
        }
        train(hyperparameters, channels, ctx)
        return load(ctx.model_dir)


def float32_matrix(X: Any, what: str = "") -> Any:
    """The scikit-learn adapters' input: scipy CSR float32 for sparse input, else a C-ordered
    float32 array (pandas' missing values as NaN).

    Raises:
        ValueError: ``X`` is not 2-D (``what`` says what its axes are, e.g. " (documents x
            vocabulary)").
    """
    import numpy as np

    if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
        import scipy.sparse as sp

        return sp.csr_matrix(X, dtype=np.float32)
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=np.float32, na_value=np.nan)
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D{what}, got shape {arr.shape}")
    return arr
