"""An openmaker extension: variational-EM passes that refine the spectral topics.

SageMaker's LDA stops at the spectral estimate. The method of moments is consistent but not
statistically efficient: on a finite corpus its topics are noisier than a likelihood fit's
(the benchmark shows it), and likelihood methods need a good start, which the spectral
estimate is (cf. Zhang, Chen, Zhou & Jordan 2014, "Spectral methods meet EM"). With the
internal hyperparameter ``_em_passes`` = N > 0 (default 0: SageMaker's behaviour), training
runs N more passes over the corpus after the spectral fit; each pass is one EM step of LDA
with a point estimate of β and the prior α fixed (Blei, Ng & Jordan 2003, section 5.3):

* E-step per document: the variational γ under the current β
  (:func:`openmaker.algorithms.lda.inference.infer_gamma`, at most :data:`E_STEP_ITERATIONS`);
* sufficient statistics ``S_kw = Σ_d c_dw φ_dwk`` with ``φ_dwk ∝ β_kw exp(E[log θ_dk])``,
  accumulated over the streamed batches (memory k x V, not growing with the corpus);
* M-step: ``β_k = S_k / Σ_w S_kw``, floored like the spectral topics.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.lda.inference import dirichlet_expectation, infer_gamma

#: E-step iterations per document in a refinement pass.
E_STEP_ITERATIONS = 30
#: The smallest topic-word probability after an M-step (before renormalising).
BETA_FLOOR = 1e-8


def em_step(batches: Iterator[sp.csr_matrix], beta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """One EM pass over ``batches``: the new topic-word matrix (k x V, rows sum to 1)."""
    stats = np.zeros_like(beta)
    beta_t = np.ascontiguousarray(beta.T)
    for C in batches:
        gamma = infer_gamma(C, beta, alpha, max_iterations=E_STEP_ITERATIONS)
        e_theta = dirichlet_expectation(gamma)
        rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
        norm = np.einsum("ij,ij->i", e_theta[rows], beta_t[C.indices])
        norm[norm <= 0] = np.finfo(np.float64).tiny
        weighted = sp.csr_matrix((C.data / norm, C.indices, C.indptr), shape=C.shape)
        stats += np.asarray(weighted.T @ e_theta).T * beta
    stats += BETA_FLOOR
    return stats / stats.sum(axis=1, keepdims=True)
