"""The feature and label scaler, estimated from the first ``num_point_for_scaler`` rows.

Training works in normalised units ``x' = (x - shift) / scale`` without ever forming ``x'``:
the shift and scale are folded into the weights (``X @ (W / scale) - (shift / scale) @ W``)
and into the gradient, so a sparse batch stays sparse even when it is centred. Decisions:

* ``unbias_data=auto`` centres dense data only (when ``normalize_data`` is on); sparse data is
  scaled, not centred, unless ``unbias_data=true`` asks for it.
* A feature that is constant in the sample keeps scale 1; if *every* feature is constant the
  job fails (nothing to learn).
* The label is centred and scaled for ``regressor`` (``normalize_label`` / ``unbias_label``
  auto); a constant label keeps scale 1.
* The saved model is in the original units: the scaler is folded into its weights and bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.linear_learner.settings import Settings
from openmaker.errors import DataFormatError


@dataclass(frozen=True)
class Scaler:
    """``x' = (x - shift) / scale``; ``y' = (y - label_shift) / label_scale``."""

    shift: np.ndarray
    scale: np.ndarray
    label_shift: float = 0.0
    label_scale: float = 1.0

    def as_log(self) -> str:
        """The scaler log line (first values of each vector)."""

        def head(a: np.ndarray) -> str:
            vals = ", ".join(f"{v:.4g}" for v in a[:5])
            return f"[{vals}{', ...' if len(a) > 5 else ''}]"

        return (
            f"Scaler: mean_weight={head(self.shift)}, stdev_weight={head(self.scale)}, "
            f"mean_label={self.label_shift:.6g}, stdev_label={self.label_scale:.6g}"
        )


def _moments(X: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(X, np.ndarray):
        X64 = X.astype(np.float64)
        return X64.mean(axis=0), X64.std(axis=0)
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))


def fit_scaler(X: Any, y: np.ndarray | None, settings: Settings, channel: str) -> Scaler:
    """Estimate the scaler from a sample ``X`` (dense or CSR) and its labels."""
    n, d = X.shape
    mean, std = _moments(X)
    constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
    if n > 1 and constant.all():
        raise DataFormatError(
            f"Channel {channel!r}: every one of the {d} features is constant in the first {n} "
            "rows; a linear model has nothing to learn from them"
        )
    sparse = not isinstance(X, np.ndarray)
    unbias = settings.unbias_data == "true" or (
        settings.unbias_data == "auto" and settings.normalize_data and not sparse
    )
    shift = mean if unbias else np.zeros(d)
    scale = np.where(constant, 1.0, std) if settings.normalize_data else np.ones(d)
    label_shift, label_scale = 0.0, 1.0
    if y is not None and settings.predictor_type == "regressor":
        if settings.unbias_label:
            label_shift = float(np.mean(y, dtype=np.float64))
        if settings.normalize_label:
            sd = float(np.std(y, dtype=np.float64))
            label_scale = sd if sd > 1e-12 * max(1.0, abs(label_shift)) else 1.0
    return Scaler(shift.astype(np.float32), scale.astype(np.float32), label_shift, label_scale)
