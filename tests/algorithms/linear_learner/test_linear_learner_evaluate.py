"""Threshold calibration, the per-epoch grid criterion and ROC AUC against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.linear_learner.evaluate import calibrate, criterion_values, roc_auc

CRITERIA = ["accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision"]


def _brute(s: np.ndarray, y: np.ndarray, criterion: str) -> float:
    """Best criterion over every threshold 'predict 1 when score > t', one by one."""
    best = -np.inf
    P = y.sum()
    for t in np.concatenate([[s.max() + 1], np.unique(s)]):
        pred = s > t
        tp = float((pred & (y > 0)).sum())
        k = float(pred.sum())
        precision = tp / k if k else 1.0
        recall = tp / P
        if criterion == "accuracy":
            v = (pred == (y > 0)).mean()
        elif criterion == "f_beta":
            v = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        elif criterion == "precision_at_target_recall":
            v = precision if recall >= 0.8 else -np.inf
        else:
            v = recall if precision >= 0.8 and k else -np.inf
        best = max(best, v)
    return float(best)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_exact_calibration_matches_brute_force_with_ties(criterion):
    rng = np.random.default_rng(3)
    s = np.round(rng.random(300), 2)  # many ties
    y = (rng.random(300) < s).astype(np.float32)
    values, thresholds = calibrate(s[:, None], y, criterion)
    assert values[0] == pytest.approx(_brute(s, y, criterion))
    pred = s > thresholds[0]
    if criterion == "accuracy":
        assert (pred == (y > 0)).mean() == pytest.approx(values[0])


@pytest.mark.parametrize("criterion", CRITERIA)
def test_grid_criterion_is_close_to_exact_for_every_model(criterion):
    rng = np.random.default_rng(0)
    n, M = 20_000, 5
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * z))).astype(np.float32)
    S = 1 / (1 + np.exp(-(z[:, None] * rng.uniform(0.5, 2, M) + rng.normal(size=(n, M)) * 0.3)))
    exact, _ = calibrate(S, y, criterion)
    grid = criterion_values(S, y, criterion)
    assert grid.shape == (M,)
    assert np.all(grid <= exact + 1e-12)  # grid thresholds are a subset of the exact ones
    np.testing.assert_allclose(grid, exact, atol=2e-3)


def test_grid_criterion_handles_constant_scores():
    y = np.array([0, 1, 1, 0, 1], dtype=np.float32)
    S = np.full((5, 2), 0.5)
    np.testing.assert_allclose(criterion_values(S, y, "accuracy"), [0.6, 0.6])


def test_roc_auc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    s = np.round(rng.random(5000), 2)
    y = (rng.random(5000) < s).astype(float)
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert np.isnan(roc_auc(s, np.ones_like(y)))


@pytest.mark.parametrize("bins", [8, 64, 1 << 14])
def test_accuracy_slack_bounds_the_exact_value(bins):
    # coarse grids and heavy ties: the exact best accuracy never exceeds grid + largest bin
    rng = np.random.default_rng(bins)
    n, M = 3_000, 12
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * z))).astype(np.float32)
    S = 1 / (1 + np.exp(-(z[:, None] * rng.uniform(0.2, 3, M) + rng.normal(size=(n, M)))))
    S[:, ::3] = np.round(S[:, ::3], 1)
    exact, _ = calibrate(S, y, "accuracy")
    slack: list[np.ndarray] = []
    grid = criterion_values(S, y, "accuracy", bins=bins, slack=slack)
    assert np.all(exact <= grid + slack[0] + 1e-12)
    assert np.all(grid <= exact + 1e-12)


def test_model_selection_with_slack_picks_the_exact_winner():
    from types import SimpleNamespace

    from openmaker.algorithms.linear_learner.train import _Calibration

    rng = np.random.default_rng(7)
    n, M = 5_000, 32
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * z))).astype(np.float32)
    S = 1 / (1 + np.exp(-(z[:, None] * rng.uniform(0.5, 2, M) + rng.normal(size=(n, M)) * 0.5)))
    settings = SimpleNamespace(
        criterion="accuracy", f_beta=1.0, target_precision=0.8, target_recall=0.8, loss="logistic"
    )
    cal = _Calibration.__new__(_Calibration)
    cal.scores, cal.labels = [S], [y]
    cal._binned = cal._slack = cal._exact = None
    values, thresholds = cal.criterion(settings)  # type: ignore[arg-type]
    exact, exact_thr = calibrate(S, y, "accuracy", default_threshold=0.5)
    m = int(np.argmax(exact))
    assert int(np.argmax(values)) == m
    assert values[m] == exact[m] and thresholds[m] == exact_thr[m]
