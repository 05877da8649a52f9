"""Early stopping on a declared metric, with the best epoch remembered.

SageMaker's rule (NTM, and the same words in other MXNet algorithms): training stops when the
relative change of the monitored loss stays below ``tolerance`` over the last
``num_patience_epochs`` epochs. Read as: after epoch ``e`` (with at least ``patience`` epochs
before it), let ``before`` be the best value up to epoch ``e - patience`` and ``recent`` the
best value of the last ``patience`` epochs; stop when ``recent`` does not improve on
``before`` by more than ``tolerance x |before|``. A metric that gets worse therefore stops
training too (it improves by less than the tolerance), and with ``patience >= epochs`` it never
fires (SageMaker: "set it above epochs to disable").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class EarlyStopping:
    """The stopping rule of the module docstring.

    Attributes:
        tolerance: the relative improvement under which the metric counts as flat.
        patience: ``num_patience_epochs``.
        mode: ``min`` for losses, ``max`` for scores.
        history: the monitored value of each epoch so far.
        best_epoch: index (0-based) of the best epoch, -1 before any.
    """

    tolerance: float
    patience: int
    mode: Literal["min", "max"] = "min"
    history: list[float] = field(default_factory=list)
    best_epoch: int = -1

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if self.tolerance < 0:
            raise ValueError(f"tolerance must be non-negative, got {self.tolerance}")

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    @property
    def best(self) -> float:
        """The best value so far (NaN before any epoch)."""
        return self.history[self.best_epoch] if self.best_epoch >= 0 else math.nan

    def update(self, value: float) -> bool:
        """Record one epoch's value; True when it is the best so far (keep that model)."""
        value = float(value)
        self.history.append(value)
        if not math.isfinite(value):
            return False
        if self.best_epoch < 0 or self._better(value, self.best):
            self.best_epoch = len(self.history) - 1
            return True
        return False

    @property
    def should_stop(self) -> bool:
        """Whether the rule fires after the epochs recorded so far."""
        if len(self.history) <= self.patience:
            return False
        head = [v for v in self.history[: -self.patience] if math.isfinite(v)]
        tail = [v for v in self.history[-self.patience :] if math.isfinite(v)]
        if not head:
            return False
        if not tail:
            return True
        pick = min if self.mode == "min" else max
        before, recent = pick(head), pick(tail)
        gain = (before - recent) if self.mode == "min" else (recent - before)
        return gain <= self.tolerance * max(abs(before), 1e-12)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {"history": list(self.history), "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave."""
        self.history = [float(v) for v in state["history"]]
        self.best_epoch = int(state["best_epoch"])
