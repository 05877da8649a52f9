"""Forecast accuracy as SageMaker's DeepAR scores its ``test`` channel (reference 4.5).

Over the last ``prediction_length`` points of every test series (NaN targets skipped):

* ``RMSE = sqrt(mean((mean_forecast - y)^2))``;
* ``wQuantileLoss[q] = 2 * sum |(y - q_hat) * (1{y <= q_hat} - q)| / sum |y|`` with ``q_hat``
  the q-quantile of the sample paths (GluonTS's evaluator);
* ``mean_wQuantileLoss``: their mean over ``test_quantiles``;
* ``mean_absolute_QuantileLoss``: the mean over quantiles of the unweighted sums.

Benchmarks score every model (openmaker, GluonTS, baselines) with these same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def quantile_loss(y: np.ndarray, q_hat: np.ndarray, q: float) -> float:
    """``2 * sum |(y - q_hat) * (1{y <= q_hat} - q)|`` over finite ``y``."""
    y, q_hat = np.asarray(y, dtype=np.float64), np.asarray(q_hat, dtype=np.float64)
    ok = np.isfinite(y)
    d = y[ok] - q_hat[ok]
    return float(2.0 * np.sum(np.abs(d * ((y[ok] <= q_hat[ok]).astype(np.float64) - q))))


def forecast_scores(
    actuals: Sequence[np.ndarray],
    means: Sequence[np.ndarray],
    quantiles: Mapping[float, Sequence[np.ndarray]],
) -> dict[str, float]:
    """The test scores of forecasts of several series.

    Args:
        actuals: per series, the held-out values (``prediction_length``; NaN = missing).
        means: per series, the mean forecast.
        quantiles: quantile level -> per series, that quantile's forecast.

    Returns:
        ``RMSE``, ``mean_absolute_QuantileLoss``, ``mean_wQuantileLoss`` and one
        ``wQuantileLoss[q]`` per level (SageMaker's names, without the ``test:`` prefix).
    """
    y = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in actuals])
    m = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in means])
    ok = np.isfinite(y)
    out: dict[str, float] = {
        "RMSE": float(np.sqrt(np.mean((m[ok] - y[ok]) ** 2))) if ok.any() else float("nan")
    }
    scale = float(np.sum(np.abs(y[ok])))
    losses, weighted = [], []
    for q in sorted(quantiles):
        q_hat = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in quantiles[q]])
        loss = quantile_loss(y, q_hat, q)
        losses.append(loss)
        w = loss / scale if scale > 0 else float("nan")
        weighted.append(w)
        out[f"wQuantileLoss[{format_quantile(q)}]"] = w
    if losses:
        out["mean_absolute_QuantileLoss"] = float(np.mean(losses))
        out["mean_wQuantileLoss"] = float(np.mean(weighted))
    return out


def format_quantile(q: float) -> str:
    """A quantile level as SageMaker writes it: ``0.1``, ``0.5``, ``0.95``."""
    return f"{float(q):.6g}"


def sample_quantiles(samples: np.ndarray, levels: Sequence[float]) -> dict[float, np.ndarray]:
    """The ``levels`` quantiles of sample paths ``(num_samples, horizon)`` per time step."""
    s = np.asarray(samples, dtype=np.float64)
    return {float(q): np.quantile(s, float(q), axis=0) for q in levels}
