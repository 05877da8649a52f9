"""The settings a tuning job runs with, read from its validated ``HyperParameterTuningJobConfig``.

:func:`openmaker.tuning.validation.validate_request` checks a request and fills the defaults;
:class:`TuningSettings` is the typed view the supervisor and the describe code work from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openmaker.tuning.ranges import ParameterRange, parse_ranges

STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
EARLY_STOPPING_TYPES = ("Off", "Auto")
#: Static hyperparameters Hyperband reads ``MaxResource`` from when it is not given. SageMaker's
#: list, plus XGBoost's ``num_round`` (openmaker's addition: its rounds are the resource).
RESOURCE_HYPERPARAMETERS = (
    "epochs",
    "numepochs",
    "n-epochs",
    "n_epochs",
    "num_epochs",
    "num_round",
)
MAX_HYPERBAND_RESOURCE = 20_000


@dataclass(frozen=True)
class TuningSettings:
    """Everything the search needs, typed.

    Attributes:
        strategy: ``Bayesian``, ``Random``, ``Grid`` or ``Hyperband``.
        objective_name: the metric optimised (``validation:auc``).
        objective_type: ``Maximize`` or ``Minimize``.
        ranges: the searched hyperparameters.
        max_jobs: ``MaxNumberOfTrainingJobs``.
        max_parallel: ``MaxParallelTrainingJobs``.
        max_runtime: ``MaxRuntimeInSeconds`` of the whole tuning job, if set.
        early_stopping: ``Off`` or ``Auto``.
        target_value: ``TargetObjectiveMetricValue``, if set.
        max_not_improving: ``MaxNumberOfTrainingJobsNotImproving``, if set.
        random_seed: ``RandomSeed``, if set.
        min_resource: Hyperband's ``MinResource``.
        max_resource: Hyperband's ``MaxResource``.
    """

    strategy: str
    objective_name: str
    objective_type: str
    ranges: tuple[ParameterRange, ...]
    max_jobs: int
    max_parallel: int
    max_runtime: int | None = None
    early_stopping: str = "Off"
    target_value: float | None = None
    max_not_improving: int | None = None
    random_seed: int | None = None
    min_resource: int = 1
    max_resource: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TuningSettings:
        """Read a validated ``HyperParameterTuningJobConfig``."""
        objective = config["HyperParameterTuningJobObjective"]
        limits = config["ResourceLimits"]
        criteria = config.get("TuningJobCompletionCriteria") or {}
        not_improving = (criteria.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        )
        hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        target = criteria.get("TargetObjectiveMetricValue")
        return cls(
            strategy=config["Strategy"],
            objective_name=objective["MetricName"],
            objective_type=objective["Type"],
            ranges=tuple(parse_ranges(config.get("ParameterRanges") or {})),
            max_jobs=int(limits["MaxNumberOfTrainingJobs"]),
            max_parallel=int(limits["MaxParallelTrainingJobs"]),
            max_runtime=_int_or_none(limits.get("MaxRuntimeInSeconds")),
            early_stopping=config.get("TrainingJobEarlyStoppingType") or "Off",
            target_value=None if target is None else float(target),
            max_not_improving=_int_or_none(not_improving),
            random_seed=_int_or_none(config.get("RandomSeed")),
            min_resource=int(hyperband.get("MinResource") or 1),
            max_resource=_int_or_none(hyperband.get("MaxResource")),
        )

    @property
    def maximize(self) -> bool:
        """Whether larger objective values are better."""
        return self.objective_type == "Maximize"

    @property
    def tuned_names(self) -> tuple[str, ...]:
        """The names of the searched hyperparameters."""
        return tuple(r.name for r in self.ranges)

    def better(self, value: float, than: float | None) -> bool:
        """Whether ``value`` beats ``than`` (anything beats ``None``; NaN beats nothing)."""
        if math.isnan(value):
            return False
        if than is None or math.isnan(than):
            return True
        return value > than if self.maximize else value < than

    def reached_target(self, value: float) -> bool:
        """Whether ``value`` meets ``TargetObjectiveMetricValue``."""
        if self.target_value is None or math.isnan(value):
            return False
        return value >= self.target_value if self.maximize else value <= self.target_value


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
