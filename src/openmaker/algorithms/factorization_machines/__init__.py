"""SageMaker's Factorization Machines: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor scikit-learn;
:class:`FactorizationMachinesEstimator` and :class:`FactorizationMachinesModel` are loaded on
first use.

Decisions on points the reference leaves open (UNCONFIRMED for SageMaker; details in the module
docstrings):

* Optimizer: Adam (beta1 0.9, beta2 0.999, bias-corrected), one learning rate and weight decay
  per group (bias / linear / factors), lazy row-sparse updates: only the rows of ``w`` and
  ``V`` whose columns occur in the mini-batch move (their moments too), as MXNet's
  ``row_sparse`` Adam does. This follows MXNet's sparse factorization-machine example, whose
  defaults are exactly SageMaker FM's: :mod:`.machine`.
* The ``None`` defaults (``eps`` 1e-8, ``rescale_grad`` 1 / batch rows, no clipping, uniform
  scale = the term's default sigma, constant value 0): :mod:`.settings`.
* The initial weights use a fixed seed (FM has no ``seed`` hyperparameter), so the same data
  and hyperparameters give the same model byte for byte. No shuffling: batches follow the
  order of the data, as SageMaker's RecordIO iterators do.
* Metric lines: per epoch ``train`` metrics (``rmse``; or ``binary_classification_accuracy``,
  ``binary_classification_cross_entropy``, ``binary_f_1.000``) and, with a ``test`` channel,
  the same names for ``test`` plus ``#test_score`` lines; the tunable metrics are the
  ``test:*`` ones: :mod:`.train`, :mod:`.spec`.
* Training data is RecordIO-protobuf only (dense or sparse, File or Pipe), as in SageMaker;
  inference takes JSON, JSON Lines and RecordIO-protobuf, not CSV: :mod:`.model`.
* Model artifact: ``model_algo-1`` is a NumPy ``.npz`` (``w0_weight``, ``w1_weight``, ``v``)
  instead of SageMaker's MXNet module zip: :mod:`.model`.
* File mode keeps decoded train batches in memory between epochs up to 2 GiB
  (``OPENMAKER_FM_CACHE_BYTES``); Pipe mode streams every epoch: :mod:`.inputs`.
* Memory: the model and its Adam moments take ``3 * feature_dim * (num_factors + 1) * 4``
  bytes (e.g. 1e6 features x 64 factors: 780 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.factorization_machines.estimator import (
        FactorizationMachinesEstimator,
    )
    from openmaker.algorithms.factorization_machines.model import FactorizationMachinesModel

__all__ = ["FactorizationMachinesEstimator", "FactorizationMachinesModel"]


def __getattr__(name: str) -> Any:
    if name == "FactorizationMachinesEstimator":
        from openmaker.algorithms.factorization_machines.estimator import (
            FactorizationMachinesEstimator,
        )

        return FactorizationMachinesEstimator
    if name == "FactorizationMachinesModel":
        from openmaker.algorithms.factorization_machines.model import FactorizationMachinesModel

        return FactorizationMachinesModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
