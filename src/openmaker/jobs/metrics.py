"""Metrics parsed from a job's log by regex, as SageMaker does from CloudWatch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from openmaker.spec.metrics import MetricDefinition, format_log_line
from openmaker.store import MetricPoint


class MetricParser:
    """Feeds log lines through metric definitions; keeps a step counter per metric."""

    def __init__(self, definitions: Iterable[MetricDefinition]) -> None:
        self.definitions: Sequence[MetricDefinition] = list(definitions)
        self._steps: dict[str, int] = {}

    def feed(self, line: str) -> list[MetricPoint]:
        """The metric points ``line`` carries (usually none)."""
        if not self.definitions:
            return []
        text = format_log_line(line)
        now = datetime.now(UTC)
        points = []
        for definition in self.definitions:
            value = definition.match(text)
            if value is None:
                continue
            step = self._steps.get(definition.name, 0)
            self._steps[definition.name] = step + 1
            points.append(MetricPoint(definition.name, value, now, step))
        return points


def definitions_for(
    spec_metrics: Iterable[MetricDefinition], user: Iterable[dict]
) -> list[MetricDefinition]:
    """The algorithm's definitions plus the user's ``MetricDefinitions`` (same name: user wins)."""
    merged = {m.name: m for m in spec_metrics}
    for item in user or ():
        merged[item["Name"]] = MetricDefinition(item["Name"], item["Regex"], tunable=False)
    return list(merged.values())


def job_definitions(
    algorithm: str, algorithm_specification: Mapping[str, Any]
) -> list[MetricDefinition]:
    """The metric definitions of a training job, as SageMaker parses and lists them.

    The algorithm's own definitions (empty when it is not registered), then the user's
    ``AlgorithmSpecification.MetricDefinitions`` (see :func:`definitions_for`). The job runner
    parses the log with these, and ``DescribeTrainingJob`` returns them.
    """
    from openmaker.algorithms import registry
    from openmaker.errors import OpenmakerError

    spec_metrics: Iterable[MetricDefinition] = ()
    with contextlib.suppress(OpenmakerError):  # not registered: the user's definitions only
        spec_metrics = registry.get(algorithm).metrics
    return definitions_for(spec_metrics, algorithm_specification.get("MetricDefinitions") or [])
