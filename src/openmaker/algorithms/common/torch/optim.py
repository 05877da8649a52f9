"""Optimizers by SageMaker's names, and MXNet's gradient rescaling and clipping.

SageMaker's MXNet-based algorithms (NTM, DeepAR, Object2Vec...) take ``optimizer`` as one of
``sgd``, ``adam``, ``adagrad``, ``adadelta``, ``rmsprop`` (some also ``auto``) together with
``learning_rate``, ``weight_decay``, ``clip_gradient`` and ``rescale_gradient``. The MXNet
update of every optimizer is::

    g = rescale_gradient * grad
    g = clip(g, -clip_gradient, clip_gradient)      # element-wise, when clip_gradient is set
    g = g + weight_decay * w                        # L2, coupled to the gradient
    w = optimizer_step(w, g)

:func:`make_optimizer` builds the torch optimizer with MXNet's constants (``weight_decay`` is
the torch optimizers' own coupled L2 term, added after the rescaling and clipping, as in
MXNet); :func:`prepare_gradients` does the first two lines in place between ``backward()``
and ``step()``. MXNet's constants: Adam betas (0.9, 0.999), eps 1e-8; AdaGrad eps 1e-7;
AdaDelta rho 0.9, eps 1e-5 and **no learning rate** (MXNet's AdaDelta ignores it, which is why
SageMaker says ``learning_rate`` "does not need to be set" with it: torch's ``lr=1.0`` is that
update); RMSProp gamma (torch's alpha) 0.9, eps 1e-8. ``auto`` is resolved by the algorithm
(:data:`AUTO_OPTIMIZER` unless it says otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from openmaker.algorithms.common.torch.runtime import import_torch

#: SageMaker's optimizer names, in the SDK's order.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adagrad", "adadelta", "rmsprop")
#: What ``auto`` means when the algorithm does not say otherwise.
AUTO_OPTIMIZER = "adam"


def resolve_optimizer(name: str, auto: str = AUTO_OPTIMIZER) -> str:
    """The concrete optimizer for ``name`` (``auto`` -> ``auto``); ValueError if unknown."""
    name = str(name).lower()
    if name == "auto":
        name = auto
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; one of {', '.join(OPTIMIZERS)}, auto")
    return name


def make_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    learning_rate: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    auto: str = AUTO_OPTIMIZER,
) -> Any:
    """A ``torch.optim`` optimizer for SageMaker's optimizer ``name``.

    Args:
        name: ``sgd``, ``adam``, ``adagrad``, ``adadelta``, ``rmsprop`` or ``auto``.
        params: the parameters (or parameter groups) to optimise.
        learning_rate: the step size (ignored by ``adadelta``, as in MXNet).
        weight_decay: L2 coefficient, coupled to the gradient.
        momentum: SGD's momentum (MXNet's default 0).
        auto: what ``auto`` resolves to.
    """
    torch = import_torch()
    kind = resolve_optimizer(name, auto)
    lr, wd = float(learning_rate), float(weight_decay)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    if kind == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=1e-7, weight_decay=wd)
    if kind == "adadelta":
        return torch.optim.Adadelta(params, lr=1.0, rho=0.9, eps=1e-5, weight_decay=wd)
    return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-8, weight_decay=wd)


def prepare_gradients(
    params: Iterable[Any], *, rescale: float = 1.0, clip: float | None = None
) -> None:
    """MXNet's ``rescale_grad`` then element-wise ``clip_gradient``, in place on ``.grad``.

    Args:
        params: the parameters whose gradients to transform (those without one are skipped).
        rescale: multiplier of every gradient component.
        clip: components are clipped to ``[-clip, clip]``; None or infinity: no clipping.
    """
    bound = clip if clip is not None and math.isfinite(clip) else None
    for p in params:
        g = p.grad
        if g is None:
            continue
        if rescale != 1.0:
            g.mul_(rescale)
        if bound is not None:
            g.clamp_(-bound, bound)
