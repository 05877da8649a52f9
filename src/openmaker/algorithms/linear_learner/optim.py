"""SGD (momentum), Adam and RMSProp for all parallel models at once.

The weights of every model live side by side in one ``(d, P)`` matrix (``P`` = models x
outputs per model), so one mini-batch is one matrix product for every model. Each column has
its own optimizer, learning rate, L2 (``wd``) and L1, given as per-column arrays; one update
formula covers the three optimizers::

    m = a1 * m + c1 * g                        (sgd: momentum buffer; rmsprop: m = g)
    v = b2 * v + (1 - b2) * g**2               (unused by sgd)
    step = lr_t * (m / bc1) / denom,   denom = sqrt(v * ibc2) + eps (adam, rmsprop) or 1 (sgd)

L2 is added to the gradient (coupled weight decay, as MXNet's optimizers do); L1 is a
proximal soft-threshold by ``l1 * lr_t / denom`` after the step, which gives exact zeros.

The state (:class:`OptimizerState`) is a handful of arrays: averaging the states of several
workers after an epoch (:func:`average_states`) is how data-parallel training can merge them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.linear_learner.settings import ModelConfig

RMSPROP_DECAY = 0.9
EPSILON = 1e-8


@dataclass
class OptimizerState:
    """Weights ``W`` (d, P), bias ``b`` (P,), moments and the update count."""

    W: np.ndarray
    b: np.ndarray
    mW: np.ndarray
    vW: np.ndarray
    mb: np.ndarray
    vb: np.ndarray
    t: int = 0

    def copy(self) -> OptimizerState:
        """A deep copy."""
        return OptimizerState(
            self.W.copy(), self.b.copy(), self.mW.copy(), self.vW.copy(), self.mb.copy(),
            self.vb.copy(), self.t,
        )  # fmt: skip


def average_states(states: Sequence[OptimizerState]) -> OptimizerState:
    """The element-wise mean of several workers' states (model averaging)."""
    states[0]
    n = len(states)
    return OptimizerState(
        *(sum(getattr(s, k) for s in states) / n for k in ("W", "b", "mW", "vW", "mb", "vb")),
        t=max(s.t for s in states),
    )


class ParallelOptimizer:
    """Per-column optimizer settings and the vectorised update.

    Args:
        models: the settings of each parallel model.
        outputs: columns per model (classes for multiclass, else 1).
        beta_1: Adam's first-moment decay.
        beta_2: Adam's second-moment decay.
        momentum: SGD momentum.
        bias_lr_mult: bias learning rate multiplier.
        bias_wd_mult: bias L2 multiplier.
        use_lr_scheduler: decay the learning rate by steps.
    """

    def __init__(
        self,
        models: Sequence[ModelConfig],
        outputs: int,
        *,
        beta_1: float,
        beta_2: float,
        momentum: float,
        bias_lr_mult: float,
        bias_wd_mult: float,
        use_lr_scheduler: bool,
    ) -> None:
        def col(values: Sequence[float]) -> np.ndarray:
            return np.repeat(np.asarray(values, dtype=np.float64), outputs)

        kinds = [m.optimizer for m in models]
        self.lr = col([m.learning_rate for m in models])
        self.wd = col([m.wd for m in models]).astype(np.float32)
        self.l1 = col([m.l1 for m in models])
        self.step_size = col([m.lr_scheduler_step for m in models])
        self.factor = col([m.lr_scheduler_factor for m in models])
        self.min_lr = col([m.lr_scheduler_minimum_lr for m in models])
        self.a1 = col([beta_1 if k == "adam" else momentum if k == "sgd" else 0.0 for k in kinds])
        self.c1 = col([1.0 - beta_1 if k == "adam" else 1.0 for k in kinds])
        self.b2 = col([beta_2 if k == "adam" else RMSPROP_DECAY if k == "rmsprop" else 0.0
                       for k in kinds])  # fmt: skip
        self.adam = col([k == "adam" for k in kinds]).astype(bool)
        self.use_v = col([k != "sgd" for k in kinds]).astype(bool)
        self.any_v = bool(self.use_v.any())
        self.any_l1 = bool((self.l1 > 0).any())
        self.bias_lr_mult = bias_lr_mult
        self.bias_wd_mult = bias_wd_mult
        self.use_lr_scheduler = use_lr_scheduler

    def init_state(self, W: np.ndarray, b: np.ndarray) -> OptimizerState:
        """Zero moments for the initial weights."""
        return OptimizerState(W, b, np.zeros_like(W), np.zeros_like(W), np.zeros_like(b),
                              np.zeros_like(b))  # fmt: skip

    def learning_rate(self, t: int) -> np.ndarray:
        """Per-column learning rate of update ``t`` (1-based)."""
        if not self.use_lr_scheduler:
            return self.lr
        decayed = self.lr * self.factor ** np.floor((t - 1) / self.step_size)
        return np.maximum(decayed, np.minimum(self.min_lr, self.lr))

    def _coefficients(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """``(lr_t / bc1, ibc2)`` per column."""
        bc1 = np.where(self.adam, 1.0 - self.a1**t, 1.0)
        ibc2 = np.where(self.adam, 1.0 / (1.0 - self.b2**t), np.where(self.use_v, 1.0, 0.0))
        return self.learning_rate(t) / bc1, ibc2

    def step(self, s: OptimizerState, gW: np.ndarray, gb: np.ndarray, *, update_bias: bool) -> None:
        """One update of every model in place, from the mean gradients ``gW``, ``gb``."""
        s.t += 1
        lr_bc1, ibc2 = self._coefficients(s.t)
        lr_t = self.learning_rate(s.t)
        gW = gW + self.wd * s.W
        self._update(s.W, s.mW, s.vW, gW, lr_bc1, lr_t, ibc2, l1=self.any_l1)
        if update_bias:
            gb = gb + (self.wd * self.bias_wd_mult) * s.b
            m = self.bias_lr_mult
            self._update(s.b, s.mb, s.vb, gb, lr_bc1 * m, lr_t * m, ibc2, l1=False)

    def _update(
        self,
        W: np.ndarray,
        mW: np.ndarray,
        vW: np.ndarray,
        g: np.ndarray,
        lr_bc1: np.ndarray,
        lr_t: np.ndarray,
        ibc2: np.ndarray,
        *,
        l1: bool,
    ) -> None:
        f32 = np.float32
        mW *= self.a1.astype(f32)
        mW += self.c1.astype(f32) * g
        if self.any_v:
            vW *= self.b2.astype(f32)
            vW += (1.0 - self.b2).astype(f32) * (g * g)
            denom = np.sqrt(vW * ibc2.astype(f32))
            denom += np.where(self.use_v, EPSILON, 1.0).astype(f32)
            W -= lr_bc1.astype(f32) * mW / denom
        else:
            denom = None
            W -= lr_bc1.astype(f32) * mW
        if l1:
            thr = (self.l1 * lr_t).astype(f32)
            if denom is not None:
                thr = thr / denom
            np.copyto(W, np.sign(W) * np.maximum(np.abs(W) - thr, 0.0))
