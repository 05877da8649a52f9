"""Test-channel metrics: the three-sigma labelling and the binary scores SageMaker logs.

A record is labelled an anomaly when its score is more than three standard deviations above
the mean score of the test records (SageMaker's documented heuristic, reference 6.4). Anomaly
(label 1) is the positive class: ``precision`` / ``recall`` / ``f1`` are the anomaly class's,
``*_neg`` the normal class's. A ratio whose denominator is zero (e.g. no record flagged) is 0,
as scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Standard deviations above the mean score from which a record is called an anomaly.
SIGMAS = 3.0


def three_sigma_threshold(scores: np.ndarray) -> float:
    """``mean + 3 std`` of the scores (population standard deviation)."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(scores.mean() + SIGMAS * scores.std())


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


@dataclass(frozen=True)
class EvaluationMetrics:
    """Binary metrics of the three-sigma labelling against the true labels."""

    threshold: float
    records: int
    anomalies: int
    flagged: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    precision_neg: float
    recall_neg: float
    f1_neg: float

    @classmethod
    def compute(cls, scores: np.ndarray, labels: np.ndarray) -> EvaluationMetrics:
        """Metrics of ``scores`` (float, larger = more anomalous) against 0/1 ``labels``."""
        scores = np.asarray(scores, dtype=np.float64)
        truth = np.asarray(labels) == 1
        threshold = three_sigma_threshold(scores)
        pred = scores > threshold
        tp = float(np.sum(pred & truth))
        fp = float(np.sum(pred & ~truth))
        fn = float(np.sum(~pred & truth))
        tn = float(np.sum(~pred & ~truth))
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        precision_neg, recall_neg = _ratio(tn, tn + fn), _ratio(tn, tn + fp)
        return cls(
            threshold=threshold,
            records=len(scores),
            anomalies=int(truth.sum()),
            flagged=int(pred.sum()),
            accuracy=_ratio(tp + tn, len(scores)),
            precision=precision,
            recall=recall,
            f1=_f1(precision, recall),
            precision_neg=precision_neg,
            recall_neg=recall_neg,
            f1_neg=_f1(precision_neg, recall_neg),
        )

    def logged(self, eval_metrics: tuple[str, ...]) -> list[tuple[str, float]]:
        """``(name, value)`` of the metric lines to print: ``f1`` (the tuning objective) always,
        then ``accuracy`` and the precision / recall / F1 of both classes as asked."""
        out = [("f1", self.f1)]
        if "accuracy" in eval_metrics:
            out.append(("accuracy", self.accuracy))
        if "precision_recall_fscore" in eval_metrics:
            out += [
                ("precision", self.precision),
                ("recall", self.recall),
                ("precision_neg", self.precision_neg),
                ("recall_neg", self.recall_neg),
                ("f1_neg", self.f1_neg),
            ]
        return out
