"""From merged statistics to principal components.

* Regular mode: the top ``num_components`` eigenpairs of the (centred) scatter matrix,
  ``scipy.linalg.eigh`` restricted to that index range.
* Randomized mode: the top ``ℓ`` right singular vectors of the sketch ``C = B - (1/n) hᵀs``
  give a basis ``Q``; later passes give ``Z = X_cᵀX_c Q`` (subspace iteration,
  ``Q <- orth(Z)`` between passes) and, after the last, the Nyström approximation
  ``Z (QᵀZ)⁺ Zᵀ`` of the scatter matrix, whose top eigenpairs are the components (memory
  O(dℓ)).

Components are returned largest variance first, each with the sign that makes its largest
absolute entry positive (as scikit-learn does), so results are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.pca.stats import CovarianceStats, RefineStats, SketchStats

#: A centred feature with variance below this fraction of its mean square counts as constant.
CONSTANT_TOLERANCE = 1e-10

#: Eigenvalues below this fraction of the largest are rounding noise and reported as 0.
RANK_TOLERANCE = 1e-10


@dataclass(frozen=True)
class PCAResult:
    """The fitted components.

    Attributes:
        mean: what inference subtracts, shape (d,) (zeros when subtract_mean is false).
        components: shape (d, k), one unit-norm component per column, largest variance first.
        singular_values: shape (k,), descending: ``sqrt`` of the scatter-matrix eigenvalues.
        n: number of training rows.
        total_variance: trace of the scatter matrix (Σ‖x - mean‖²).
        constant_features: indices of features with zero variance.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    n: int
    total_variance: float
    constant_features: tuple[int, ...]

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """Share of the total variance along each component (zeros if there is none)."""
        if self.total_variance <= 0:
            return np.zeros_like(self.singular_values)
        return self.singular_values**2 / self.total_variance


def constant_features(n: int, total: np.ndarray, squares: np.ndarray) -> tuple[int, ...]:
    """Indices of the features whose values are all equal (zero centred variance)."""
    if n == 0:
        return ()
    centred = squares - total * total / n
    return tuple(int(j) for j in np.flatnonzero(centred <= CONSTANT_TOLERANCE * squares))


def flip_signs(V: np.ndarray) -> np.ndarray:
    """Each column multiplied by the sign of its largest absolute entry."""
    if V.size == 0:
        return V
    rows = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[rows, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def _top_eigh(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending, clipped at 0) and their eigenvectors."""
    from scipy.linalg import eigh

    d = S.shape[0]
    w, V = eigh(S, subset_by_index=[d - k, d - 1])
    order = np.argsort(w, kind="stable")[::-1]
    return _zero_noise(w[order]), V[:, order]


def _zero_noise(eigenvalues: np.ndarray) -> np.ndarray:
    """Negative eigenvalues and those within rounding noise of 0 set to exactly 0."""
    top = float(eigenvalues.max(initial=0.0))
    return np.where(eigenvalues > RANK_TOLERANCE * top, eigenvalues, 0.0)


def solve_regular(stats: CovarianceStats, k: int, subtract_mean: bool) -> PCAResult:
    """Components from the exact scatter matrix of the regular mode."""
    S = stats.scatter(subtract_mean)
    eigenvalues, V = _top_eigh(S, k)
    mean = stats.total / stats.n if (subtract_mean and stats.n) else np.zeros_like(stats.total)
    return PCAResult(
        mean=mean,
        components=flip_signs(V),
        singular_values=np.sqrt(eigenvalues),
        n=stats.n,
        total_variance=float(max(np.trace(S), 0.0)),
        constant_features=constant_features(stats.n, stats.total, stats.column_squares()),
    )


def sketch_basis(sketch: SketchStats, subtract_mean: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(Q, shift)``: the orthonormal basis (d x ℓ) of the sketch's row space, and the mean.

    ``Q`` is the right singular vectors of ``C``, completed with the coordinate directions the
    sketch does not reach when ``C`` has rank below ℓ (constant or duplicated features).
    """
    C = sketch.centred(subtract_mean)
    _, sv, Vt = np.linalg.svd(C, full_matrices=False)
    tol = (sv[0] if sv.size else 0.0) * max(C.shape) * np.finfo(np.float64).eps
    Q = Vt[sv > tol].T
    Q = _complete(Q, sketch.ell)
    shift = sketch.total / sketch.n if (subtract_mean and sketch.n) else np.zeros_like(sketch.total)
    return Q, shift


def _complete(U: np.ndarray, k: int) -> np.ndarray:
    """``U`` (d x r orthonormal) extended to ``k`` orthonormal columns (deterministically)."""
    d, r = U.shape
    if r >= k:
        return U[:, :k]
    # k coordinate axes U reaches least, projected off span(U): rank >= k - r, memory O(dk).
    axes = np.argsort(np.einsum("ij,ij->i", U, U), kind="stable")[:k]
    E = np.zeros((d, k))
    E[axes, np.arange(k)] = 1.0
    left, _, _ = np.linalg.svd(E - U @ (U.T @ E), full_matrices=False)
    return np.hstack([U, left[:, : k - r]])


def solve_randomized(
    sketch: SketchStats, refine: RefineStats, k: int, subtract_mean: bool
) -> PCAResult:
    """Components from the last refinement pass (Nyström eigendecomposition)."""
    Q, Z = refine.basis, refine.Z
    G = Q.T @ Z
    G = (G + G.T) / 2.0
    w, W = np.linalg.eigh(G)
    keep = w > max(float(w.max(initial=0.0)), 0.0) * G.shape[0] * np.finfo(np.float64).eps
    if keep.any():
        F = Z @ (W[:, keep] / np.sqrt(w[keep]))
        U, S, _ = np.linalg.svd(F, full_matrices=False)
        eigenvalues = S**2
    else:
        U, eigenvalues = np.zeros((Q.shape[0], 0)), np.zeros(0)
    r = min(k, U.shape[1])
    V = _complete(U[:, :r], k)
    values = np.zeros(k)
    values[:r] = _zero_noise(eigenvalues[:r])
    total = sketch.squares.sum()
    if subtract_mean and sketch.n:
        total -= float(sketch.total @ sketch.total) / sketch.n
    return PCAResult(
        mean=refine.shift.copy(),
        components=flip_signs(V),
        singular_values=np.sqrt(values),
        n=sketch.n,
        total_variance=float(max(total, 0.0)),
        constant_features=constant_features(sketch.n, sketch.total, sketch.squares),
    )
