"""Threshold calibration, model selection and the final metrics.

Binary calibration (per model): rows are sorted by score; every cut between two distinct
scores is a candidate threshold (the midpoint), and the one that maximises the selection
criterion wins:

* ``accuracy`` / ``f_beta``: the highest accuracy / F-beta;
* ``precision_at_target_recall``: the highest precision among cuts with recall >= target;
* ``recall_at_target_precision``: the highest recall among cuts with precision >= target;
  a model that never reaches the target scores ``-inf`` there (and keeps the default
  threshold);
* ``loss_function``: the lowest loss; the threshold stays the default (probability 0.5 for
  ``logistic``, margin 0 for ``hinge_loss``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _cuts(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For one model: ``(k, tp, threshold, valid)`` for each cut ``k`` = rows predicted 1.

    The order inside a group of tied scores does not matter (only the cut after the whole
    group is valid), so the unstable, faster sort is used.
    """
    order = np.argsort(-s)
    ss, ys = s[order], y[order]
    n = len(s)
    tp = np.concatenate([[0.0], np.cumsum(ys, dtype=np.float64)])
    k = np.arange(n + 1, dtype=np.float64)
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = ss[:-1] != ss[1:]
    thr = np.empty(n + 1)
    thr[1:n] = 0.5 * (ss[:-1] + ss[1:])
    thr[0] = ss[0] + 1.0 if n else 0.0
    thr[n] = ss[-1] - 1.0 if n else 0.0
    return k, tp, thr, valid


@dataclass(frozen=True)
class Criterion:
    """A binary selection criterion and its parameters."""

    name: str
    beta: float = 1.0
    target_precision: float = 0.8
    target_recall: float = 0.8

    def curve(self, k: np.ndarray, tp: np.ndarray, P: float, n: int) -> np.ndarray:
        """The criterion at each cut (``k`` rows predicted 1, ``tp`` of them positive)."""
        N = n - P
        fp = k - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(k > 0, tp / np.maximum(k, 1), 1.0)
            recall = tp / P if P > 0 else np.zeros_like(tp)
            if self.name == "accuracy":
                return (tp + (N - fp)) / max(n, 1)  # type: ignore[no-any-return]
            if self.name == "f_beta":
                b2 = self.beta * self.beta
                den = b2 * precision + recall
                return np.where(den > 0, (1 + b2) * precision * recall / den, 0.0)
            if self.name == "precision_at_target_recall":
                return np.where(recall >= self.target_recall, precision, -np.inf)
            if self.name == "recall_at_target_precision":
                return np.where((precision >= self.target_precision) & (k > 0), recall, -np.inf)
        raise ValueError(f"unknown criterion {self.name!r}")


def calibrate(
    scores: np.ndarray,
    y: np.ndarray,
    criterion: str,
    *,
    beta: float = 1.0,
    target_precision: float = 0.8,
    target_recall: float = 0.8,
    default_threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Per model: the best value of ``criterion`` and the threshold that reaches it (exact).

    Args:
        scores: ``(n, M)`` scores (probabilities for logistic).
        y: ``(n,)`` labels in {0, 1}.
        criterion: accuracy, f_beta, precision_at_target_recall or recall_at_target_precision.

    Returns:
        ``(values (M,), thresholds (M,))``.
    """
    crit = Criterion(criterion, beta, target_precision, target_recall)
    n, M = scores.shape
    P = float(y.sum())
    values = np.full(M, -np.inf)
    thresholds = np.full(M, default_threshold)
    for m in range(M):
        k, tp, thr, valid = _cuts(scores[:, m], y)
        metric = np.where(valid, crit.curve(k, tp, P, n), -np.inf)
        best = int(np.argmax(metric))
        if np.isfinite(metric[best]):
            values[m], thresholds[m] = metric[best], thr[best]
    return values, thresholds


def criterion_values(
    scores: np.ndarray,
    y: np.ndarray,
    criterion: str,
    *,
    beta: float = 1.0,
    target_precision: float = 0.8,
    target_recall: float = 0.8,
    bins: int = 1 << 14,
    slack: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Per model: the best value of ``criterion`` with thresholds on a grid of ``bins`` cuts.

    The per-epoch early-stopping value (``sampled_<criterion>``): instead of sorting every
    model's scores, one ``bincount`` over all models counts rows and positives per score bin
    (``bins`` equal-width bins between each model's lowest and highest score); candidate
    thresholds are the bin edges. With 16,384 bins this equals :func:`calibrate`'s value up to
    the few rows that share the optimal cut's bin, at a fraction of its cost. The threshold
    saved with the model always comes from the exact :func:`calibrate`.

    Args:
        slack: when given, a list that receives each model's largest bin as a share of the
            rows, ``(M,)``: for ``accuracy`` no cut inside a bin can beat the grid by more,
            so the exact best value is at most the grid value plus this.

    Returns:
        ``(M,)`` values (``-inf`` where no cut reaches a target).
    """
    crit = Criterion(criterion, beta, target_precision, target_recall)
    n, M = scores.shape
    s = np.asarray(scores, dtype=np.float32)
    lo = s.min(axis=0)
    scale = ((bins - 1) / np.maximum(s.max(axis=0) - lo, 1e-30)).astype(np.float32)
    b = ((s - lo) * scale).astype(np.intp)  # (n, M), 0..bins-1
    np.clip(b, 0, bins - 1, out=b)
    b += np.arange(M, dtype=np.intp) * bins
    count = np.bincount(b.ravel(), minlength=M * bins).reshape(M, bins)
    pos = np.bincount(b[y > 0.5].ravel(), minlength=M * bins).reshape(M, bins)
    if slack is not None:
        slack.append(count.max(axis=1) / max(n, 1))
    # cut j predicts 1 for the bins >= j (descending scores): j = bins .. 0
    zero = np.zeros((M, 1))
    k = np.concatenate([zero, np.cumsum(count[:, ::-1], axis=1)], axis=1)
    tp = np.concatenate([zero, np.cumsum(pos[:, ::-1], axis=1)], axis=1)
    P = float(y.sum())
    metric = crit.curve(k, tp, P, n)
    return np.max(metric, axis=1)  # type: ignore[no-any-return]


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (average ranks for ties); NaN with a single class.

    Plain numpy (scipy.stats alone takes a second to import).
    """
    y = np.asarray(y) > 0.5
    P = float(y.sum())
    N = len(y) - P
    if P == 0 or N == 0:
        return float("nan")
    order = np.argsort(scores)
    s = np.asarray(scores)[order]
    starts = np.concatenate([[0], np.flatnonzero(s[1:] != s[:-1]) + 1])
    ends = np.append(starts[1:], len(s))
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # 1-based average ranks
    return float((ranks[y[order]].sum() - P * (P + 1) / 2) / (P * N))


@dataclass
class BinaryMetrics:
    """Streaming accumulator of the final binary metrics of one model."""

    threshold: float
    beta: float
    cap: int
    loss_sum: float = 0.0
    n: int = 0
    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    scores: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    kept: int = 0

    def update(self, score: np.ndarray, y: np.ndarray, loss: np.ndarray) -> None:
        """Add a batch (``score`` in the thresholded space)."""
        pred = score > self.threshold
        pos = y > 0.5
        self.tp += float(np.sum(pred & pos))
        self.fp += float(np.sum(pred & ~pos))
        self.fn += float(np.sum(~pred & pos))
        self.loss_sum += float(loss.sum())
        self.n += len(y)
        if self.kept < self.cap:
            take = min(self.cap - self.kept, len(y))
            self.scores.append(score[:take].astype(np.float64))
            self.labels.append(y[:take])
            self.kept += take

    def results(self, objective: str) -> list[tuple[str, float, str]]:
        """``(name, value, kind)`` in SageMaker's order."""
        n = max(self.n, 1)
        tn = self.n - self.tp - self.fp - self.fn
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        b2 = self.beta**2
        den = b2 * precision + recall
        fb = (1 + b2) * precision * recall / den if den else 0.0
        auc = roc_auc(np.concatenate(self.scores), np.concatenate(self.labels))
        return [
            (f"{objective}_objective", self.loss_sum / n, "loss"),
            ("binary_classification_accuracy", (self.tp + tn) / n, "score"),
            (f"binary_f_{self.beta:.3f}", fb, "score"),
            ("precision", precision, "score"),
            ("recall", recall, "score"),
            ("roc_auc_score", auc, "score"),
        ]


@dataclass
class MulticlassMetrics:
    """Streaming accumulator of the final multiclass metrics of one model."""

    num_classes: int
    top_k: int
    beta: float
    loss_sum: float = 0.0
    n: int = 0
    correct: int = 0
    top_correct: int = 0
    dcg: float = 0.0
    tp: np.ndarray = field(default_factory=lambda: np.zeros(0))
    predicted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    actual: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        C = self.num_classes
        self.tp, self.predicted, self.actual = np.zeros(C), np.zeros(C), np.zeros(C)

    def update(self, prob: np.ndarray, y: np.ndarray, loss: np.ndarray) -> None:
        """Add a batch of class probabilities ``(n, C)``."""
        yi = y.astype(np.int64)
        true_p = prob[np.arange(len(yi)), yi]
        rank = (prob > true_p[:, None]).sum(axis=1)  # 0 = the true class scores highest
        pred = np.argmax(prob, axis=1)
        C = self.num_classes
        self.correct += int(np.sum(pred == yi))
        self.top_correct += int(np.sum(rank < self.top_k))
        self.dcg += float(np.sum(1.0 / np.log2(rank + 2.0)))
        self.tp += np.bincount(yi[pred == yi], minlength=C)
        self.predicted += np.bincount(pred, minlength=C)
        self.actual += np.bincount(yi, minlength=C)
        self.loss_sum += float(loss.sum())
        self.n += len(yi)

    def results(self, objective: str) -> list[tuple[str, float, str]]:
        """``(name, value, kind)`` in SageMaker's order."""
        n = max(self.n, 1)
        seen = (self.actual > 0) | (self.predicted > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(self.predicted > 0, self.tp / self.predicted, 0.0)[seen]
            rec = np.where(self.actual > 0, self.tp / self.actual, 0.0)[seen]
            b2 = self.beta**2
            den = b2 * prec + rec
            f = np.where(den > 0, (1 + b2) * prec * rec / den, 0.0)
        mean = lambda a: float(a.mean()) if a.size else 0.0  # noqa: E731
        return [
            (f"{objective}_objective", self.loss_sum / n, "loss"),
            ("multiclass_accuracy", self.correct / n, "score"),
            (f"multiclass_top_k_accuracy_{self.top_k}", self.top_correct / n, "score"),
            ("dcg", self.dcg / n, "score"),
            (f"macro_f_{self.beta:.3f}", mean(f), "score"),
            ("macro_precision", mean(prec), "score"),
            ("macro_recall", mean(rec), "score"),
        ]


@dataclass
class RegressionMetrics:
    """Streaming accumulator of the final regression metrics (label units)."""

    loss_sum: float = 0.0
    sq: float = 0.0
    ab: float = 0.0
    n: int = 0

    def update(self, pred: np.ndarray, y: np.ndarray, loss: np.ndarray) -> None:
        """Add a batch of predictions in label units and their loss (label units)."""
        r = pred.astype(np.float64) - y
        self.sq += float(np.sum(r * r))
        self.ab += float(np.sum(np.abs(r)))
        self.loss_sum += float(loss.sum())
        self.n += len(y)

    def results(self, objective: str) -> list[tuple[str, float, str]]:
        """``(name, value, kind)`` in SageMaker's order."""
        n = max(self.n, 1)
        return [
            (f"{objective}_objective", self.loss_sum / n, "loss"),
            ("mse", self.sq / n, "loss"),
            ("absolute_loss", self.ab / n, "loss"),
            ("rmse", float(np.sqrt(self.sq / n)), "loss"),
        ]
