"""The epoch loop every torch algorithm runs: train an epoch, log, stop early, keep the best.

The algorithm supplies ``run_epoch(epoch) -> {"train:total_loss": ..., "validation:...": ...}``
(the epoch's metrics, keyed ``channel:name``) and callbacks to snapshot its best model and its
checkpoint state; :func:`run_epochs` prints SageMaker's lines for every metric::

    #quality_metric: host=algo-1, epoch=3, validation total_loss <loss>=6.12
    #progress_metric: host=algo-1, completed 40 % of epochs

feeds the monitored metric to :class:`~openmaker.algorithms.common.torch.early_stopping.
EarlyStopping`, calls ``on_best`` when it improves, saves a checkpoint after every epoch, and
stops when the rule fires (logging ``#early_stopping_criteria_metric`` and a plain line).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openmaker.algorithms.common.metric_log import Kind, MetricLog
from openmaker.algorithms.common.torch.checkpoint import Checkpointer
from openmaker.algorithms.common.torch.early_stopping import EarlyStopping


@dataclass
class LoopResult:
    """What :func:`run_epochs` did.

    Attributes:
        epochs_run: epochs trained in total (resumed ones included).
        stopped_early: whether the early-stopping rule ended training.
        best_epoch: 0-based index of the best epoch of the monitored metric.
        best_value: its value.
        history: every epoch's metrics, in order.
        seconds: wall time of the epochs run by this call.
    """

    epochs_run: int
    stopped_early: bool
    best_epoch: int
    best_value: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def log_metrics(
    log: MetricLog,
    metrics: Mapping[str, float],
    *,
    epoch: int | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> None:
    """One ``#quality_metric`` line per ``channel:name`` entry (``<loss>`` unless ``kinds``)."""
    for key, value in metrics.items():
        channel, _, name = key.partition(":")
        kind = (kinds or {}).get(key, "loss")
        log.quality(channel, name, float(value), kind, epoch=epoch)


def run_epochs(
    *,
    epochs: int,
    run_epoch: Callable[[int], Mapping[str, float]],
    monitor: str,
    stopper: EarlyStopping,
    log: MetricLog,
    on_best: Callable[[int], None],
    checkpoint: Checkpointer | None = None,
    checkpoint_state: Callable[[], dict[str, Any]] | None = None,
    start_epoch: int = 0,
    history: list[dict[str, float]] | None = None,
    kinds: Mapping[str, Kind] | None = None,
    quiet: bool = False,
) -> LoopResult:
    """Run epochs ``start_epoch .. epochs - 1`` (see the module docstring).

    Args:
        epochs: the total number of epochs (``epochs`` hyperparameter).
        run_epoch: trains one epoch and returns its metrics (must include ``monitor``).
        monitor: the ``channel:name`` early stopping watches (e.g. ``validation:total_loss``).
        stopper: the stopping rule (its history continues a resumed run).
        log: where the lines go.
        on_best: called with the epoch when ``monitor`` reaches its best value so far.
        checkpoint: saves ``checkpoint_state()`` plus the loop's own state after each epoch.
        checkpoint_state: the algorithm's state (modules, optimizer, RNG...).
        start_epoch: the first epoch to run (a restored checkpoint's epoch + 1).
        history: metrics of the epochs already run (restored from a checkpoint).
        kinds: ``<loss>`` or ``<score>`` per metric (default ``<loss>``).
        quiet: do not print the per-epoch lines (hosts other than the leader).

    Raises:
        KeyError: ``run_epoch`` did not report ``monitor``.
    """
    result = LoopResult(
        epochs_run=start_epoch,
        stopped_early=False,
        best_epoch=stopper.best_epoch,
        best_value=stopper.best,
        history=list(history or []),
    )
    start = time.perf_counter()
    if start_epoch and stopper.should_stop:  # resumed after the rule had already fired
        result.stopped_early = True
    epoch = start_epoch
    while epoch < epochs and not result.stopped_early:
        metrics = dict(run_epoch(epoch))
        if monitor not in metrics:
            raise KeyError(f"run_epoch did not report the monitored metric {monitor!r}")
        result.history.append(metrics)
        if not quiet:
            log_metrics(log, metrics, epoch=epoch, kinds=kinds)
            log.progress(100.0 * (epoch + 1) / epochs)
        if stopper.update(metrics[monitor]):
            on_best(epoch)
        result.epochs_run = epoch + 1
        if stopper.should_stop and epoch + 1 < epochs:
            result.stopped_early = True
            if not quiet:
                log.early_stopping(epoch, monitor, metrics[monitor])
                log.info(
                    f"Early stopping at epoch {epoch}: {monitor} changed by less than "
                    f"{stopper.tolerance:g} (relative) over the last {stopper.patience} epochs"
                )
        if checkpoint is not None:
            state = dict(checkpoint_state() if checkpoint_state else {})
            state["loop"] = {
                "epoch": epoch,
                "stopper": stopper.state_dict(),
                "history": result.history,
            }
            checkpoint.save(state)
        epoch += 1
    result.best_epoch = stopper.best_epoch
    result.best_value = stopper.best
    result.seconds = time.perf_counter() - start
    return result
