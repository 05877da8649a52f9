"""Automatic model tuning: SageMaker's hyperparameter tuning jobs, searched with Optuna.

* :mod:`~openmaker.tuning.validation` checks a ``CreateHyperParameterTuningJob`` request;
* :mod:`~openmaker.tuning.service` creates, describes, lists and stops tuning jobs;
* :mod:`~openmaker.tuning.supervisor` runs one (its children are ordinary training jobs);
* :mod:`~openmaker.tuning.search` maps strategies to Optuna samplers and pruners;
* :mod:`~openmaker.tuning.api` is the Python API (:class:`HyperparameterTuner`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperparameterTuner",
    "IntegerParameter",
    "TuningJobService",
    "WarmStartConfig",
]

_LAZY = {
    "CategoricalParameter": "openmaker.tuning.api",
    "ContinuousParameter": "openmaker.tuning.api",
    "HyperparameterTuner": "openmaker.tuning.api",
    "IntegerParameter": "openmaker.tuning.api",
    "WarmStartConfig": "openmaker.tuning.api",
    "TuningJobService": "openmaker.tuning.service",
}


def __getattr__(name: str) -> Any:
    """Import lazily: the supervisor and the CLI import this package without Optuna's cost."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openmaker.tuning' has no attribute {name!r}")
