"""SageMaker's Linear Learner: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor scikit-learn; :class:`LinearLearnerEstimator`
and :class:`LinearLearnerModel` are loaded on first use.

Decisions on points the reference leaves open (details in the module docstrings):

* ``auto`` values, the grid of parallel models and ``num_models=auto`` = 32:
  :mod:`.settings`.
* Normalisation: the scaler comes from the *first* ``num_point_for_scaler`` rows (no extra
  pass); sparse data is scaled but not centred unless ``unbias_data=true``; the scaler is
  folded into the weights so sparse batches stay sparse: :mod:`.scaler`.
* Loss parameters (``huber_delta``, ``loss_insensitivity``) are in label units even when the
  label is normalised; every objective value printed is in label units.
* Selection and threshold calibration on the validation channel, else on the scaler sample of
  the train channel; early stopping on the selection criterion (binary, with validation) or
  the loss; the weights of the best epoch are kept: :mod:`.train`, :mod:`.evaluate`.
* Sparse RecordIO-protobuf training data is accepted (UNCONFIRMED for SageMaker).
* ``text/csv`` inference answers are given (UNCONFIRMED for SageMaker): :mod:`.model`.
* No ``seed`` hyperparameter exists in SageMaker's LL; the initial weights use a fixed seed,
  so the same data and hyperparameters give the same model byte for byte.
* File mode keeps decoded batches in memory between epochs up to 2 GiB
  (``OPENMAKER_LINEAR_LEARNER_CACHE_BYTES``); Pipe mode streams every epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.linear_learner.estimator import LinearLearnerEstimator
    from openmaker.algorithms.linear_learner.model import LinearLearnerModel

__all__ = ["LinearLearnerEstimator", "LinearLearnerModel"]


def __getattr__(name: str) -> Any:
    if name == "LinearLearnerEstimator":
        from openmaker.algorithms.linear_learner.estimator import LinearLearnerEstimator

        return LinearLearnerEstimator
    if name == "LinearLearnerModel":
        from openmaker.algorithms.linear_learner.model import LinearLearnerModel

        return LinearLearnerModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
