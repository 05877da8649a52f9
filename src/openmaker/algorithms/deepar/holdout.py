"""Back-testing on known series: hold out the last ``prediction_length`` points, forecast them,
score the forecasts (``openmaker forecast --holdout``, the ``test`` channel's way).

:func:`split_holdout` cuts each record's ``target`` (and a ``dynamic_feat`` that covers the
held-out window, ``len(target) + prediction_length`` long, down to ``len(target)`` so it still
covers the window); :func:`holdout_scores` scores the forecasts with
:func:`~openmaker.algorithms.deepar.evaluation.forecast_scores` under SageMaker's ``test:``
metric names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from openmaker.algorithms.deepar.evaluation import forecast_scores
from openmaker.errors import ValidationError


def _number(v: Any) -> float:
    if v is None or (isinstance(v, str) and v.strip().lower() == "nan"):
        return math.nan
    return float(v)


def split_holdout(
    instances: Sequence[Mapping[str, Any]], prediction_length: int
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """Cut the last ``prediction_length`` points off each record.

    Returns:
        ``(records, actuals)``: the shortened records (other fields kept) and, per record, the
        held-out values (float64, NaN where missing).

    Raises:
        ValidationError: a record that is not an object, has no list ``target``, or has no
            more than ``prediction_length`` points (one point of history must remain).
    """
    if prediction_length < 1:
        raise ValidationError(f"prediction_length must be at least 1, got {prediction_length}")
    records, actuals = [], []
    for i, obj in enumerate(instances):
        if not isinstance(obj, Mapping):
            raise ValidationError(f"instances[{i}]: expected a JSON object")
        target = obj.get("target")
        if not isinstance(target, list | tuple | np.ndarray):
            raise ValidationError(f"instances[{i}]: field 'target': expected a list of numbers")
        n = len(target)
        if n <= prediction_length:
            raise ValidationError(
                f"instances[{i}]: field 'target': {n} points; holding out prediction_length "
                f"({prediction_length}) needs at least {prediction_length + 1}"
            )
        try:
            held = np.array([_number(v) for v in target[n - prediction_length :]])
        except (TypeError, ValueError):
            raise ValidationError(
                f"instances[{i}]: field 'target': the held-out values are not numbers"
            ) from None
        record = dict(obj)
        record["target"] = list(target[: n - prediction_length])
        dyn = obj.get("dynamic_feat")
        if isinstance(dyn, list | tuple) and dyn and all(len(row) == n for row in dyn):
            # len(target) long: it now covers the cut target plus the held-out window
            record["dynamic_feat"] = [list(row) for row in dyn]
        elif isinstance(dyn, list | tuple) and dyn:
            width = n + prediction_length
            if all(len(row) == width for row in dyn):
                record["dynamic_feat"] = [list(row[:n]) for row in dyn]
        records.append(record)
        actuals.append(held)
    return records, actuals


def holdout_scores(
    actuals: Sequence[np.ndarray], predictions: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """The test scores of ``predictions`` (SageMaker's objects) against ``actuals``.

    Returns:
        ``{"test:RMSE": ..., "test:mean_absolute_QuantileLoss": ..., "test:mean_wQuantileLoss":
        ..., "test:wQuantileLoss[0.1]": ..., ...}`` over every quantile level of the
        predictions (each must have ``mean``; quantiles must have the same levels).

    Raises:
        ValidationError: a prediction without ``mean``, or whose levels differ from the first.
    """
    if len(actuals) != len(predictions):
        raise ValidationError(f"{len(predictions)} predictions for {len(actuals)} held-out series")
    if not predictions:
        raise ValidationError("no series to score")
    levels = sorted((predictions[0].get("quantiles") or {}), key=float)
    means: list[np.ndarray] = []
    quantiles: dict[float, list[np.ndarray]] = {float(q): [] for q in levels}
    for i, pred in enumerate(predictions):
        if pred.get("mean") is None:
            raise ValidationError(f"predictions[{i}]: field 'mean' is missing")
        means.append(np.array([_number(v) for v in pred["mean"]]))
        got = pred.get("quantiles") or {}
        if sorted(got, key=float) != levels:
            raise ValidationError(
                f"predictions[{i}]: field 'quantiles' has levels {sorted(got)}, predictions[0] "
                f"has {levels}"
            )
        for q in levels:
            quantiles[float(q)].append(np.array([_number(v) for v in got[q]]))
    scores = forecast_scores(actuals, means, quantiles)
    return {f"test:{name}": value for name, value in scores.items()}
