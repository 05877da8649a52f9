"""Model files and checkpoints of the XGBoost algorithm (``xgboost-model``,
``xgboost-checkpoint.<iter>``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from openmaker.errors import ValidationError

if TYPE_CHECKING:
    import xgboost as xgb

MODEL_FILE = "xgboost-model"
CHECKPOINT_PREFIX = "xgboost-checkpoint."
KEEP_CHECKPOINTS = 5

_CHECKPOINT_RE = re.compile(r"^xgboost-checkpoint\.([0-9]+)$")


# --- model files and checkpoints ---------------------------------------------------------------


def save_booster(booster: xgb.Booster, path: Path) -> None:
    """Write ``booster`` in XGBoost's UBJSON format, atomically (temporary name, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    tmp.replace(path)


def load_booster(path: Path) -> xgb.Booster:
    """Load a model file written by :func:`save_booster` (JSON or UBJSON, detected)."""
    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(path.read_bytes()))
    except xgb.core.XGBoostError as exc:
        raise ValidationError(f"{path.name} is not an XGBoost model file: {exc}") from exc
    return booster


def _save_checkpoint(model: xgb.Booster, folder: Path, iteration: int) -> None:
    save_booster(model, folder / f"{CHECKPOINT_PREFIX}{iteration}")
    found = sorted(_checkpoints(folder))
    for it, path in found[:-KEEP_CHECKPOINTS]:
        del it
        path.unlink(missing_ok=True)


def _checkpoints(folder: Path) -> list[tuple[int, Path]]:
    out = []
    for p in folder.iterdir():
        m = _CHECKPOINT_RE.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), p))
    return out


def _latest_checkpoint(folder: Path) -> tuple[xgb.Booster | None, int]:
    found = sorted(_checkpoints(folder))
    if not found:
        return None, 0
    _, path = found[-1]
    booster = load_booster(path)
    return booster, booster.num_boosted_rounds()
