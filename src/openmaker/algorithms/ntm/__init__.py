"""SageMaker's Neural Topic Model (``ntm``): ``spec``, ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor torch; :class:`NTMModel` and
:class:`NTMEstimator` are loaded on first use. Training needs the ``torch`` extra; inference
(:class:`NTMModel`) runs on numpy alone.

Modules: ``spec`` (constants), ``inputs`` (checked word-count batches, ``vocab.txt``),
``network`` (the PyTorch module), ``coherence`` (TU, WETC, NPMI), ``train``, ``model``,
``estimator``. The epoch loop, optimizers, early stopping and checkpoints are the shared torch
kit's (:mod:`openmaker.algorithms.common.torch`).

Decisions on points the reference leaves open (``text-timeseries-algorithms.md`` section 5):

* **Network** (:mod:`~openmaker.algorithms.ntm.network`): the encoder reads ``log(1 + x)``;
  ``g`` (latent -> topic weights) is a softmax; the KL term has weight 1 (no annealing);
  ``encoder_layers=auto`` is ``[3K, 2K]`` as documented; batch norm goes after each encoder
  layer, before the activation. The decoder bias starts at the corpus' log word frequencies.
* **Optimizers**: MXNet's constants; ``adadelta`` (the default) ignores ``learning_rate``,
  as SageMaker says ("does not need to be set"). See
  :mod:`openmaker.algorithms.common.torch.optim`.
* **Early stopping** (:mod:`openmaker.algorithms.common.torch.early_stopping`): stops when the
  best loss of the last ``num_patience_epochs`` epochs improves on the best before them by
  less than ``tolerance`` (relative); the best epoch's model is the one saved.
* **Losses** are per document (sums over documents / documents); ``perplexity`` is
  ``exp(total loss / words)``. Evaluation uses one fixed-seed noise sample per document.
* **Metric names**: ``total_loss`` (documented), ``recons_loss``, ``kl_divergence``,
  ``perplexity`` (UNCONFIRMED names) for ``train`` / ``validation`` / ``test``;
  ``train tu`` / ``train wetc`` ``<score>`` lines for the topic diagnostics. Only
  ``validation:total_loss`` is tunable, as documented.
* **WETC** uses PPMI word vectors learned from the training corpus, not GloVe (which cannot be
  shipped): see :mod:`~openmaker.algorithms.ntm.coherence`.
* **Bad input** fails the job: negative, fractional or non-finite counts, documents with no
  words, a ``vocab.txt`` whose size is not ``feature_dim``, or not UTF-8 (byte offset given),
  ``num_topics`` above ``feature_dim``.
* ``sub_sample`` must be above 0 (0 would train on nothing).
* **Several instances**: per-epoch model averaging over the hosts (see
  :mod:`~openmaker.algorithms.ntm.train`).
* **Inference** returns the posterior mean's softmax (no sampling); see
  :mod:`~openmaker.algorithms.ntm.model`. ``NTMModel.topic_word_matrix()`` gives the
  (topics, vocabulary) matrix the ``openmaker topics`` helper prints.
* **Artifact**: ``model_algo-1`` is an ``.npz`` archive (``common.artifact``) of the network's
  arrays by ``state_dict`` name (``decoder.weight`` = SageMaker's ``projection_weight``), the
  vocabulary when given, and the settings and final metrics in the metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.ntm.estimator import NTMEstimator
    from openmaker.algorithms.ntm.model import NTMModel

__all__ = ["NTMEstimator", "NTMModel"]


def __getattr__(name: str) -> Any:
    if name == "NTMEstimator":
        from openmaker.algorithms.ntm.estimator import NTMEstimator

        return NTMEstimator
    if name == "NTMModel":
        from openmaker.algorithms.ntm.model import NTMModel

        return NTMModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
