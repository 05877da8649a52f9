"""SageMaker's LDA: ``spec`` (constants), ``train``, ``model``, ``estimator``.

Importing this package imports neither numpy nor scipy; :class:`LDAModel` and
:class:`LDAEstimator` are loaded on first use.

The method is SageMaker's: the **spectral** method of moments for LDA (Anandkumar, Foster,
Hsu, Kakade & Liu 2012; Anandkumar, Ge, Hsu, Kakade & Telgarsky 2014, "Tensor decompositions
for learning latent variable models", JMLR 15), not variational Bayes or Gibbs sampling:
whitening by the second moment of word co-occurrence, decomposition of the whitened third
moment (robust tensor power method, then alternating least squares, Kolda & Bader 2009),
un-whitening to the topic-word distributions β and the prior α. The corpus is streamed in
mini-batches (:mod:`~openmaker.algorithms.lda.moments`, :mod:`~openmaker.algorithms.lda.solve`):
memory grows with vocabulary x topics, not with the number of documents.

Decisions on points the reference leaves open (``text-timeseries-algorithms.md`` section 6),
each UNCONFIRMED:

* **Second moment**: a randomized range finder (ℓ = k + max(10, k) columns, one subspace
  iteration, then Rayleigh-Ritz) instead of the V x V matrix; 4 passes over the data in all.
* **25% more topics**: SageMaker computes 1.25 x num_topics and keeps those with the largest
  α. openmaker decomposes exactly ``num_topics``: with the moment identities, a spurious
  (noise) component has a *small* tensor eigenvalue and therefore a *large* α, so keeping
  the largest α would keep noise; how SageMaker avoids that is not documented.
* **α** = ``4 α0 (α0+1) / ((α0+2)² λ²)`` per component, clipped to ``(0, α0]`` and scaled to
  sum to ``alpha0``; topics are stored largest α first (SageMaker: "arbitrary order").
* **β**: negative entries of the un-whitened topics are clipped, rows renormalised and
  floored at 1e-8 (no word has probability 0).
* **Inference**: the variational E-step under the fixed (α, β) (SageMaker: "stochastic
  gradient descent", no details); the mixture is the posterior mean. See
  :mod:`~openmaker.algorithms.lda.inference`.
* **test:pwll**: per-word log-likelihood ``Σ log(θ_d · β_w) / words`` with θ_d inferred from
  the document itself, logged as ``#quality_metric: host=algo-1, test pwll <score>=...``.
* **Seed**: LDA has no seed hyperparameter; the random matrices use a fixed seed (0).
* **mini_batch_size**: SageMaker requires it (the number of documents); here it is the
  most documents streamed at a time, capped at about 8 MiB of dense rows (at most 65536
  documents) so that memory does not grow with the corpus; it does not change the model.
* **Input**: CSV (File mode) and RecordIO-protobuf (File or Pipe, dense or sparse) word
  counts. Non-integer, negative or non-finite counts and documents with zero words fail the
  job naming the record; the spectral estimators use documents of >= 2 (second moment) and
  >= 3 words (third moment).
* **Single instance**: InstanceCount > 1 is refused (the platform refuses it for algorithms
  without distributed training; ``train`` refuses several hosts too).
* **Extension** (not SageMaker's, off by default): the internal hyperparameter
  ``_em_passes`` = N runs N variational-EM passes over the corpus after the spectral fit
  (:mod:`~openmaker.algorithms.lda.refine`): the spectral estimate is consistent but noisier
  than a likelihood fit on a finite corpus, and a few EM passes from it recover the topics
  better (``benchmarks/bench_lda.py``). α stays the spectral estimate.
* **Artifact**: ``model_algo-1`` holds ``alpha`` (k) and ``beta`` (k x V) as SageMaker's
  does, in openmaker's NumPy archive format rather than MXNet's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.algorithms.lda.estimator import LDAEstimator
    from openmaker.algorithms.lda.model import LDAModel

__all__ = ["LDAEstimator", "LDAModel"]


def __getattr__(name: str) -> Any:
    if name == "LDAEstimator":
        from openmaker.algorithms.lda.estimator import LDAEstimator

        return LDAEstimator
    if name == "LDAModel":
        from openmaker.algorithms.lda.model import LDAModel

        return LDAModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
