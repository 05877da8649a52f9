"""SageMaker's IP Insights: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor pyarrow; :class:`IPInsightsModel` and
:class:`IPInsightsEstimator` are loaded on first use.

IP Insights learns, from ``entity,IPv4`` pairs (logins, API calls), embeddings whose dot
product is high for the pairs seen and low for random and shuffled pairs; the dot product of
a new pair tells how usual it is. Written in vectorised numpy (gathers, dot products, logistic
loss, manual gradients, row-sparse Adam), no deep-learning framework. Modules: ``ipv4``
(parsing), ``hashing`` (stable entity and prefix hashes), ``records`` (training CSV and
inference requests), ``network`` (embeddings, IP encoder), ``optim`` (lazy Adam),
``trainer`` (batches, negatives, step, AUC), ``train``, ``model``, ``estimator``.

Decisions on points the reference leaves open (``tabular-algorithms.md`` section 8):

* **Entity hashing**: slot = ``blake2b-64(utf-8 id) mod num_entity_vectors``; stable across
  processes (not Python's ``hash()``). Ids are trimmed of white space.
* **IP encoder** (UNCONFIRMED in SageMaker): the sum of embeddings of the address's /8, /16,
  /24 and /32 prefixes (the /24 and /32 hashed into 65,536 rows each), then
  ``num_ip_encoder_layers`` residual ReLU layers ``h <- h + relu(hW + b)``
  (:mod:`.network`).
* **Optimiser**: Adam (beta1 0.9, beta2 0.999, eps 1e-8) with lazy row updates of the
  embedding tables and ``weight_decay`` added to the gradient (MXNet's convention)
  (:mod:`.optim`).
* **Negatives**: R random addresses (uniform 32-bit) and S in-batch entity shuffles per
  positive; a shuffled pair that is really a pair of the same entity slot is left out of the
  loss and of the AUC. The loss is the mean binary cross-entropy over all pairs of a batch.
* **Input**: ``text/csv`` only; File **and Pipe** mode (SageMaker documents File mode only;
  both stream here, memory bounded by a shuffle pool of 8 batches). Bad lines fail the job
  with a DataFormatError naming file and line: missing or extra column, empty entity id,
  invalid address, IPv6 address (not supported, as in SageMaker), a header row.
* **validation:discriminator_auc**: the validation pairs with negatives generated the same
  way (fixed seed, same negatives after every epoch), AUC of the dot products.
* **Seed**: none in SageMaker; a fixed seed (0) makes the same data give the same model bytes.
* **Artifact**: ``model_algo-1`` is an ``.npz`` archive (see ``common.artifact``) with
  ``entity_embedding``, ``ip_prefix_{8,16,24,32}``, ``ip_layer_{i}_weight/bias`` and the
  settings in the metadata.
* **Inference**: ``text/csv``, ``application/json``, ``application/jsonlines`` in; JSON or
  JSON Lines out, ``{"dot_product": ...}`` per pair, plus ``entity_embedding`` and
  ``ip_embedding`` with ``;verbose=True`` on the Accept type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.ip_insights.estimator import IPInsightsEstimator
    from openmaker.algorithms.ip_insights.model import IPInsightsModel

__all__ = ["IPInsightsEstimator", "IPInsightsModel"]


def __getattr__(name: str) -> Any:
    if name == "IPInsightsEstimator":
        from openmaker.algorithms.ip_insights.estimator import IPInsightsEstimator

        return IPInsightsEstimator
    if name == "IPInsightsModel":
        from openmaker.algorithms.ip_insights.model import IPInsightsModel

        return IPInsightsModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
