"""SageMaker's XGBoost algorithm mode: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package does not import xgboost; :class:`XGBoostEstimator` is loaded on first use.

Decisions on points the reference leaves open (see also the module docstrings):

* Metric lines: one line per round *and metric*, each exactly
  ``[<iter>]\\ttrain-<m>:<v>\\tvalidation-<m>:<v>`` (values with 5 decimals, as XGBoost's own
  monitor). With a single metric this is byte for byte what the container prints; with several
  it keeps every declared regex (``(\\S+)`` after ``#011``) matching one clean number.
* The ``train:<m>`` regexes (openmaker's own; SageMaker declares only ``validation:*``) capture
  ``([^#\\s]+)`` instead of ``(\\S+)``: after ``format_log_line`` the tab before the
  validation value reads ``#011``, which ``\\S+`` would swallow. The ``validation:*`` regexes
  are SageMaker's, unchanged.
* Informational lines are prefixed ``INFO:root:`` / ``WARNING:root:`` (as the container's
  Python logging prints them), so only metric lines start with ``[``.
* Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` unless already set (see
  ``_runtime.configure_openmp``): spinning OpenMP threads slow XGBoost 10-40x on a busy host.
* The model file ``xgboost-model`` is XGBoost's UBJSON format (what XGBoost 3 writes for a name
  without extension); it is loaded from bytes, so JSON and UBJSON both work. Pickled models of
  old images are not loaded (unpickling is unsafe).
* ``text/csv`` responses: one value per line for 1-D predictions, one comma-separated row per
  record for ``multi:softprob``; no trailing newline, except under batch transform
  (``SAGEMAKER_BATCH`` set), where every line ends with ``\\n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openmaker.algorithms.xgboost._runtime import configure_openmp

if TYPE_CHECKING:
    from openmaker.algorithms.xgboost.estimator import XGBoostEstimator
    from openmaker.algorithms.xgboost.model import XGBoostModel

__all__ = ["XGBoostEstimator", "XGBoostModel"]

# Before any submodule can load xgboost (or scikit-learn) and with it the OpenMP runtime.
configure_openmp()


def __getattr__(name: str) -> Any:
    if name == "XGBoostEstimator":
        from openmaker.algorithms.xgboost.estimator import XGBoostEstimator

        return XGBoostEstimator
    if name == "XGBoostModel":
        from openmaker.algorithms.xgboost.model import XGBoostModel

        return XGBoostModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
