"""LDA's spectral fit from streamed passes over the documents.

:func:`fit_spectral` takes ``passes``, a function that starts a new pass over the corpus (an
iterator of CSR count batches), and runs:

1. **range** pass: ``M1``, the document counts and ``M2 Ω`` for a seeded Gaussian V x ℓ
   ``Ω`` (ℓ = k + max(10, k), at most V): a randomized range finder (Halko, Martinsson &
   Tropp 2011) so that memory is O(V ℓ), never O(V²);
2. :data:`POWER_ITERATIONS` **power** pass(es): ``Q <- orth(M2 Q)`` (subspace iteration,
   which sharpens the basis when the spectrum decays slowly);
3. **Rayleigh-Ritz** pass: ``M2 Q`` again, the top-k eigenpairs ``(U, Λ)`` of ``Qᵀ M2 Q``
   give the whitening matrix ``W = Q U Λ^-1/2`` (``Wᵀ M2 W = I``);
4. **third-moment** pass: the whitened tensor ``M3(W, W, W)`` (k x k x k), decomposed by
   :func:`openmaker.algorithms.lda.tensor.decompose` into ``Σ λ_j v_j⊗3``;
5. **un-whitening**: topic ``j`` is ``(Wᵀ)⁺ v_j = Q U Λ^1/2 v_j`` with the sign that makes
   its mass positive, negative entries clipped to 0, renormalised to sum 1, then floored at
   :data:`BETA_FLOOR` (so no word has probability 0 in every topic) and renormalised;
   ``α_j = 4 α0 (α0+1) / ((α0+2)² λ_j²)`` (the moment identities of the Dirichlet),
   clipped to ``(0, α0]`` and scaled to sum to ``alpha0``. Topics are ordered by α,
   largest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.lda.moments import (
    FirstMoment,
    RangeStats,
    WhitenedThirdMoment,
    whitened_m3,
)
from openmaker.algorithms.lda.tensor import decompose
from openmaker.errors import DataFormatError

#: Subspace iterations between the range finder and the Rayleigh-Ritz pass.
POWER_ITERATIONS = 1
#: Seed of the range finder's test matrix and of the power method's starts (LDA has no seed).
SEED = 0
#: The smallest probability of a word in a topic (before the last renormalisation).
BETA_FLOOR = 1e-8
#: Whitening eigenvalues below this fraction of the largest are treated as this fraction.
EIGEN_FLOOR = 1e-10

Passes = Callable[[], Iterator[sp.csr_matrix]]


@dataclass
class LDAResult:
    """A fitted LDA model and what the fit saw.

    Attributes:
        alpha: Dirichlet prior, shape (k,).
        beta: topic-word distributions, shape (k, V), rows sum to 1.
        info: counts and diagnostics (documents, words, eigenvalues, iterations...).
        warnings: messages for the training log.
    """

    alpha: np.ndarray
    beta: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def sketch_size(num_topics: int, vocabulary: int) -> int:
    """ℓ, the columns of the range finder: ``k + max(10, k)``, at most V."""
    return min(vocabulary, num_topics + max(10, num_topics))


def _m2_times(passes: Passes, first: FirstMoment, basis: np.ndarray, alpha0: float) -> np.ndarray:
    stats = RangeStats(basis)
    for C in passes():
        stats.update(C)
    return stats.m2_times(first, alpha0)


def fit_spectral(
    passes: Passes,
    vocabulary: int,
    num_topics: int,
    *,
    alpha0: float = 1.0,
    max_restarts: int = 10,
    max_iterations: int = 1000,
    tol: float = 1e-8,
) -> LDAResult:
    """Fit LDA's topics and prior by the spectral method (see the module docstring).

    Args:
        passes: starts a new pass over the documents (CSR counts, no empty documents).
        vocabulary: V, the width of the count vectors.
        num_topics: k.
        alpha0, max_restarts, max_iterations, tol: the hyperparameters.

    Raises:
        DataFormatError: the corpus has no documents of three words or more (the third
            moment needs them).
    """
    k, V = num_topics, vocabulary
    ell = sketch_size(k, V)
    rng = np.random.default_rng(SEED)
    notes: list[str] = []

    # 1. range finder (with M1 and the counts)
    first = FirstMoment.empty(V)
    stats = RangeStats(rng.normal(size=(V, ell)))
    for C in passes():
        first.update(C)
        stats.update(C)
    if first.docs3 == 0:
        raise DataFormatError(
            f"LDA's spectral method needs documents of at least 3 words; none of the "
            f"{first.docs} documents has 3 words or more"
        )
    Q = np.linalg.qr(stats.m2_times(first, alpha0))[0]
    # 2. subspace iteration
    for _ in range(POWER_ITERATIONS):
        Q = np.linalg.qr(_m2_times(passes, first, Q, alpha0))[0]
    # 3. Rayleigh-Ritz
    Z = _m2_times(passes, first, Q, alpha0)
    S = Q.T @ Z
    eigenvalues, U = np.linalg.eigh((S + S.T) / 2.0)
    order = np.argsort(eigenvalues)[::-1][:k]
    lam, U = eigenvalues[order], U[:, order]
    floor = EIGEN_FLOOR * max(float(lam[0]), np.finfo(np.float64).tiny)
    weak = int(np.count_nonzero(lam < floor))
    if weak:
        notes.append(
            f"the second moment has only {k - weak} direction(s) with positive weight for "
            f"{k} topics: the data may hold fewer than num_topics topics (or too few documents)"
        )
    lam = np.maximum(lam, floor)
    W = Q @ (U / np.sqrt(lam))
    # 4. whitened third moment, decomposed
    third = WhitenedThirdMoment(W)
    for C in passes():
        third.update(C)
    T = whitened_m3(third.tensor(first.docs3), W.T @ first.mean, alpha0)
    dec = decompose(T, k, restarts=max_restarts, iterations=max_iterations, tol=tol, seed=SEED)
    # 5. un-whiten
    B = Q @ (U * np.sqrt(lam)) @ dec.vectors  # V x k, one topic per column (up to scale)
    signs = np.sign(B.sum(axis=0))
    signs[signs == 0] = 1.0
    B = np.clip(B * signs, 0.0, None)
    mass = B.sum(axis=0)
    empty = mass <= 0
    if empty.any():
        notes.append(f"{int(empty.sum())} topic(s) had no positive mass; set to the word mean")
        B[:, empty] = first.mean[:, None]
        mass = B.sum(axis=0)
    beta = (B / mass).T
    beta = beta + BETA_FLOOR
    beta /= beta.sum(axis=1, keepdims=True)
    weights = np.maximum(dec.weights * signs, np.finfo(np.float64).tiny)
    alpha = 4.0 * alpha0 * (alpha0 + 1.0) / ((alpha0 + 2.0) ** 2 * weights**2)
    alpha = np.clip(alpha, alpha0 * 1e-6, alpha0)
    alpha *= alpha0 / alpha.sum()
    order = np.argsort(-alpha, kind="stable")
    info = {
        "num_documents": first.docs,
        "num_words": first.words,
        "documents_for_third_moment": first.docs3,
        "sketch_size": ell,
        "passes": 3 + POWER_ITERATIONS,
        "whitening_eigenvalues": [float(x) for x in lam],
        "tensor_eigenvalues": [float(x) for x in dec.weights[order]],
        "power_iterations": dec.power_iterations,
        "als_sweeps": dec.als_sweeps,
    }
    return LDAResult(alpha[order], beta[order], info, notes)
