"""SageMaker's PCA: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor scipy; :class:`PCAModel` and
:class:`PCAEstimator` are loaded on first use.

Decisions on points the reference leaves open (``tabular-algorithms.md`` section 4):

* **Projection** = ``(x - mean) · v`` with ``subtract_mean=true``, ``x · v`` otherwise (the
  artifact's ``mean`` is then zeros, so ``(x - mean) · v`` always holds). It is not scaled by
  the singular values (no whitening).
* **Order**: components and singular values are stored and returned *largest variance first*.
  One SageMaker artifact dump showed ``s`` in ascending order, which suggests its projections
  list the smallest-variance component first; that is a single undocumented observation, and
  every PCA user (and scikit-learn, and SageMaker's own docs, which call them the "top"
  components) expects the first coordinate to be the most important one, so openmaker orders
  descending. No other order is offered.
* **Signs**: each component's largest absolute entry is positive (scikit-learn's convention),
  so the same data gives the same model.
* **Unsupervised input**: ``text/csv`` without ``label_size`` is read as features only
  (``label_size=0``); ``text/csv;label_size=N`` drops N leading label columns. RecordIO labels
  are ignored.
* **Metrics**: SageMaker has no PCA tuning metric. openmaker logs
  ``train explained_variance_ratio <score>=`` and, with a ``test`` channel,
  ``test reconstruction_error <loss>=`` and ``test explained_variance_ratio <score>=``; all
  declared non-tunable.
* **Randomized mode** adds two passes (subspace iteration, then a Nyström eigensolution) to
  SageMaker's one-pass sketch, so its explained variance matches scikit-learn's randomized
  solver; see :mod:`openmaker.algorithms.pca.train`.
* ``num_components > feature_dim`` is refused (HyperparameterError); in randomized mode the
  sketch size ``num_components + extra_components`` is capped at ``feature_dim``.
* ``mini_batch_size`` is the minimum number of rows streamed at a time; larger blocks
  (about 8 MiB) are read for speed. The statistics are sums over rows, so this does not change
  the regular mode's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.pca.estimator import PCAEstimator
    from openmaker.algorithms.pca.model import PCAModel

__all__ = ["PCAEstimator", "PCAModel"]


def __getattr__(name: str) -> Any:
    if name == "PCAEstimator":
        from openmaker.algorithms.pca.estimator import PCAEstimator

        return PCAEstimator
    if name == "PCAModel":
        from openmaker.algorithms.pca.model import PCAModel

        return PCAModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
