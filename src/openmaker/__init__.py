"""openmaker: SageMaker's built-in algorithms and platform, self-hosted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AsyncInferenceConfig",
    "DataCaptureConfig",
    "Estimator",
    "HyperparameterTuner",
    "Model",
    "OpenmakerError",
    "Predictor",
    "TrainingJob",
    "Transformer",
    "__version__",
    "load_model",
]

if TYPE_CHECKING:  # pragma: no cover
    from openmaker.errors import OpenmakerError
    from openmaker.estimator import Estimator
    from openmaker.hosting.api import AsyncInferenceConfig, DataCaptureConfig, Model
    from openmaker.jobs.api import TrainingJob
    from openmaker.predictor import Predictor
    from openmaker.serving import load_model
    from openmaker.transform.api import Transformer
    from openmaker.tuning.api import HyperparameterTuner

_LAZY = {
    "Estimator": "openmaker.estimator:Estimator",
    "TrainingJob": "openmaker.jobs.api:TrainingJob",
    "load_model": "openmaker.serving:load_model",
    "OpenmakerError": "openmaker.errors:OpenmakerError",
    "Model": "openmaker.hosting.api:Model",
    "AsyncInferenceConfig": "openmaker.hosting.api:AsyncInferenceConfig",
    "DataCaptureConfig": "openmaker.hosting.api:DataCaptureConfig",
    "Predictor": "openmaker.predictor:Predictor",
    "Transformer": "openmaker.transform.api:Transformer",
    "HyperparameterTuner": "openmaker.tuning.api:HyperparameterTuner",
}


def __getattr__(name: str) -> Any:
    """Import public names lazily so ``import openmaker`` (and the CLI) start fast."""
    if name in _LAZY:
        import importlib

        module, _, attr = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'openmaker' has no attribute {name!r}")
