"""``train(hyperparameters, channels, context)`` for Factorization Machines.

1. every epoch streams the train channel once in ``mini_batch_size`` batches; each batch is
   one Adam step on the rows of ``w`` and ``V`` its columns use (:mod:`.machine`);
2. after each epoch the training metrics of that pass (predictions made before each step) are
   printed: ``#quality_metric: host=algo-1, epoch=N, train rmse <loss>=v`` (regressor) or
   ``train binary_classification_accuracy <score>``, ``train
   binary_classification_cross_entropy <loss>``, ``train binary_f_1.000 <score>`` (binary);
3. the model is saved (``model_algo-1``, see :mod:`.model`);
4. with a ``test`` channel, the final model is scored on it: ``#test_score (algo-1) :
   ('rmse', v)`` and ``#quality_metric: host=algo-1, test rmse <loss>=v`` (the lines the
   ``test:*`` tuning metrics read; their exact regexes are UNCONFIRMED, see :mod:`.spec`).

The same :func:`fit` and :func:`evaluate` serve the scikit-learn adapter on arrays in memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.common.artifact import save_model_arrays
from openmaker.algorithms.common.metric_log import MetricLog
from openmaker.algorithms.factorization_machines.inputs import Batch, ChannelBatches
from openmaker.algorithms.factorization_machines.machine import FactorizationMachine
from openmaker.algorithms.factorization_machines.metrics import Scores
from openmaker.algorithms.factorization_machines.settings import Settings, resolve
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Rows per batch when scoring the test channel.
EVAL_BATCH = 10_000
#: Version of the arrays layout in ``model_algo-1``.
ARTIFACT_FORMAT = 1


def fit(settings: Settings, batches: Iterable[Batch], log: MetricLog) -> FactorizationMachine:
    """Train a machine for ``settings.epochs`` passes over ``batches`` (re-iterable)."""
    fm = FactorizationMachine(settings)
    rows = 0
    started = time.perf_counter()
    for epoch in range(settings.epochs):
        scores = Scores(settings.binary)
        for batch in batches:
            scores.update(fm.train_batch(batch.X, batch.y), batch.y)
        rows += scores.n
        for name, value, kind in scores.results():
            log.quality("train", name, value, kind, epoch=epoch)  # type: ignore[arg-type]
        log.progress(100.0 * (epoch + 1) / settings.epochs)
    log.throughput(rows / max(time.perf_counter() - started, 1e-9))
    return fm


def evaluate(
    fm: FactorizationMachine, batches: Iterable[Batch], channel: str, log: MetricLog | None
) -> dict[str, float]:
    """Score the model on ``batches``; print the final lines of ``channel`` when ``log``."""
    scores = Scores(fm.settings.binary)
    for batch in batches:
        scores.update(fm.predict(batch.X), batch.y)
    results = scores.results()
    if log is not None:
        for name, value, _ in results:
            log.final_score(channel, name, value)
        for name, value, kind in results:
            log.quality(channel, name, value, kind)  # type: ignore[arg-type]
    return {name: value for name, value, _ in results}


def save(fm: FactorizationMachine, model_dir: str | Path) -> Path:
    """Write ``model_algo-1``: ``w0_weight`` (1,), ``w1_weight`` (d,), ``v`` (d, k)."""
    s = fm.settings
    meta: dict[str, Any] = {
        "algorithm": "factorization-machines",
        "format": ARTIFACT_FORMAT,
        "predictor_type": s.predictor_type,
        "feature_dim": s.feature_dim,
        "num_factors": s.num_factors,
        "training_parameters": s.as_log_dict(),
    }
    arrays = {
        "w0_weight": np.ascontiguousarray(fm.w0, dtype=np.float32),
        "w1_weight": np.ascontiguousarray(fm.w, dtype=np.float32),
        "v": np.ascontiguousarray(fm.V, dtype=np.float32),
    }
    return save_model_arrays(model_dir, arrays, meta)


def train(
    hyperparameters: Mapping[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train Factorization Machines and write ``model_algo-1`` into ``context.model_dir``."""
    settings = resolve(hyperparameters)
    log = MetricLog(context)
    log.info("Final configuration: " + json.dumps(settings.as_log_dict(), sort_keys=True))
    source = ChannelBatches(
        channels["train"],
        settings.mini_batch_size,
        settings.feature_dim,
        settings.binary,
        cache=settings.epochs > 1,
    )
    fm = fit(settings, source, log)
    save(fm, context.model_dir)
    test = channels.get("test")
    if test is not None:
        batches = ChannelBatches(
            test, EVAL_BATCH, settings.feature_dim, settings.binary, cache=False
        )
        evaluate(fm, batches, "test", log)
