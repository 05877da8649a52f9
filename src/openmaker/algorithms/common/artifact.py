"""The ``model_algo-1`` artifact of the first-party algorithms.

SageMaker stores MXNet NDArray / module files there. openmaker keeps the file name (so
``model.tar.gz`` holds ``model_algo-1`` as SageMaker's does) but stores a NumPy ``.npz`` archive
(a zip of arrays) with a JSON ``__meta__`` entry: no MXNet needed to read it, and
``numpy.load`` opens it directly.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.errors import ValidationError

MODEL_FILE = "model_algo-1"


def save_model_arrays(
    model_dir: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Write ``model_dir/model_algo-1`` atomically (arrays + JSON metadata)."""
    path = Path(model_dir) / MODEL_FILE
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    # Written entry by entry with a fixed timestamp (np.savez stamps the current time), so the
    # same model always gives the same bytes.
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(payload):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w") as entry:
                np.lib.format.write_array(entry, payload[key], allow_pickle=False)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path


def load_model_arrays(model_dir: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`save_model_arrays` wrote: ``(arrays, meta)``."""
    path = Path(model_dir) / MODEL_FILE
    if not path.exists():
        raise ValidationError(f"{path} not found: not a model of a first-party algorithm")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(bytes(data["__meta__"]).decode())
    return arrays, meta


def load_model_meta(model_dir: str | Path) -> dict[str, Any]:
    """Only the JSON metadata of ``model_algo-1`` (the arrays are not read)."""
    path = Path(model_dir) / MODEL_FILE
    if not path.exists():
        raise ValidationError(f"{path} not found: not a model of a first-party algorithm")
    with np.load(path, allow_pickle=False) as data:
        return json.loads(bytes(data["__meta__"]).decode())  # type: ignore[no-any-return]
