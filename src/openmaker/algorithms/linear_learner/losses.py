"""Loss functions, vectorised over rows and parallel models.

Scores ``Z`` are ``(n, M)`` (one column per model) or ``(n, M, C)`` for softmax; labels ``y``
are ``(n,)``. Each function returns the per-row, per-model loss ``(n, M)`` and its gradient
with respect to ``Z`` (the shape of ``Z``).

Regression losses see the label in training units (normalised when ``normalize_label``);
their parameters (``loss_insensitivity``, ``huber_delta``) are given in label units and
divided by the label scale by the caller, so every regression loss is homogeneous: in label
units it is ``scale ** DEGREE[loss]`` times its training-unit value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The name printed before ``_objective`` on the metric lines.
OBJECTIVE_NAMES: dict[str, str] = {
    "logistic": "binary_classification_cross_entropy",
    "hinge_loss": "binary_classification_hinge_loss",
    "softmax_loss": "multiclass_cross_entropy",
    "squared_loss": "mse",
    "absolute_loss": "absolute_loss",
    "eps_insensitive_squared_loss": "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss",
    "quantile_loss": "quantile_loss",
    "huber_loss": "huber_loss",
}
#: How each regression loss scales with the label (see the module docstring).
DEGREE: dict[str, int] = {
    "squared_loss": 2,
    "eps_insensitive_squared_loss": 2,
    "huber_loss": 2,
    "absolute_loss": 1,
    "eps_insensitive_absolute_loss": 1,
    "quantile_loss": 1,
}


@dataclass(frozen=True)
class LossParams:
    """Parameters of the losses, in training units."""

    margin: float = 1.0
    quantile: float = 0.5
    huber_delta: float = 1.0
    epsilon: float = 0.01


def _expit(x: np.ndarray) -> np.ndarray:
    """Stable logistic sigmoid, without boolean-mask indexing (it is on the hot path)."""
    e = np.exp(-np.abs(x))
    inv = 1.0 / (1.0 + e)
    return np.where(x >= 0, inv, e * inv)


def _logistic(m: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + exp(-m))`` and its gradient ``-t * sigmoid(-m)`` from one ``exp(-|m|)``.

    Stable, and in place where possible: this runs once per mini-batch.
    """
    e = np.abs(m)
    np.negative(e, out=e)
    np.exp(e, out=e)
    L = np.log1p(e)
    L += np.maximum(-m, 0.0)
    inv = np.add(e, 1.0)
    np.reciprocal(inv, out=inv)
    G = np.multiply(e, inv, out=e)
    np.copyto(G, inv, where=m < 0)
    G *= -t
    return L, G


def softmax(Z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def loss_and_grad(
    loss: str, Z: np.ndarray, y: np.ndarray, p: LossParams
) -> tuple[np.ndarray, np.ndarray]:
    """``(loss (n, M), d loss / d Z)`` for ``loss`` (see the module docstring)."""
    if loss == "softmax_loss":
        P = softmax(Z)
        idx = y.astype(np.int64)
        rows = np.arange(len(idx))
        picked = P[rows, :, idx]  # (n, M)
        L = -np.log(np.maximum(picked, 1e-30))
        G = P
        G[rows, :, idx] -= 1.0
        return L, G
    yc = y.reshape(-1, 1).astype(Z.dtype)
    if loss in ("logistic", "hinge_loss"):
        t = 2.0 * yc - 1.0
        m = t * Z
        if loss == "logistic":
            return _logistic(m, t)
        active = m < p.margin
        return np.maximum(p.margin - m, 0.0), np.where(active, -t, 0.0).astype(Z.dtype)
    r = Z - yc
    a = np.abs(r)
    if loss == "squared_loss":
        return r * r, 2.0 * r
    if loss == "absolute_loss":
        return a, np.sign(r)
    if loss == "eps_insensitive_squared_loss":
        e = np.maximum(a - p.epsilon, 0.0)
        return e * e, 2.0 * e * np.sign(r)
    if loss == "eps_insensitive_absolute_loss":
        return np.maximum(a - p.epsilon, 0.0), np.sign(r) * (a > p.epsilon)
    if loss == "quantile_loss":
        q = p.quantile
        # r = prediction - label; under-prediction (r < 0) costs q, over-prediction 1 - q
        return np.where(r < 0, -q * r, (1.0 - q) * r), np.where(r < 0, -q, 1.0 - q).astype(Z.dtype)
    if loss == "huber_loss":
        d = p.huber_delta
        L = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return L, np.clip(r, -d, d)
    raise ValueError(f"unknown loss {loss!r}")


def loss_only(loss: str, Z: np.ndarray, y: np.ndarray, p: LossParams) -> np.ndarray:
    """The per-row, per-model loss (no gradient)."""
    return loss_and_grad(loss, Z, y, p)[0]
