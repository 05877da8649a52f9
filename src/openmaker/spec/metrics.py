"""Metric definitions: SageMaker's metric name, the log-line regex, and the direction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MetricDefinition:
    """A metric an algorithm prints and the platform parses out of the log.

    Attributes:
        name: SageMaker's name, e.g. ``validation:rmse``.
        regex: a regular expression with one group capturing the value, matched against each
            log line (SageMaker's own regexes, byte for byte where known).
        direction: ``Minimize`` or ``Maximize`` (what "better" means when tuning).
        tunable: whether hyperparameter tuning may use it as its objective.
    """

    name: str
    regex: str
    direction: Literal["Minimize", "Maximize"] = "Minimize"
    tunable: bool = True
    _compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def pattern(self) -> re.Pattern[str]:
        """The compiled regex (compiled once per definition)."""
        if self._compiled is None:
            object.__setattr__(self, "_compiled", re.compile(self.regex))
        assert self._compiled is not None
        return self._compiled

    def match(self, line: str) -> float | None:
        """The value this metric has on ``line``, or ``None`` if the line does not carry it."""
        m = self.pattern().search(line)
        if m is None:
            return None
        try:
            text = m.group(1)
        except IndexError:
            return None
        try:
            return float(text)
        except (TypeError, ValueError):
            # A greedy ``(\S+)`` may run into the next field (``0.5#011validation-...``):
            # read the number it starts with, as CloudWatch metric filters do.
            lead = _LEADING_NUMBER.match(text or "")
            return float(lead.group(0)) if lead else None


_LEADING_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.I)


def format_log_line(line: str) -> str:
    """Log lines as CloudWatch shows them: a tab becomes ``#011``.

    SageMaker's metric regexes are written against CloudWatch's rendering, so the metric
    parser applies the same transformation before matching.
    """
    return line.replace("\t", "#011")
