"""The scikit-learn parameter protocol for adapters that take SageMaker's hyperparameter names.

Every algorithm's scikit-learn adapter accepts ``**hyperparameters`` (names such as ``eta``,
``num_round``, ``predictor_type``, which are not Python identifiers of a fixed signature), so
``get_params`` / ``set_params`` / ``repr`` work on that dict instead of the ``__init__``
signature scikit-learn introspects by default. Put this class before ``BaseEstimator``.
"""

from __future__ import annotations

from typing import Any


class SageMakerParams:
    """``get_params``, ``set_params`` and ``repr`` over a dict of SageMaker hyperparameters."""

    def __init__(self, **hyperparameters: Any) -> None:
        self._hyperparameters = dict(hyperparameters)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters given (SageMaker names)."""
        return dict(self._hyperparameters)

    def set_params(self, **params: Any) -> Any:
        """Update hyperparameters; returns self."""
        self._hyperparameters.update(params)
        return self

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyperparameters.items())
        return f"{type(self).__name__}({args})"
