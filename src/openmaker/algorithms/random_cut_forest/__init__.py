"""SageMaker's Random Cut Forest: ``spec`` (constants), ``train``, ``model``, ``estimator``,
and a streaming forest (``streaming``).

Importing this package imports no numpy; :class:`RandomCutForestModel`,
:class:`StreamingRandomCutForestModel`, :class:`RandomCutForestEstimator` and
:class:`StreamingForest` are loaded on first use.

The algorithm (:mod:`~openmaker.algorithms.random_cut_forest.train`): a reservoir sample of
``num_trees x num_samples_per_tree`` records over the stream, cut into one share per tree, and
one random cut tree per share. Modules: ``sampling`` (the reservoir), ``forest`` (all trees as
flat numpy arrays), ``build`` (level-by-level construction of every tree at once), ``scoring``
(vectorised scoring of a batch through every tree), ``dynamic`` (insert / delete one point in
many trees at once), ``streaming`` (sliding window + shingling), ``inputs``, ``evaluate``,
``train``, ``model``, ``estimator``.

Decisions on points the reference leaves open (``tabular-algorithms.md`` section 6):

* **Score**: the open-source RCF library's anomaly score (reference 6.6), SageMaker's scale:
  about 1 for ordinary records, larger for anomalies; it is the expected displacement of the
  trees were the record inserted ("collusive displacement" in the RRCF paper's sense, in its
  expected, inverse-depth form), averaged over the trees. It is computed as if the record were
  inserted, without changing the model.
* **Precision**: points, boxes and cuts are float32 (the data is read as float32); a record is
  "seen" (the leaf-equals-point case) when it equals a sampled record in float32.
* **Seed**: SageMaker's RCF has no seed; all draws use the fixed seed 0, so the same data
  gives the same model bytes (File or Pipe mode, any ``mini_batch_size``).
* **Hyperparameters**: ``feature_dim`` (1..10000, required), ``num_trees`` (50..1000, 100),
  ``num_samples_per_tree`` (1..2048, 256), ``eval_metrics`` (``accuracy``,
  ``precision_recall_fscore``; both by default) and ``mini_batch_size`` (records read at a
  time; the SDK always sends 1000). Fewer training records than ``num_trees`` fail with a
  HyperparameterError naming ``num_trees``; fewer than ``num_trees x num_samples_per_tree``
  give ``floor(records / num_trees)`` points a tree, with a WARNING line.
* **Data**: ``text/csv`` training data is all features unless ``label_size`` says otherwise;
  sparse RecordIO is made dense. The ``test`` channel must be labelled (``text/csv`` with
  ``label_size`` 1, the default there, or RecordIO with ``label["values"]``); labels are 0
  (normal) or 1 (anomaly); an unlabelled test channel is a ChannelError.
* **Metrics** (names beyond ``test:f1`` are unconfirmed): records scoring more than three
  standard deviations above the mean test score are called anomalies, then
  ``#quality_metric: host=algo-1, test f1 <score>=`` is always logged (the tuning objective),
  ``test accuracy`` with ``eval_metrics`` ``accuracy``, and ``test precision`` / ``recall`` and
  the normal class's ``precision_neg`` / ``recall_neg`` / ``f1_neg`` with
  ``precision_recall_fscore``; each also as a ``#test_score (algo-1) : ('f1', ...)`` line.
* **Inference**: ``{"scores": [{"score": ...}]}`` (JSON), ``{"score": ...}`` per line
  (JSON Lines), ``label['score']`` (RecordIO), one score a line (CSV).
* **Artifact**: ``model_algo-1`` is an ``.npz`` archive (``common.artifact``) of the forest's
  arrays (:class:`~openmaker.algorithms.random_cut_forest.forest.Forest`) with the settings
  in the metadata.
* **Streaming** (an openmaker addition, as Kinesis Data Analytics' ``RANDOM_CUT_FOREST``):
  :class:`StreamingForest` scores then learns one record at a time over a sliding window with
  optional shingling, from Python or served by an endpoint (see
  :mod:`~openmaker.algorithms.random_cut_forest.model` for the serving contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.random_cut_forest.estimator import RandomCutForestEstimator
    from openmaker.algorithms.random_cut_forest.model import (
        RandomCutForestModel,
        StreamingRandomCutForestModel,
    )
    from openmaker.algorithms.random_cut_forest.streaming import StreamingForest

__all__ = [
    "RandomCutForestEstimator",
    "RandomCutForestModel",
    "StreamingForest",
    "StreamingRandomCutForestModel",
]

_LAZY = {
    "RandomCutForestEstimator": "estimator",
    "RandomCutForestModel": "model",
    "StreamingRandomCutForestModel": "model",
    "StreamingForest": "streaming",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
