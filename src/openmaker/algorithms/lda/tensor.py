"""Decomposing the whitened k x k x k moment tensor: ``T ≈ Σ_j λ_j v_j⊗v_j⊗v_j``.

After whitening, LDA's third moment is a symmetric tensor with an *orthogonal* decomposition
(the ``v_j`` orthonormal), found by

1. the **robust tensor power method** (Anandkumar, Ge, Hsu, Kakade, Telgarsky 2014, "Tensor
   decompositions for learning latent variable models", JMLR 15, algorithm 1): for each of
   the k components, ``max_restarts`` random unit starts are iterated together,
   ``θ <- T(I, θ, θ) / ‖T(I, θ, θ)‖``, until no start moves by more than ``tol`` or
   ``max_iterations`` iterations; the start with the largest ``T(θ, θ, θ)`` wins, is polished
   by the same iteration, and is deflated (``T <- T - λ θ⊗θ⊗θ``);
2. an **alternating least squares** refinement of all components together (CP-ALS, Kolda &
   Bader 2009, section 3.4), started from the power method's answer: each factor in turn is
   the least-squares solution ``T_(1) (C ⊙ B) (CᵀC * BᵀB)⁻¹``, until the relative change of
   the fit is below ``tol`` or ``max_iterations`` sweeps. The three factors' normalised
   columns are then averaged (signs aligned) into one symmetric answer. SageMaker's
   documentation names ALS with these three settings; how it initialises ALS is not
   documented (UNCONFIRMED), so openmaker starts ALS from the power method.

The random starts come from a fixed seed, so a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Decomposition:
    """``T ≈ Σ_j weights[j] vectors[:, j]⊗3``.

    Attributes:
        weights: λ_j, shape (k,).
        vectors: unit columns v_j, shape (k, k).
        power_iterations: iterations the power method ran, over all components.
        als_sweeps: ALS sweeps run.
    """

    weights: np.ndarray
    vectors: np.ndarray
    power_iterations: int
    als_sweeps: int


def apply_pairs(T: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """``T(I, θ, θ)`` for every column θ of ``thetas`` (k x r), shape (k, r).

    One matrix product: the mode-1 unfolding of ``T`` times the Khatri-Rao square of
    ``thetas`` (an einsum over three operands is much slower).
    """
    k = T.shape[0]
    return T.reshape(k, k * k) @ _khatri_rao(thetas, thetas)


def _iterate(
    T: np.ndarray, thetas: np.ndarray, iterations: int, tol: float
) -> tuple[np.ndarray, int]:
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - the count is returned
        new = apply_pairs(T, thetas)
        norms = np.linalg.norm(new, axis=0)
        norms[norms == 0] = 1.0
        new /= norms
        moved = float(np.max(np.abs(new - thetas)))
        thetas = new
        if moved < tol:
            break
    return thetas, done


def power_method(
    T: np.ndarray, rank: int, restarts: int, iterations: int, tol: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, int]:
    """The robust tensor power method with deflation: ``(weights, vectors, iterations)``."""
    k = T.shape[0]
    rng = np.random.default_rng(seed)
    R = np.array(T, dtype=np.float64, copy=True)
    weights = np.zeros(rank)
    vectors = np.zeros((k, rank))
    total = 0
    for j in range(rank):
        starts = rng.normal(size=(k, restarts))
        starts /= np.linalg.norm(starts, axis=0)
        thetas, n = _iterate(R, starts, iterations, tol)
        total += n
        values = np.einsum("ar,ar->r", thetas, apply_pairs(R, thetas))
        best = thetas[:, [int(np.argmax(values))]]
        best, n = _iterate(R, best, iterations, tol)
        total += n
        v = best[:, 0]
        lam = float(np.einsum("abc,a,b,c->", R, v, v, v))
        if lam < 0:  # an odd tensor: (-v, -λ) is the same term; keep λ > 0
            v, lam = -v, -lam
        weights[j], vectors[:, j] = lam, v
        R -= lam * np.einsum("a,b,c->abc", v, v, v)
    return weights, vectors, total


def _khatri_rao(B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Column-wise Kronecker product, rows indexed (b, c) -> b * len(C) + c."""
    k = B.shape[1]
    return (B[:, None, :] * C[None, :, :]).reshape(-1, k)


def als(
    T: np.ndarray, weights: np.ndarray, vectors: np.ndarray, sweeps: int, tol: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """CP-ALS refinement from ``(weights, vectors)``; returns the symmetrised result."""
    k = T.shape[0]
    scale = np.cbrt(np.abs(weights))
    A = vectors * scale
    B, C = A.copy(), A.copy()
    T1 = T.reshape(k, k * k)  # mode-1 unfolding, columns (b, c)
    T2 = T.transpose(1, 0, 2).reshape(k, k * k)  # mode-2, columns (a, c)
    T3 = T.transpose(2, 0, 1).reshape(k, k * k)  # mode-3, columns (a, b)
    norm = float(np.linalg.norm(T)) or 1.0
    previous = np.inf
    done = 0
    for done in range(1, sweeps + 1):  # noqa: B007 - the count is returned
        A = T1 @ _khatri_rao(B, C) @ np.linalg.pinv((B.T @ B) * (C.T @ C))
        B = T2 @ _khatri_rao(A, C) @ np.linalg.pinv((A.T @ A) * (C.T @ C))
        C = T3 @ _khatri_rao(A, B) @ np.linalg.pinv((A.T @ A) * (B.T @ B))
        approx = np.einsum("aj,bj,cj->abc", A, B, C, optimize=True)
        error = float(np.linalg.norm(T - approx)) / norm
        if abs(previous - error) < tol:
            break
        previous = error
    na, nb, nc = (np.linalg.norm(F, axis=0) for F in (A, B, C))
    na[na == 0] = nb[nb == 0] = nc[nc == 0] = 1.0
    An, Bn, Cn = A / na, B / nb, C / nc
    lam = na * nb * nc
    # Align the signs of B and C with A (a sign flip of two factors leaves the term unchanged).
    sb = np.sign(np.einsum("aj,aj->j", An, Bn))
    sc = np.sign(np.einsum("aj,aj->j", An, Cn))
    sb[sb == 0] = sc[sc == 0] = 1.0
    lam = lam * sb * sc
    V = An + Bn * sb + Cn * sc
    V /= np.linalg.norm(V, axis=0)
    neg = lam < 0
    V[:, neg] *= -1.0
    lam = np.abs(lam)
    return lam, V, done


def decompose(
    T: np.ndarray,
    rank: int,
    *,
    restarts: int,
    iterations: int,
    tol: float,
    refine: bool = True,
    seed: int = 0,
) -> Decomposition:
    """The robust tensor power method, then (``refine``) the ALS refinement."""
    weights, vectors, n_power = power_method(T, rank, restarts, iterations, tol, seed)
    sweeps = 0
    if refine:
        weights, vectors, sweeps = als(T, weights, vectors, iterations, tol)
    return Decomposition(weights, vectors, n_power, sweeps)
