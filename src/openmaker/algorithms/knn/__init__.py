"""SageMaker's k-NN: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor faiss; :class:`KNNModel`,
:class:`KNNClassifier` and :class:`KNNRegressor` are loaded on first use. faiss comes with the
``knn`` extra (``pip install 'openmaker[knn]'``, the ``faiss-cpu`` wheel); without it training
and loading fail with a MissingExtraError naming the extra.

Modules: ``inputs`` (checked labelled batches), ``sampling`` (the reservoir), ``projection``
(``sign`` / ``fjlt`` and the row -> index vector map), ``index`` (faiss), ``vote``
(classifier / regressor), ``encode`` (column-wise response bodies), ``train``, ``model``,
``estimator``.

Decisions on points the reference leaves open (``tabular-algorithms.md`` section 5):

* **Tie rule** (UNCONFIRMED in SageMaker): the classifier returns the most frequent label
  among the ``k`` neighbours and, among tied labels, the *smallest* label value (what
  scikit-learn's ``KNeighborsClassifier`` does).
* **Distances** in verbose responses: Euclidean (not squared) for ``L2``; ``1 - cos`` for
  ``COSINE`` (ascending, as "distances sorted smallest first" asks); the inner product itself
  for ``INNER_PRODUCT``, largest (nearest) first.
* **Metrics** (the exact SageMaker regex is UNCONFIRMED): ``test:accuracy`` and ``test:mse``
  parse ``#quality_metric: host=algo-1, test accuracy <score>=...`` /
  ``test mse <loss>=...``; the ``#test_score (algo-1) : ('accuracy', ...)`` line the
  documentation shows is printed too.
* **Hyperparameter rules**: ``k > sample_size`` is refused, as is ``k`` above the number of
  points actually sampled (data smaller than ``k``); ``dimension_reduction_target`` without
  ``dimension_reduction_type`` is refused (it would do nothing), so are ``faiss_index_pq_m``
  with an index other than ``faiss.IVFPQ`` and an integer ``faiss_index_ivf_nlists`` with
  ``faiss.Flat``. ``faiss_index_pq_m`` that does not divide the dimension follows SageMaker's
  documented rule (zero padding, or a raised ``dimension_reduction_target``) with a WARNING
  line in the log. Without ``faiss_index_pq_m``, IVFPQ uses the largest allowed value that
  divides the dimension with at least 4 dimensions per sub-vector.
* **Search parameters**: IVF indexes probe ``ceil(sqrt(nlist))`` lists per query (faiss's
  default of 1 loses most neighbours); a query whose probed lists hold fewer than ``k``
  points is searched again over every list. ``nprobe`` is editable in
  ``model_algo-1.json``.
* **Labels**: CSV training and test data have the label in the first column (``label_size``
  defaults to 1); exactly one label column; a channel without labels is refused.
* **Sampling** is a uniform reservoir (algorithm R) with a fixed seed, over the records in
  stream order; with at most ``sample_size`` records every record is indexed in order.
* **Multi-instance sampling** (``sample_size`` split across hosts) does not apply: training runs
  on one host (``supports_distributed=False``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.knn.estimator import KNNClassifier, KNNRegressor
    from openmaker.algorithms.knn.model import KNNModel

__all__ = ["KNNClassifier", "KNNModel", "KNNRegressor"]

_LAZY = {
    "KNNClassifier": "openmaker.algorithms.knn.estimator",
    "KNNRegressor": "openmaker.algorithms.knn.estimator",
    "KNNModel": "openmaker.algorithms.knn.model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
