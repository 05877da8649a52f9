"""``_kfold``: k-fold cross-validation over train + validation, as the container does it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.algorithms.xgboost.boosting import _boost
from openmaker.algorithms.xgboost.checkpoints import MODEL_FILE, save_booster
from openmaker.algorithms.xgboost.inputs import (
    _check_labels,
    _concat,
    _dmatrix,
    align,
    read_channel,
)
from openmaker.algorithms.xgboost.params import _objective, _weight_column
from openmaker.errors import ValidationError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

if TYPE_CHECKING:
    from openmaker.data import Dataset
PREDICTIONS_FILE = "predictions.csv"


# --- k-fold cross-validation -------------------------------------------------------------------


def _train_kfold(
    hp: Mapping[str, Any],
    params: Mapping[str, Any],
    train_ch: ChannelInput,
    val_ch: ChannelInput | None,
    context: TrainingContext,
    container_metrics: list[str],
) -> None:
    from sklearn.model_selection import (
        RepeatedKFold,
        RepeatedStratifiedKFold,
    )

    from openmaker.algorithms.xgboost.model import combine_predictions
    from openmaker.data import Dataset

    weight_column = _weight_column(hp, train_ch)
    parts = [read_channel(train_ch, weight_column)]
    if val_ch is not None:
        parts.append(read_channel(val_ch, weight_column))
    if len(parts) == 2:
        parts[0], parts[1] = align(parts[0], parts[1])  # type: ignore[assignment]
    data = _concat(parts)
    assert data.y is not None
    y = data.y[:, 0] if data.y.ndim > 1 else data.y
    data = Dataset(data.X, y, data.weights)
    k = int(hp["_kfold"])
    repeats = int(hp.get("_num_cv_round") or 1)
    objective = _objective(hp)
    seed = int(hp.get("seed") or 0) % (2**32)
    classification = objective.startswith(("binary:", "multi:"))
    splitter: Any = (
        RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
        if classification
        else RepeatedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
    )
    nthread = int(params["nthread"])
    model_dir = Path(context.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    context.print(
        f"INFO:root:{k}-fold cross-validation, {repeats} repeat(s), over {data.n_rows} rows"
    )
    try:
        splits = list(splitter.split(np.zeros(data.n_rows), y))
    except ValueError as exc:
        raise ValidationError(f"_kfold={k} cannot split this data: {exc}") from exc

    oof: list[np.ndarray | None] = [None] * repeats
    finals: list[dict[str, dict[str, float]]] = []
    last_iteration = 0
    for i, (tr, te) in enumerate(splits):
        context.print(f"INFO:root:Fold {i}: training on {len(tr)} rows, validating on {len(te)}")
        dtr = _dmatrix(_take(data, tr), nthread)
        dte = _dmatrix(_take(data, te), nthread)
        _check_labels(hp, dtr, "train")
        history: dict[str, dict[str, list[float]]] = {}
        booster = _boost(
            hp, params, dtr, dte, context, container_metrics=container_metrics, history=history
        )
        save_booster(booster, model_dir / f"{MODEL_FILE}-{i}")
        best = booster.attr("best_iteration")
        end = int(best) + 1 if best is not None else booster.num_boosted_rounds()
        last_iteration = max(last_iteration, booster.num_boosted_rounds() - 1)
        finals.append(
            {d: {m: vals[end - 1] for m, vals in ms.items()} for d, ms in history.items()}
        )
        pred = booster.predict(dte, iteration_range=(0, end))
        repeat = i // k
        if oof[repeat] is None:
            oof[repeat] = np.zeros((data.n_rows, *pred.shape[1:]), dtype=np.float64)
        oof[repeat][te] = pred  # type: ignore[index]

    combined = combine_predictions([p for p in oof if p is not None], objective)
    out_dir = Path(context.output_dir) / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        ",".join(repr(float(v)) for v in row) if np.ndim(row) else repr(float(row))
        for row in combined
    ]
    (out_dir / PREDICTIONS_FILE).write_text("\n".join(lines) + "\n")
    context.print(f"INFO:root:Out-of-fold predictions written to data/{PREDICTIONS_FILE}")

    context.print(f"INFO:root:Mean over {len(finals)} folds:")
    metric_names: list[str] = []
    for f in finals:
        for m in f.get("train", {}):
            if m not in metric_names:
                metric_names.append(m)
    for metric in metric_names:
        line = f"[{last_iteration}]"
        for dataset in ("train", "validation"):
            vals = [f[dataset][metric] for f in finals if metric in f.get(dataset, {})]
            if vals:
                line += f"\t{dataset}-{metric}:{float(np.mean(vals)):.5f}"
        context.print(line)


def _take(data: Dataset, rows: np.ndarray) -> Dataset:
    from openmaker.data import Dataset

    return Dataset(
        data.X[rows],
        None if data.y is None else data.y[rows],
        None if data.weights is None else data.weights[rows],
    )
