"""Adam with lazy (row-sparse) updates of the embedding tables, as MXNet's ``adam`` with
``lazy_update`` does for row-sparse gradients.

* ``weight_decay`` is added to the gradient (``g + wd * w``), MXNet's convention, for every
  updated weight.
* Embedding tables: only the rows a batch touched are updated, and each row keeps its own
  moment estimates and step count, so the bias correction of a row seen for the first time
  after many batches is that of Adam's first step (a row's state is the state Adam would have
  on that row's own gradient sequence).
* Dense weights (the encoder layers): plain Adam.

``beta1 = 0.9``, ``beta2 = 0.999``, ``epsilon = 1e-8`` (Adam's and MXNet's defaults).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.ip_insights.network import Gradients, Weights

BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-8


@dataclass
class _RowState:
    #: (rows, 2, d): the first and second moments side by side, one gather / scatter for both
    moments: np.ndarray
    steps: np.ndarray

    @classmethod
    def like(cls, table: np.ndarray) -> _RowState:
        # np.zeros, not zeros_like: calloc'ed pages cost nothing until a row is first updated
        rows, d = table.shape
        return cls(np.zeros((rows, 2, d), dtype=table.dtype), np.zeros(rows, dtype=np.int64))


@dataclass
class _DenseState:
    m: np.ndarray
    v: np.ndarray
    step: int = 0

    @classmethod
    def like(cls, array: np.ndarray) -> _DenseState:
        return cls(np.zeros(array.shape, array.dtype), np.zeros(array.shape, array.dtype))


class Adam:
    """The optimiser of one :class:`Weights` (keeps the moment estimates)."""

    def __init__(self, weights: Weights, learning_rate: float, weight_decay: float) -> None:
        self.weights = weights
        self.lr = float(learning_rate)
        self.wd = np.float32(weight_decay)
        self._entity = _RowState.like(weights.entity)
        self._levels = [_RowState.like(t) for t in weights.levels]
        self._layers = [(_DenseState.like(W), _DenseState.like(b)) for W, b in weights.layers]

    def step(self, grads: Gradients) -> None:
        """Apply one batch's gradients in place."""
        rows, g = grads.entity
        self._rows(self.weights.entity, self._entity, rows, g)
        for table, state, (rows, g) in zip(
            self.weights.levels, self._levels, grads.levels, strict=True
        ):
            self._rows(table, state, rows, g)
        for (W, b), (sW, sb), (gW, gb) in zip(
            self.weights.layers, self._layers, grads.layers, strict=True
        ):
            self._dense(W, sW, gW)
            self._dense(b, sb, gb)

    def _rows(self, table: np.ndarray, state: _RowState, rows: np.ndarray, g: np.ndarray) -> None:
        w = table[rows]
        if self.wd:
            g = g + self.wd * w
        t = state.steps[rows] + 1
        state.steps[rows] = t
        mv = state.moments[rows]
        m, v = mv[:, 0], mv[:, 1]
        m *= BETA1
        m += (1 - BETA1) * g
        v *= BETA2
        v += (1 - BETA2) * (g * g)
        state.moments[rows] = mv
        # w -= lr * (m / c1) / (sqrt(v / c2) + eps), with the per-row corrections folded in
        tf = t.astype(np.float64)
        step = (self.lr / (1.0 - BETA1**tf)).astype(w.dtype)[:, None]
        root_c2 = np.sqrt(1.0 - BETA2**tf).astype(w.dtype)[:, None]
        denom = np.sqrt(v)
        denom /= root_c2
        denom += EPSILON
        m *= step
        m /= denom
        w -= m
        table[rows] = w

    def _dense(self, w: np.ndarray, state: _DenseState, g: np.ndarray) -> None:
        if self.wd:
            g = g + self.wd * w
        state.step += 1
        state.m *= BETA1
        state.m += (1 - BETA1) * g
        state.v *= BETA2
        state.v += (1 - BETA2) * (g * g)
        c1 = 1.0 - BETA1**state.step
        c2 = 1.0 - BETA2**state.step
        w -= (self.lr / c1) * state.m / (np.sqrt(state.v / c2) + EPSILON)
