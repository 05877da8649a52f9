"""Streaming moment statistics of LDA's spectral method (Anandkumar et al.).

For a document with word counts ``c`` (``n = Σc`` words) the unbiased estimators of the word
co-occurrence moments are (Anandkumar, Foster, Hsu, Kakade, Liu 2012, "A spectral algorithm
for latent Dirichlet allocation"; Zou et al. 2013, appendix)::

    E2 = (c cᵀ - diag(c)) / (n (n-1))                                     (n >= 2)
    E3 = (c⊗c⊗c - Σ_ij c_i c_j (e_i⊗e_i⊗e_j + e_i⊗e_j⊗e_i + e_j⊗e_i⊗e_i)
          + 2 Σ_i c_i e_i⊗e_i⊗e_i) / (n (n-1) (n-2))                      (n >= 3)

averaged over documents, with ``M1`` the average of ``c / n``. LDA's second moment is
``M2 = E2 - α0/(α0+1) M1 M1ᵀ``. The V x V matrix and the V x V x V tensor are never formed:

* :class:`RangeStats` accumulates ``E2 Ω`` for a V x ℓ matrix ``Ω`` (a Gaussian test matrix,
  then an orthonormal basis): ``Σ_d w_d (c_d (c_dᵀ Ω) - diag(c_d) Ω)`` is
  ``Cᵀ diag(w) (C Ω) - diag(Cᵀ w) Ω`` per batch, sparse products only. Memory O(V ℓ).
* :class:`WhitenedThirdMoment` accumulates ``E3(W, W, W)`` for the V x k whitening matrix
  ``W``: with ``Y = C W``, the ``c⊗c⊗c`` part is ``Σ w y⊗y⊗y`` (k x k x k), the pair part
  is ``Σ_i W_i⊗W_i⊗P_i`` for the V x k accumulator ``P = Cᵀ diag(w) Y``, and the diagonal
  part needs only ``s = Cᵀ w`` (V). Memory O(V k + k³).

All statistics are sums over documents (float64), so batch boundaries do not change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

#: Rows x k² floats per block of the ``y⊗y⊗y`` accumulation (about 16 MiB of float64).
_OUTER_FLOATS = 1 << 21


def _lengths(C: sp.csr_matrix) -> np.ndarray:
    return np.asarray(C.sum(axis=1), dtype=np.float64).reshape(-1)


def _weights(n: np.ndarray, order: int) -> np.ndarray:
    """``1 / (n (n-1) ... (n-order+1))``, zero for documents shorter than ``order`` words."""
    denom = np.ones_like(n)
    for j in range(order):
        denom = denom * (n - j)
    w = np.zeros_like(n)
    ok = n >= order
    w[ok] = 1.0 / denom[ok]
    return w


@dataclass
class FirstMoment:
    """``M1`` and the document counts (accumulated alongside the first pass).

    Attributes:
        docs: documents seen.
        docs2: documents with at least 2 words (the second-moment estimator's).
        docs3: documents with at least 3 words (the third-moment estimator's).
        words: total words.
        total: Σ_d c_d / n_d, shape (V,).
    """

    total: np.ndarray
    docs: int = 0
    docs2: int = 0
    docs3: int = 0
    words: float = 0.0

    @classmethod
    def empty(cls, vocabulary: int) -> FirstMoment:
        """No documents yet."""
        return cls(np.zeros(vocabulary))

    def update(self, C: sp.csr_matrix) -> None:
        """Add one batch of documents (CSR counts, no empty rows)."""
        n = _lengths(C)
        self.total += np.asarray(C.T @ (1.0 / n)).reshape(-1)
        self.docs += int(C.shape[0])
        self.docs2 += int(np.count_nonzero(n >= 2))
        self.docs3 += int(np.count_nonzero(n >= 3))
        self.words += float(n.sum())

    @property
    def mean(self) -> np.ndarray:
        """``M1``: the average word distribution of a document."""
        return self.total / max(self.docs, 1)


@dataclass
class RangeStats:
    """``Σ_d w_d (c_d c_dᵀ - diag(c_d)) Ω`` for a fixed V x ℓ matrix ``Ω``.

    Attributes:
        omega: Ω, shape (V, ℓ).
        E2_omega: the sum, shape (V, ℓ).
    """

    omega: np.ndarray
    E2_omega: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        if self.E2_omega.shape != self.omega.shape:
            self.E2_omega = np.zeros_like(self.omega)

    def update(self, C: sp.csr_matrix) -> None:
        """Add one batch of documents."""
        w = _weights(_lengths(C), 2)
        Y = np.asarray(C @ self.omega) * w[:, None]
        self.E2_omega += np.asarray(C.T @ Y)
        self.E2_omega -= np.asarray(C.T @ w).reshape(-1, 1) * self.omega

    def m2_times(self, first: FirstMoment, alpha0: float) -> np.ndarray:
        """``M2 Ω = E2 Ω - α0/(α0+1) M1 (M1ᵀ Ω)`` once every document was added."""
        m1 = first.mean
        E2 = self.E2_omega / max(first.docs2, 1)
        return E2 - (alpha0 / (alpha0 + 1.0)) * np.outer(m1, m1 @ self.omega)


def row_kron(A: np.ndarray) -> np.ndarray:
    """Row-wise Kronecker square: row i of the result is ``vec(a_i a_iᵀ)``, shape (n, k²)."""
    n, k = A.shape
    return (A[:, :, None] * A[:, None, :]).reshape(n, k * k)


@dataclass
class WhitenedThirdMoment:
    """The sums behind ``E3(W, W, W)`` for a fixed V x k whitening matrix ``W``.

    Attributes:
        W: shape (V, k).
        cube: Σ_d w_d y_d⊗y_d⊗y_d, stored as (k², k).
        pairs: P = Σ_d w_d c_d y_dᵀ, shape (V, k).
        singles: s = Σ_d w_d c_d, shape (V,).
    """

    W: np.ndarray
    cube: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    singles: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        V, k = self.W.shape
        if self.cube.shape != (k * k, k):
            self.cube = np.zeros((k * k, k))
        if self.pairs.shape != (V, k):
            self.pairs = np.zeros((V, k))
        if self.singles.shape != (V,):
            self.singles = np.zeros(V)

    def update(self, C: sp.csr_matrix) -> None:
        """Add one batch of documents."""
        k = self.W.shape[1]
        w = _weights(_lengths(C), 3)
        Y = np.asarray(C @ self.W)
        Yw = Y * w[:, None]
        step = max(1, _OUTER_FLOATS // (k * k))
        for lo in range(0, Y.shape[0], step):
            hi = lo + step
            self.cube += row_kron(Y[lo:hi]).T @ Yw[lo:hi]
        self.pairs += np.asarray(C.T @ Yw)
        self.singles += np.asarray(C.T @ w).reshape(-1)

    def tensor(self, docs3: int) -> np.ndarray:
        """``E3(W, W, W)``, shape (k, k, k), once every document was added."""
        k = self.W.shape[1]
        WW = row_kron(self.W)  # V x k²
        pair = (WW.T @ self.pairs).reshape(k, k, k)  # [a, b, c] = Σ_i W_ia W_ib P_ic
        corrections = pair + pair.transpose(0, 2, 1) + pair.transpose(2, 0, 1)
        diagonal = (WW.T @ (self.W * self.singles[:, None])).reshape(k, k, k)
        total = self.cube.reshape(k, k, k) - corrections + 2.0 * diagonal
        return total / max(docs3, 1)


def whitened_m3(E3w: np.ndarray, m: np.ndarray, alpha0: float) -> np.ndarray:
    """LDA's whitened third moment from ``E3(W,W,W)`` and ``m = Wᵀ M1``.

    ``M3 = E3 - α0/(α0+2) (E2⊗M1 + its two other placements) + 2α0²/((α0+2)(α0+1)) M1⊗M1⊗M1``
    with ``Wᵀ E2 W = I + α0/(α0+1) m mᵀ`` (``Wᵀ M2 W = I`` by construction of ``W``).
    The result is symmetrised.
    """
    k = m.shape[0]
    E2w = np.eye(k) + (alpha0 / (alpha0 + 1.0)) * np.outer(m, m)
    a = np.einsum("ab,c->abc", E2w, m)
    placements = a + a.transpose(0, 2, 1) + a.transpose(2, 0, 1)
    cube = np.einsum("a,b,c->abc", m, m, m)
    T = (
        E3w
        - (alpha0 / (alpha0 + 2.0)) * placements
        + (2.0 * alpha0**2 / ((alpha0 + 2.0) * (alpha0 + 1.0))) * cube
    )
    return symmetrise(T)


def symmetrise(T: np.ndarray) -> np.ndarray:
    """The average of a 3-way tensor over its six index permutations."""
    perms = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    return sum(T.transpose(p) for p in perms) / 6.0  # type: ignore[return-value]
