"""The factorization machine: its scores, its gradients and one Adam step per mini-batch.

Model (reference section 7.6), for a row ``x`` with ``d`` features and ``k`` factors::

    z(x) = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j
         = w0 + x.w + 1/2 sum_f [ (sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2 ]

The second form costs O(k * nnz) per row. A mini-batch touches only the columns present in it:
a sparse batch is rewritten over its distinct columns (``cols``), the rows ``w[cols]`` and
``V[cols]`` are gathered, and the gradients and Adam updates are computed and scattered back
for those rows only (MXNet's ``row_sparse`` lazy update). A dense batch uses every column.

Gradients of the loss ``l(z, y)`` with ``g = dl/dz`` (``sigmoid(z) - y`` for log loss,
``z - y`` for squared loss)::

    dw0 = sum g        dw = X^T g        dV = X^T (g * XV) - V * ((X*X)^T g)

Optimizer (UNCONFIRMED for SageMaker; the reference leaves it open): Adam with
``beta1 = 0.9``, ``beta2 = 0.999`` and bias correction, one learning rate and weight decay per
group (``bias_lr``/``bias_wd``, ``linear_lr``/``linear_wd``, ``factors_lr``/``factors_wd``),
as in MXNet's sparse factorization-machine example, whose defaults (learning rates, weight
decays, init sigmas, batch size 1000, 1 epoch) are exactly SageMaker FM's. Like MXNet's
``adam_update``, the gradient is ``rescale_grad * grad + wd * weight`` and then clipped to
``[-clip_gradient, clip_gradient]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.factorization_machines.settings import (
    BETA1,
    BETA2,
    INIT_SEED,
    Settings,
    Term,
)
from openmaker.errors import ResourceLimitExceededError


@dataclass(frozen=True)
class Compact:
    """A batch over the columns it uses.

    Attributes:
        X: ``(n, m)``: CSR over the ``m`` distinct columns of a sparse batch, or the dense batch.
        X2: ``X`` with its values squared (same layout).
        cols: the original column of each of the ``m`` columns; ``None`` for a dense batch
            (every column).
    """

    X: Any
    X2: Any
    cols: np.ndarray | None


def compact(X: Any) -> Compact:
    """Rewrite a batch (float32 CSR or dense ndarray) over the columns it uses."""
    if isinstance(X, np.ndarray):
        return Compact(X, X * X, None)
    import scipy.sparse as sp

    if not X.has_canonical_format:  # a column twice in a row: x_i is their sum
        X = X.copy()
        X.sum_duplicates()
    cols, inv = np.unique(X.indices, return_inverse=True)
    shape = (X.shape[0], len(cols))
    data = X.data
    Xc = sp.csr_matrix((data, inv, X.indptr), shape=shape)
    X2c = sp.csr_matrix((data * data, inv, X.indptr), shape=shape)
    return Compact(Xc, X2c, cols)


def _scores(
    batch: Compact, w0: np.ndarray, wc: np.ndarray, Vc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(z, XV)`` of a compacted batch from the gathered rows ``w[cols]``, ``V[cols]``."""
    XV = np.asarray(batch.X @ Vc, dtype=np.float32)
    sq = np.asarray(batch.X2 @ np.einsum("ij,ij->i", Vc, Vc), dtype=np.float64)
    lin = np.asarray(batch.X @ wc, dtype=np.float64)
    inter = np.einsum("ij,ij->i", XV, XV, dtype=np.float64)
    return float(w0[0]) + lin + 0.5 * (inter - sq), XV


def raw_scores(
    X: Any, w0: np.ndarray, w: np.ndarray, V: np.ndarray, chunk: int = 65536
) -> np.ndarray:
    """``z(x)`` for every row of ``X`` (float32 CSR or dense, ``feature_dim`` wide), float64."""
    n = int(X.shape[0])
    out = np.empty(n, dtype=np.float64)
    for lo in range(0, n, chunk):
        batch = compact(X[lo : lo + chunk])
        cols = batch.cols
        wc, Vc = (w, V) if cols is None else (w[cols], V[cols])
        out[lo : lo + chunk] = _scores(batch, w0, wc, Vc)[0]
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow warnings."""
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


@dataclass(frozen=True)
class Gradients:
    """The predictions of a batch and the rescaled gradients of its loss.

    Attributes:
        pred: probability of label 1 (binary) or predicted value, ``(n,)`` float64.
        w0: gradient of the bias, ``(1,)``.
        w: gradient of ``w[cols]`` ``(m,)``, or None when not asked for.
        V: gradient of ``V[cols]`` ``(m, k)``, or None when not asked for.
    """

    pred: np.ndarray
    w0: np.ndarray
    w: np.ndarray | None
    V: np.ndarray | None


def gradients(
    batch: Compact,
    y: np.ndarray,
    w0: np.ndarray,
    wc: np.ndarray,
    Vc: np.ndarray,
    *,
    binary: bool,
    scale: float,
    linear: bool = True,
    factors: bool = True,
) -> Gradients:
    """Gradients of ``scale * sum_rows loss`` (log loss on ``sigmoid(z)`` or ``(z - y)^2 / 2``).

    Args:
        batch: the compacted batch.
        y: labels ``(n,)``.
        w0, wc, Vc: the bias and the gathered rows ``w[cols]``, ``V[cols]``.
        binary: log loss (else squared loss).
        scale: ``rescale_grad``.
        linear, factors: compute those gradients (skipped when their learning rate is 0).
    """
    z, XV = _scores(batch, w0, wc, Vc)
    pred = sigmoid(z) if binary else z
    g = ((pred - y) * scale).astype(np.float32)
    Xt = batch.X.T
    gw = np.asarray(Xt @ g, dtype=np.float32) if linear else None
    gV = None
    if factors:
        gV = np.asarray(Xt @ (g[:, None] * XV), dtype=np.float32)
        gV -= Vc * np.asarray(batch.X2.T @ g, dtype=np.float32)[:, None]
    return Gradients(pred, np.array([g.sum(dtype=np.float64)], dtype=np.float32), gw, gV)


class _Group:
    """One parameter group with its Adam moments, stored row by row as ``[param, m, v]``.

    ``state`` has shape ``(rows, 3, width)``: a mini-batch gathers the rows of the columns it
    uses once (parameters and moments side by side in memory), updates them and scatters them
    back once, so the random accesses into a multi-gigabyte table stay few.
    """

    def __init__(self, initial: np.ndarray, term: Term, eps: float, clip: float | None):
        rows, width = initial.shape
        self.state = np.zeros((rows, 3, width), dtype=np.float32)
        self.state[:, 0, :] = initial
        self.t = 0
        self.lr = term.lr
        self.wd = term.wd
        self.eps = eps
        self.clip = clip

    @property
    def param(self) -> np.ndarray:
        """The parameters, ``(rows, width)`` (a strided view)."""
        return self.state[:, 0, :]

    def gather(self, rows: np.ndarray | None) -> np.ndarray:
        """The ``(len(rows), 3, width)`` block of ``rows`` (the table itself when None)."""
        return self.state if rows is None else self.state[rows]

    def skip(self) -> None:
        """Count a step without computing it (learning rate 0: the weights cannot move)."""
        self.t += 1

    def step(self, block: np.ndarray, rows: np.ndarray | None, grad: np.ndarray) -> None:
        """One Adam step of ``block`` (from :meth:`gather`) with the rescaled ``grad``."""
        self.t += 1
        p, m, v = block[:, 0, :], block[:, 1, :], block[:, 2, :]
        g: np.ndarray = grad.astype(np.float32, copy=False)
        if self.wd:
            g = g + np.float32(self.wd) * p
        if self.clip is not None:
            g = np.clip(g, np.float32(-self.clip), np.float32(self.clip))
        m *= np.float32(BETA1)
        m += np.float32(1.0 - BETA1) * g
        g *= g
        g *= np.float32(1.0 - BETA2)
        v *= np.float32(BETA2)
        v += g
        lr_t = self.lr * math.sqrt(1.0 - BETA2**self.t) / (1.0 - BETA1**self.t)
        denom = np.sqrt(v)
        denom += np.float32(self.eps)
        np.divide(m, denom, out=denom)
        denom *= np.float32(lr_t)
        p -= denom
        if rows is not None:
            self.state[rows] = block


def model_bytes(feature_dim: int, num_factors: int) -> int:
    """Memory of the parameters and their two Adam moments (float32)."""
    return 3 * 4 * (feature_dim * (num_factors + 1) + 1)


def check_memory(feature_dim: int, num_factors: int) -> None:
    """Refuse a model that cannot fit in the memory available, before allocating it.

    Raises:
        ResourceLimitExceededError: naming ``feature_dim``, ``num_factors`` and the sizes.
    """
    import psutil

    need = model_bytes(feature_dim, num_factors)
    available = int(psutil.virtual_memory().available)
    if need > available:
        raise ResourceLimitExceededError(
            f"feature_dim={feature_dim} x num_factors={num_factors} needs {need / 2**30:.1f} GiB "
            f"for the factors, weights and their optimizer state, but only "
            f"{available / 2**30:.1f} GiB of memory is available"
        )


class FactorizationMachine:
    """The parameters ``w0`` (1,), ``w`` (d,), ``V`` (d, k), float32, and their optimizer.

    Args:
        settings: resolved hyperparameters (sizes, init, learning rates, weight decays).
    """

    def __init__(self, settings: Settings) -> None:
        d, k = settings.feature_dim, settings.num_factors
        check_memory(d, k)
        rng = np.random.default_rng(INIT_SEED)
        self.settings = settings
        eps, clip = settings.eps, settings.clip_gradient
        self._bias = _Group(settings.bias.init.draw(rng, (1, 1)), settings.bias, eps, clip)
        self._linear = _Group(settings.linear.init.draw(rng, (d, 1)), settings.linear, eps, clip)
        self._factors = _Group(settings.factors.init.draw(rng, (d, k)), settings.factors, eps, clip)

    @property
    def w0(self) -> np.ndarray:
        """The global bias, shape (1,)."""
        return self._bias.param[:, 0]

    @property
    def w(self) -> np.ndarray:
        """The linear weights, shape (d,)."""
        return self._linear.param[:, 0]

    @property
    def V(self) -> np.ndarray:
        """The factors, shape (d, k)."""
        return self._factors.param

    def output(self, z: np.ndarray) -> np.ndarray:
        """The prediction: probability of label 1 (binary) or the value (regressor)."""
        return sigmoid(z) if self.settings.binary else z

    def train_batch(self, X: Any, y: np.ndarray) -> np.ndarray:
        """One optimizer step on a mini-batch; returns the predictions made before the step.

        Args:
            X: ``(n, feature_dim)`` float32 CSR or dense.
            y: ``(n,)`` float32 labels.
        """
        batch = compact(X)
        cols = batch.cols
        lin_block = self._linear.gather(cols)
        fac_block = self._factors.gather(cols)
        rescale = self.settings.rescale_grad
        grads = gradients(
            batch,
            y,
            self.w0,
            lin_block[:, 0, 0],
            fac_block[:, 0, :],
            binary=self.settings.binary,
            scale=1.0 / max(len(y), 1) if rescale is None else rescale,
            linear=bool(self._linear.lr),
            factors=bool(self._factors.lr),
        )
        self._bias.step(self._bias.state, None, grads.w0[:, None])
        if grads.w is None:
            self._linear.skip()
        else:
            self._linear.step(lin_block, cols, grads.w[:, None])
        if grads.V is None:
            self._factors.skip()
        else:
            self._factors.step(fac_block, cols, grads.V)
        return grads.pred

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for a batch (float32 CSR or dense, ``feature_dim`` wide)."""
        return self.output(raw_scores(X, self.w0, self.w, self.V))
