"""Per-document topic mixtures under fitted topics, and the per-word log-likelihood.

SageMaker finds each document's mixture by a gradient method that maximises the likelihood
given (α, β); its steps and iteration counts are not documented (UNCONFIRMED). openmaker uses
the standard **variational E-step** of LDA with the topics fixed (Blei, Ng & Jordan 2003;
the E-step of scikit-learn's and gensim's LDA), vectorised over a sparse batch::

    γ_d <- α + exp(E[log θ_d]) ⊙ (Cᵀ-weighted sums of β_w / (exp(E[log θ_d]) · β_w))

with ``E[log θ_dk] = ψ(γ_dk) - ψ(Σ_k γ_dk)``, started from ``γ = α + n_d / k`` and iterated
until the mean absolute change of γ is below :data:`TOLERANCE` per document or
:data:`MAX_ITERATIONS` times. The topic mixture is the posterior mean ``γ_d / Σ_k γ_dk``
(non-negative, sums to 1). A document with no words gets the prior mean ``α / Σα``.

The per-word log-likelihood of documents is ``Σ_d Σ_w c_dw log(θ_d · β_w) / Σ_d n_d`` with
``θ_d`` the document's mixture from its own words (SageMaker's ``test:pwll`` estimator is not
documented; UNCONFIRMED).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import psi

#: Mean absolute change of γ per topic below which a document has converged.
TOLERANCE = 1e-3
#: At most this many E-step iterations.
MAX_ITERATIONS = 100


def dirichlet_expectation(gamma: np.ndarray) -> np.ndarray:
    """``exp(E[log θ])`` under Dirichlet(γ), row by row: ``exp(ψ(γ_k) - ψ(Σ γ))``."""
    return np.exp(psi(gamma) - psi(gamma.sum(axis=1, keepdims=True)))


def infer_gamma(
    C: sp.csr_matrix,
    beta: np.ndarray,
    alpha: np.ndarray,
    *,
    max_iterations: int = MAX_ITERATIONS,
    tol: float = TOLERANCE,
) -> np.ndarray:
    """Variational Dirichlet parameters γ (n_docs x k) of documents ``C`` (CSR counts).

    Args:
        C: documents x vocabulary counts (non-negative).
        beta: topics x vocabulary, each row a distribution (strictly positive).
        alpha: the Dirichlet prior, shape (k,).
    """
    C = sp.csr_matrix(C, dtype=np.float64)
    n_docs = C.shape[0]
    k = beta.shape[0]
    lengths = np.asarray(C.sum(axis=1)).reshape(-1)
    gamma = np.tile(alpha, (n_docs, 1)) + (lengths / k)[:, None]
    rows = np.repeat(np.arange(n_docs), np.diff(C.indptr))
    cols = C.indices
    beta_t = np.ascontiguousarray(beta.T)  # V x k
    beta_nz = beta_t[cols]  # nnz x k
    active = np.ones(n_docs, dtype=bool)
    for _ in range(max_iterations):
        e_theta = dirichlet_expectation(gamma)
        norm = np.einsum("ij,ij->i", e_theta[rows], beta_nz)
        norm[norm <= 0] = np.finfo(np.float64).tiny
        weighted = sp.csr_matrix((C.data / norm, cols, C.indptr), shape=C.shape)
        new = alpha + e_theta * np.asarray(weighted @ beta_t)
        change = np.abs(new - gamma).mean(axis=1)
        gamma = np.where(active[:, None], new, gamma)
        active &= change >= tol
        if not active.any():
            break
    return gamma


def topic_mixtures(C: sp.csr_matrix, beta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Each document's topic mixture (rows sum to 1), shape (n_docs, k)."""
    gamma = infer_gamma(C, beta, alpha)
    theta = gamma / gamma.sum(axis=1, keepdims=True)
    lengths = np.asarray(C.sum(axis=1)).reshape(-1)
    if np.any(lengths == 0):
        theta[lengths == 0] = alpha / alpha.sum()
    return theta


def log_likelihood_sums(
    C: sp.csr_matrix, beta: np.ndarray, theta: np.ndarray
) -> tuple[float, float]:
    """``(Σ c_dw log(θ_d · β_w), Σ c_dw)`` over documents ``C``: sums, so batches add up."""
    C = sp.csr_matrix(C, dtype=np.float64)
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    p = np.einsum("ij,ji->i", theta[rows], beta[:, C.indices])
    p = np.maximum(p, np.finfo(np.float64).tiny)
    return float(np.dot(C.data, np.log(p))), float(C.data.sum())
