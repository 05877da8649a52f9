"""The log lines SageMaker's first-party algorithms print, and metric definitions for them.

```
[11/24/2020 18:53:56 INFO 140513285547840] #quality_metric: host=algo-1, epoch=0, \
    train mse_objective <loss>=0.59
#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=0.9947
#progress_metric: host=algo-1, completed 100 % of epochs
#throughput_metric: host=algo-1, train throughput=22743.70 records/second
#early_stopping_criteria_metric: host=algo-1, epoch=14, criteria=sampled_accuracy, value=0.99
```
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Literal

from openmaker.spec.algorithm import TrainingContext
from openmaker.spec.metrics import MetricDefinition

Kind = Literal["loss", "score"]


class MetricLog:
    """Writes SageMaker-format metric lines through the training context."""

    def __init__(self, context: TrainingContext) -> None:
        self.context = context
        self.host = context.current_host

    def _prefix(self, level: str = "INFO") -> str:
        stamp = datetime.now().strftime("%m/%d/%Y %H:%M:%S")
        return f"[{stamp} {level} {os.getpid()}] "

    def info(self, message: str) -> None:
        """A plain log line with SageMaker's prefix."""
        self.context.print(self._prefix() + message)

    def warning(self, message: str) -> None:
        """A warning line with SageMaker's prefix."""
        self.context.print(self._prefix("WARNING") + message)

    def quality(
        self, channel: str, name: str, value: float, kind: Kind = "loss", epoch: int | None = None
    ) -> None:
        """``#quality_metric: host=algo-1[, epoch=N], <channel> <name> <kind>=<value>``."""
        ep = f", epoch={epoch}" if epoch is not None else ""
        self.context.print(
            f"{self._prefix()}#quality_metric: host={self.host}{ep}, {channel} {name} "
            f"<{kind}>={value:.10g}"
        )

    def progress(self, percent: float) -> None:
        """``#progress_metric: host=algo-1, completed 40 % of epochs``."""
        self.context.print(
            f"{self._prefix()}#progress_metric: host={self.host}, "
            f"completed {percent:.0f} % of epochs"
        )

    def throughput(self, records_per_second: float, channel: str = "train") -> None:
        """``#throughput_metric: host=algo-1, train throughput=22743.70 records/second``."""
        self.context.print(
            f"{self._prefix()}#throughput_metric: host={self.host}, {channel} "
            f"throughput={records_per_second:.2f} records/second"
        )

    def early_stopping(self, epoch: int, criteria: str, value: float) -> None:
        """``#early_stopping_criteria_metric: host=algo-1, epoch=14, criteria=..., value=...``."""
        self.context.print(
            f"{self._prefix()}#early_stopping_criteria_metric: host={self.host}, epoch={epoch}, "
            f"criteria={criteria}, value={value:.10g}"
        )

    def final_score(self, channel: str, name: str, value: float) -> None:
        """``#validation_score (algo-1) : ('binary_classification_accuracy', 0.9947)``."""
        self.context.print(f"#{channel}_score ({self.host}) : ({name!r}, {value:.10g})")


def quality_metric(
    metric_name: str,
    logged_name: str,
    kind: Kind = "loss",
    *,
    direction: Literal["Minimize", "Maximize"] | None = None,
    per_epoch: bool = False,
    tunable: bool = True,
) -> MetricDefinition:
    """The definition of ``<channel>:<x>`` parsed from a ``#quality_metric`` line.

    Args:
        metric_name: SageMaker's name, e.g. ``validation:mse``.
        logged_name: the name as printed; a regex fragment (``\\S+_objective``, ``binary_f_\\S+``).
        kind: ``loss`` or ``score`` (``<loss>=`` / ``<score>=`` in the line).
        direction: default Minimize for losses, Maximize for scores.
        per_epoch: match the per-epoch lines (with ``epoch=``) instead of the final ones.
    """
    channel = metric_name.split(":")[0]
    epoch = r"epoch=\S+, " if per_epoch else ""
    regex = f"#quality_metric: host=\\S+, {epoch}{channel} {logged_name} <{kind}>=(\\S+)"
    return MetricDefinition(
        metric_name,
        regex,
        direction or ("Minimize" if kind == "loss" else "Maximize"),
        tunable,
    )


def score_metric(metric_name: str, logged_name: str, **kw: object) -> MetricDefinition:
    """A ``<score>`` quality metric (maximised)."""
    return quality_metric(metric_name, logged_name, "score", **kw)  # type: ignore[arg-type]


def progress_metric() -> MetricDefinition:
    """``train:progress``."""
    return MetricDefinition(
        "train:progress", r"#progress_metric: host=\S+, completed (\S+) %", "Maximize", False
    )


def throughput_metric() -> MetricDefinition:
    """``train:throughput``."""
    return MetricDefinition(
        "train:throughput",
        r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
        "Maximize",
        False,
    )
