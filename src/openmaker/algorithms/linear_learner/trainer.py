"""All parallel models as one linear map: one matrix product per mini-batch for every model.

``W`` is ``(d, M * C)`` (C = classes for multiclass, else 1) in normalised feature units;
column ``m * C + c`` is class ``c`` of model ``m``. See :mod:`.scaler` for how normalisation is
folded into the product and :mod:`.optim` for the update.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openmaker.algorithms.linear_learner.losses import DEGREE, LossParams, loss_and_grad
from openmaker.algorithms.linear_learner.optim import OptimizerState, ParallelOptimizer
from openmaker.algorithms.linear_learner.scaler import Scaler
from openmaker.algorithms.linear_learner.settings import Settings

SEED = 0


class ParallelLinear:
    """Forward, gradient and update of every model on a mini-batch.

    Args:
        settings: the resolved settings.
        scaler: the feature / label scaler.
        d: number of features.
        positive_weight: binary: ``#negatives / #positives`` of the sample (for ``balanced``).
        class_weights: multiclass: per-class weights (``balance_multiclass_weights``) or None.
    """

    def __init__(
        self,
        settings: Settings,
        scaler: Scaler,
        d: int,
        *,
        positive_weight: float = 1.0,
        class_weights: np.ndarray | None = None,
    ) -> None:
        self.s = settings
        self.scaler = scaler
        self.M = settings.num_models
        self.C = settings.n_outputs
        P = self.M * self.C
        rng = np.random.default_rng(SEED)
        if settings.init_method == "uniform":
            W = rng.uniform(-settings.init_scale, settings.init_scale, size=(d, P))
        else:
            W = rng.normal(0.0, settings.init_sigma, size=(d, P))
        b = np.full(P, settings.init_bias if settings.use_bias else 0.0)
        self.optimizer = ParallelOptimizer(
            settings.models,
            self.C,
            beta_1=settings.beta_1,
            beta_2=settings.beta_2,
            momentum=settings.momentum,
            bias_lr_mult=settings.bias_lr_mult,
            bias_wd_mult=settings.bias_wd_mult,
            use_lr_scheduler=settings.use_lr_scheduler,
        )
        self.state = self.optimizer.init_state(W.astype(np.float32), b.astype(np.float32))
        self.inv_scale = (1.0 / scaler.scale).astype(np.float32)[:, None]
        self.shift_over_scale = (scaler.shift / scaler.scale).astype(np.float32)
        self.centred = bool(np.any(scaler.shift != 0))
        ls = scaler.label_scale
        self.params = LossParams(
            margin=settings.margin,
            quantile=settings.quantile,
            huber_delta=settings.huber_delta / ls,
            epsilon=settings.loss_insensitivity / ls,
        )
        pw = [
            positive_weight if m.positive_example_weight_mult == "balanced"
            else float(m.positive_example_weight_mult)
            for m in settings.models
        ]  # fmt: skip
        self.pos_weight = np.asarray(pw, dtype=np.float32)
        self.weighted_pos = bool(np.any(self.pos_weight != 1.0))
        self.class_weights = class_weights

    # --- the linear map -------------------------------------------------------------------
    def raw_scores(self, X: Any, state: OptimizerState | None = None) -> np.ndarray:
        """``(n, M * C)`` scores in training units."""
        st = state or self.state
        Z = X @ (st.W * self.inv_scale)
        bias = st.b - self.shift_over_scale @ st.W if self.centred else st.b
        Z += bias
        return np.asarray(Z, dtype=np.float32)

    def shaped(self, Z: np.ndarray) -> np.ndarray:
        """``(n, M)`` or ``(n, M, C)`` for the loss."""
        return Z.reshape(len(Z), self.M, self.C) if self.C > 1 else Z

    def target(self, y: np.ndarray) -> np.ndarray:
        """The label in training units."""
        if self.s.predictor_type != "regressor":
            return y
        return (y - self.scaler.label_shift) / self.scaler.label_scale

    def row_weights(self, y: np.ndarray) -> np.ndarray | None:
        """``(n, M)`` or ``(n, 1)`` weights, or None when every weight is 1."""
        if self.weighted_pos:
            return 1.0 + (self.pos_weight - 1.0)[None, :] * y[:, None]
        if self.class_weights is not None:
            return self.class_weights[y.astype(np.int64)][:, None]
        return None

    def losses(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(n, M)`` loss in label units (regression) for raw scores ``Z``."""
        from openmaker.algorithms.linear_learner.losses import loss_only

        L = loss_only(self.s.loss, self.shaped(Z), self.target(y), self.params)
        degree = DEGREE.get(self.s.loss, 0)
        return L * self.scaler.label_scale**degree if degree else L

    def train_batch(self, X: Any, y: np.ndarray) -> np.ndarray:
        """One update of every model; returns the batch's summed loss per model ``(M,)``."""
        gW, gb, total = self.gradients(X, y)
        self.optimizer.step(self.state, gW, gb, update_bias=self.s.use_bias)
        return total

    def gradients(self, X: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(gW, gb, summed loss per model)`` of a batch: the batch-mean gradients
        :meth:`train_batch` steps with (several hosts add theirs before stepping)."""
        n = X.shape[0]
        Z = self.raw_scores(X)
        L, G = loss_and_grad(self.s.loss, self.shaped(Z), self.target(y), self.params)
        w = self.row_weights(y)
        if w is not None:
            G = G * (w[:, :, None] if G.ndim == 3 else w)
        G2 = np.ascontiguousarray(G.reshape(n, -1), dtype=np.float32)
        G2 *= np.float32(1.0 / n)
        gW = np.asarray(X.T @ G2, dtype=np.float32)
        gb = G2.sum(axis=0)
        if self.centred:
            gW -= self.scaler.shift[:, None] * gb[None, :]
        gW *= self.inv_scale
        degree = DEGREE.get(self.s.loss, 0)
        total = L.sum(axis=0, dtype=np.float64)
        return gW, gb, total * self.scaler.label_scale**degree if degree else total

    # --- the saved model --------------------------------------------------------------------
    def export(self, m: int, state: OptimizerState | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Model ``m`` in original units: ``(weights (d, C), bias (C,))`` (float64)."""
        st = state or self.state
        cols = slice(m * self.C, (m + 1) * self.C)
        Wn = st.W[:, cols].astype(np.float64)
        W = Wn / self.scaler.scale.astype(np.float64)[:, None]
        b = st.b[cols].astype(np.float64) - self.scaler.shift.astype(np.float64) @ W
        if self.s.predictor_type == "regressor":
            W = W * self.scaler.label_scale
            b = b * self.scaler.label_scale + self.scaler.label_shift
        return W, b

    def to_label_units(self, Z: np.ndarray) -> np.ndarray:
        """Regression predictions in label units from training-unit scores."""
        return Z * self.scaler.label_scale + self.scaler.label_shift
