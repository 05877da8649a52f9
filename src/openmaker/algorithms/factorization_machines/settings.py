"""Typed training settings of Factorization Machines, with the ``None`` defaults resolved.

SageMaker documents several FM hyperparameters with the default ``None``; what the algorithm
does then is UNCONFIRMED (reference section 10). openmaker's choices:

* ``<term>_init_scale`` (uniform init) missing: the term's default ``init_sigma`` (0.01 for
  bias and linear, 0.001 for factors), so switching the method keeps the magnitude;
* ``<term>_init_value`` (constant init) missing: 0;
* ``eps`` missing: 1e-8 (MXNet's Adam default);
* ``rescale_grad`` missing: ``1 / rows of the batch``, so each step follows the mean gradient
  of the mini-batch (what MXNet's ``Module`` sets, ``1 / batch_size``, except that a short last
  batch is not scaled down);
* ``clip_gradient`` missing: no clipping.

The values of ``<term>_init_scale|sigma|value`` that do not match the term's init method are
accepted and ignored (as a tuning job may pass them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.factorization_machines.spec import SPEC, TERMS

DEFAULT_EPS = 1e-8
#: Seed of the initial weights: SageMaker's FM has no seed hyperparameter, and the same data and
#: hyperparameters must give the same model byte for byte.
INIT_SEED = 0
#: Adam's moment decays (MXNet's defaults; FM exposes no hyperparameter for them).
BETA1 = 0.9
BETA2 = 0.999


@dataclass(frozen=True)
class Init:
    """How one parameter group is initialised."""

    method: str
    scale: float
    sigma: float
    value: float

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Initial float32 values of the given shape."""
        if self.method == "normal":
            out = rng.standard_normal(shape, dtype=np.float32)
            out *= np.float32(self.sigma)
            return out
        if self.method == "uniform":
            out = rng.random(shape, dtype=np.float32)
            out *= np.float32(2.0 * self.scale)
            out -= np.float32(self.scale)
            return out
        return np.full(shape, self.value, dtype=np.float32)


@dataclass(frozen=True)
class Term:
    """Initialisation, learning rate and weight decay of one parameter group."""

    init: Init
    lr: float
    wd: float


@dataclass(frozen=True)
class Settings:
    """Everything training needs, typed and resolved."""

    feature_dim: int
    num_factors: int
    predictor_type: str
    epochs: int
    mini_batch_size: int
    bias: Term
    linear: Term
    factors: Term
    clip_gradient: float | None
    eps: float
    rescale_grad: float | None

    @property
    def binary(self) -> bool:
        """Whether the predictor is a binary classifier (log loss, sigmoid output)."""
        return self.predictor_type == "binary_classifier"

    def as_log_dict(self) -> dict[str, Any]:
        """The resolved values, for the log and the model's metadata."""
        out: dict[str, Any] = {
            "feature_dim": self.feature_dim,
            "num_factors": self.num_factors,
            "predictor_type": self.predictor_type,
            "epochs": self.epochs,
            "mini_batch_size": self.mini_batch_size,
            "clip_gradient": self.clip_gradient,
            "eps": self.eps,
            "rescale_grad": self.rescale_grad,
        }
        for name in TERMS:
            term: Term = getattr(self, name)
            out[f"{name}_init_method"] = term.init.method
            out[f"{name}_init_scale"] = term.init.scale
            out[f"{name}_init_sigma"] = term.init.sigma
            out[f"{name}_init_value"] = term.init.value
            out[f"{name}_lr"] = term.lr
            out[f"{name}_wd"] = term.wd
        return out


def _term(values: Mapping[str, Any], name: str) -> Term:
    default_sigma = float(SPEC.hyperparameter(f"{name}_init_sigma").default)
    init = Init(
        method=str(values[f"{name}_init_method"]),
        scale=float(values.get(f"{name}_init_scale", default_sigma)),
        sigma=float(values[f"{name}_init_sigma"]),
        value=float(values.get(f"{name}_init_value", 0.0)),
    )
    return Term(init=init, lr=float(values[f"{name}_lr"]), wd=float(values[f"{name}_wd"]))


def resolve(hyperparameters: Mapping[str, Any]) -> Settings:
    """Validate (strings or typed values) and resolve into :class:`Settings`.

    Raises:
        HyperparameterError: an unknown name, a missing required one or a bad value.
    """
    values = SPEC.validate_hyperparameters(hyperparameters)
    return Settings(
        feature_dim=int(values["feature_dim"]),
        num_factors=int(values["num_factors"]),
        predictor_type=str(values["predictor_type"]),
        epochs=int(values["epochs"]),
        mini_batch_size=int(values["mini_batch_size"]),
        bias=_term(values, "bias"),
        linear=_term(values, "linear"),
        factors=_term(values, "factors"),
        clip_gradient=values.get("clip_gradient"),
        eps=float(values.get("eps", DEFAULT_EPS)),
        rescale_grad=values.get("rescale_grad"),
    )
