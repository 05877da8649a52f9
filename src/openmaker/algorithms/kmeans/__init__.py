"""SageMaker's K-Means: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor scipy; :class:`KMeansModel` and
:class:`KMeansEstimator` are loaded on first use.

The algorithm (:mod:`openmaker.algorithms.kmeans.train`): web-scale mini-batch k-means over the
stream with ``K = k x extra_center_factor`` centres, then a weighted local Lloyd reduction of
those centres to ``k``. Modules: ``inputs`` (checked streamed batches), ``distance``
(vectorised nearest-centre search), ``seeding`` (random / kmeans++), ``state`` (the mergeable
streaming state), ``lloyd`` (the reduction), ``train``, ``model``, ``estimator``.

Decisions on points the reference leaves open (``tabular-algorithms.md`` section 3):

* ``extra_center_factor=auto`` is 10 and ``local_lloyd_num_trials=auto`` is 10, for every k
  (the values SageMaker's log showed for k=8; the general rule is unconfirmed).
* ``k`` accepts any positive integer (the documentation's domain; the SDK's ``k > 1`` is
  client-side only). ``k`` larger than the number of training records fails the job with a
  HyperparameterError naming ``k``. Data with fewer than ``k`` *distinct* records trains,
  with a WARNING line saying some centres are duplicates (scikit-learn does the same).
* **Unsupervised CSV**: ``text/csv`` without ``label_size`` is read as features only (as if
  ``label_size=0``, what the documentation asks users to declare); ``text/csv;label_size=N``
  drops N leading label columns. RecordIO-protobuf labels are ignored. Dense and sparse
  RecordIO-protobuf are accepted; sparse batches stay CSR.
* **Seeding** draws the ``K`` initial centres among the first ``max(mini_batch_size, K)``
  records of the stream (SageMaker draws them "from a small random batch"); ``kmeans++`` is
  the greedy variant (``2 + ln K`` candidates per step, as scikit-learn). All random draws use
  a fixed seed (0): SageMaker's K-Means has no seed hyperparameter, and the same data gives
  the same model bytes.
* **Half-life decay**: the weight of a centre's past points is multiplied by
  ``0.5 ** (records in the batch / half_life_time_size)`` before each mini-batch update.
* **Lloyd tolerance**: a trial stops when the squared centre movement of an iteration is at
  most ``local_lloyd_tol`` x the weighted mean per-feature variance of the streamed centres
  (scikit-learn's rule).
* **Refinement pass** (openmaker addition, see :mod:`~openmaker.algorithms.kmeans.train`):
  after the reduction, one more pass assigns the records to the ``k`` centres and moves each
  centre to the mean of its records (skipped for the move, not the pass, when
  ``half_life_time_size`` > 0, since the user asked for recency weighting). It costs one
  pass with ``k`` centres and brings the loss on structureless data from ~2 % to <1 % above a
  converged Lloyd. It also yields an exact ``train msd``.
* **Metrics**: per epoch ``#quality_metric: host=algo-1, epoch=N, train msd <loss>=`` (online
  loss of the streamed centres); at the end ``train msd <loss>=`` (training records to the
  final centre of their cluster, from the refinement pass) and, with a ``test``
  channel, ``test msd`` / ``test ssd`` as chosen by ``eval_metrics``. ``test:msd`` and
  ``test:ssd`` are tunable (SageMaker's tuning metrics); ``train:msd`` is not.
* **Inference**: ``distance_to_cluster`` is the plain Euclidean distance (not squared),
  ``closest_cluster`` a float (as SageMaker sends it). CSV responses are
  ``closest_cluster,distance_to_cluster`` a line.
* **Artifact**: ``model_algo-1`` is an ``.npz`` archive (see ``common.artifact``) with
  ``centers`` (k x feature_dim float32, what SageMaker's NDArray file holds) and ``weights``
  (training records per cluster in the refinement pass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.kmeans.estimator import KMeansEstimator
    from openmaker.algorithms.kmeans.model import KMeansModel

__all__ = ["KMeansEstimator", "KMeansModel"]


def __getattr__(name: str) -> Any:
    if name == "KMeansEstimator":
        from openmaker.algorithms.kmeans.estimator import KMeansEstimator

        return KMeansEstimator
    if name == "KMeansModel":
        from openmaker.algorithms.kmeans.model import KMeansModel

        return KMeansModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
