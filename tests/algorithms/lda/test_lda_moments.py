"""The streamed moments equal the textbook estimators, and the tensor decomposition finds a
known orthogonal decomposition."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from openmaker.algorithms.lda.moments import (
    FirstMoment,
    RangeStats,
    WhitenedThirdMoment,
    whitened_m3,
)
from openmaker.algorithms.lda.tensor import decompose


def _docs(seed: int = 0, n: int = 40, V: int = 7) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    X = rng.poisson(0.8, size=(n, V)).astype(float)
    X[X.sum(axis=1) == 0, 0] = 1.0
    X[0] = 0.0
    X[0, 3] = 2.0  # a 2-word document: in E2, not in E3
    return sp.csr_matrix(X)


def _dense_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M1, E2, E3 by the per-document formulas, with explicit V x V (x V) arrays."""
    V = X.shape[1]
    m1 = np.mean(X / X.sum(axis=1, keepdims=True), axis=0)
    E2, E3 = np.zeros((V, V)), np.zeros((V, V, V))
    n2 = n3 = 0
    eye = np.eye(V)
    for c in X:
        n = c.sum()
        if n >= 2:
            E2 += (np.outer(c, c) - np.diag(c)) / (n * (n - 1))
            n2 += 1
        if n >= 3:
            t = np.einsum("i,j,k->ijk", c, c, c)
            for i in range(V):
                for j in range(V):
                    w = c[i] * c[j]
                    if w:
                        t -= w * np.einsum("a,b,c->abc", eye[i], eye[i], eye[j])
                        t -= w * np.einsum("a,b,c->abc", eye[i], eye[j], eye[i])
                        t -= w * np.einsum("a,b,c->abc", eye[j], eye[i], eye[i])
                t[i, i, i] += 2 * c[i]
            E3 += t / (n * (n - 1) * (n - 2))
            n3 += 1
    return m1, E2 / n2, E3 / n3


def test_streamed_moments_match_the_dense_estimators_whatever_the_batches() -> None:
    C = _docs()
    X = C.toarray()
    V, alpha0 = X.shape[1], 0.7
    m1, E2, E3 = _dense_moments(X)
    M2 = E2 - alpha0 / (alpha0 + 1) * np.outer(m1, m1)
    omega = np.random.default_rng(1).normal(size=(V, 3))
    W = np.random.default_rng(2).normal(size=(V, 3))
    for step in (1, 7, 40):
        first, ranged, third = FirstMoment.empty(V), RangeStats(omega), WhitenedThirdMoment(W)
        for lo in range(0, X.shape[0], step):
            first.update(C[lo : lo + step])
            ranged.update(C[lo : lo + step])
            third.update(C[lo : lo + step])
        assert np.allclose(first.mean, m1)
        n = X.sum(axis=1)
        assert (first.docs2, first.docs3) == ((n >= 2).sum(), (n >= 3).sum())
        assert np.allclose(ranged.m2_times(first, alpha0), M2 @ omega)
        assert np.allclose(third.tensor(first.docs3), np.einsum("abc,ai,bj,ck->ijk", E3, W, W, W))


def test_population_moments_whiten_to_an_orthogonal_tensor() -> None:
    """With exact LDA moments, M3(W,W,W) = Σ λ_j v_j⊗3, v_j orthonormal, λ_j from α."""
    rng = np.random.default_rng(3)
    k, V, alpha0 = 3, 8, 1.5
    mu = rng.dirichlet(np.ones(V), size=k).T  # V x k
    alpha = np.array([0.3, 0.5, 0.7])
    m1 = mu @ alpha / alpha0
    M2 = (mu * (alpha / (alpha0 * (alpha0 + 1)))) @ mu.T
    E2 = M2 + alpha0 / (alpha0 + 1) * np.outer(m1, m1)
    b = 2 * alpha / (alpha0 * (alpha0 + 1) * (alpha0 + 2))
    M3 = np.einsum("j,aj,bj,cj->abc", b, mu, mu, mu)
    # E3 from M3 (inverting the moment identity)
    a = np.einsum("ab,c->abc", E2, m1)
    E3 = (
        M3
        + alpha0 / (alpha0 + 2) * (a + a.transpose(0, 2, 1) + a.transpose(2, 0, 1))
        - 2 * alpha0**2 / ((alpha0 + 2) * (alpha0 + 1)) * np.einsum("a,b,c->abc", m1, m1, m1)
    )
    lam, U = np.linalg.eigh(M2)
    lam, U = lam[-k:], U[:, -k:]
    W = U / np.sqrt(lam)
    T = whitened_m3(np.einsum("abc,ai,bj,ck->ijk", E3, W, W, W), W.T @ m1, alpha0)
    dec = decompose(T, k, restarts=5, iterations=200, tol=1e-12)
    recovered_alpha = 4 * alpha0 * (alpha0 + 1) / ((alpha0 + 2) ** 2 * dec.weights**2)
    assert np.allclose(np.sort(recovered_alpha), alpha, atol=1e-6)
    topics = U * np.sqrt(lam) @ dec.vectors
    topics /= topics.sum(axis=0)
    order = np.argsort(recovered_alpha)
    assert np.allclose(topics[:, order], mu, atol=1e-6)


def test_decompose_recovers_an_orthogonal_tensor_and_als_keeps_it() -> None:
    rng = np.random.default_rng(4)
    k = 5
    V = np.linalg.qr(rng.normal(size=(k, k)))[0]
    lam = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    T = np.einsum("j,aj,bj,cj->abc", lam, V, V, V)
    T_noisy = T + 1e-3 * rng.normal(size=T.shape)
    for refine in (False, True):
        dec = decompose(T_noisy, k, restarts=10, iterations=100, tol=1e-10, refine=refine)
        match = np.abs(dec.vectors.T @ V)
        assert np.all(match.max(axis=0) > 0.999)
        assert np.allclose(np.sort(dec.weights), np.sort(lam), atol=0.02)
    assert dec.als_sweeps >= 1
