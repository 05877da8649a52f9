"""Streaming evaluation metrics of Factorization Machines (reference section 7.4).

* regressor: ``rmse`` (``<loss>``);
* binary_classifier: ``binary_classification_accuracy`` (``<score>``, threshold 0.5),
  ``binary_classification_cross_entropy`` (``<loss>``, mean log loss) and ``binary_f_1.000``
  (``<score>``, F1 of label 1 at threshold 0.5).

A predicted probability of exactly 0.5 counts as label 1 (``predicted_label = score >= 0.5``).
"""

from __future__ import annotations

import numpy as np

from openmaker.algorithms.factorization_machines.spec import F_BETA_NAME

#: Probabilities are clipped to [LOG_EPS, 1 - LOG_EPS] in the cross entropy.
LOG_EPS = 1e-12

Result = tuple[str, float, str]


class Scores:
    """Accumulates predictions and labels batch by batch.

    Args:
        binary: binary_classifier metrics (else regressor).
    """

    def __init__(self, binary: bool) -> None:
        self.binary = binary
        self.n = 0
        self.sq = 0.0
        self.log_loss = 0.0
        self.correct = 0
        self.tp = 0
        self.fp = 0
        self.fn = 0

    def update(self, pred: np.ndarray, y: np.ndarray) -> None:
        """Add a batch: ``pred`` is the probability of label 1 (binary) or the value."""
        p = np.asarray(pred, dtype=np.float64)
        t = np.asarray(y, dtype=np.float64)
        self.n += len(t)
        if not self.binary:
            self.sq += float(np.square(p - t).sum())
            return
        q = np.clip(p, LOG_EPS, 1.0 - LOG_EPS)
        self.log_loss -= float((t * np.log(q) + (1.0 - t) * np.log1p(-q)).sum())
        label = p >= 0.5
        pos = t == 1
        self.correct += int((label == pos).sum())
        self.tp += int((label & pos).sum())
        self.fp += int((label & ~pos).sum())
        self.fn += int((~label & pos).sum())

    def results(self) -> list[Result]:
        """``(name, value, kind)`` as printed: kind is ``loss`` or ``score``."""
        n = max(self.n, 1)
        if not self.binary:
            return [("rmse", float(np.sqrt(self.sq / n)), "loss")]
        denom = 2 * self.tp + self.fp + self.fn
        f1 = 2 * self.tp / denom if denom else 0.0
        return [
            ("binary_classification_accuracy", self.correct / n, "score"),
            ("binary_classification_cross_entropy", self.log_loss / n, "loss"),
            (F_BETA_NAME, f1, "score"),
        ]
