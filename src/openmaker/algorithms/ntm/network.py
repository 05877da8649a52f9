"""The NTM network in PyTorch (training only; inference runs on the saved arrays in numpy).

Reference 5.7 (NVDM, Miao et al. 2016)::

    pi = f_MLP(log(1 + x))            encoder_layers sizes, activation, optional batch norm
    mu = l1(pi);  log sigma = l2(pi)  (linear with bias)
    h = mu + sigma * eps,  eps ~ N(0, I)
    z = softmax(h)                    topic weights
    log y = log_softmax(W z + b)      W: (vocabulary, num_topics), SageMaker's projection_weight
    recons_loss = -sum_w x_w log y_w  (multinomial negative log-likelihood of the counts)
    kl_divergence = KL(N(mu, sigma^2) || N(0, I))
    total_loss = recons_loss + kl_divergence

The encoder reads ``log(1 + x)`` rather than the raw counts (UNCONFIRMED: the reference writes
``f_MLP(x)``): long documents would otherwise saturate the sigmoid units. ``log sigma`` is
clamped to [-10, 10] for numerical safety.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from typing import Any

from openmaker.algorithms.common.torch.runtime import import_torch

#: The clamp of ``log sigma``.
LOG_SIGMA_BOUND = 10.0


@cache
def network_class() -> type:
    """The ``torch.nn.Module`` class (built on first use so that torch loads lazily)."""
    torch = import_torch()
    nn = torch.nn
    activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}

    class NTMNetwork(nn.Module):  # type: ignore[misc,name-defined]
        """Encoder, Gaussian latent, softmax topic weights, linear decoder."""

        def __init__(
            self,
            feature_dim: int,
            num_topics: int,
            layers: list[int],
            activation: str,
            batch_norm: bool,
        ) -> None:
            super().__init__()
            sizes = [feature_dim, *layers]
            self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
            self.batch_norm = (
                nn.ModuleList(nn.BatchNorm1d(b) for b in layers) if batch_norm else None
            )
            self.activation = activations[activation]()
            self.mu = nn.Linear(sizes[-1], num_topics)
            self.logsigma = nn.Linear(sizes[-1], num_topics)
            self.decoder = nn.Linear(num_topics, feature_dim)

        def encode(self, x: Any) -> tuple[Any, Any]:
            """``(mu, log sigma)`` of the documents' posterior."""
            h = torch.log1p(x)
            for i, layer in enumerate(self.encoder):
                h = layer(h)
                if self.batch_norm is not None:
                    h = self.batch_norm[i](h)
                h = self.activation(h)
            logsigma = self.logsigma(h).clamp(-LOG_SIGMA_BOUND, LOG_SIGMA_BOUND)
            return self.mu(h), logsigma

        def forward(self, x: Any, eps: Any | None = None) -> tuple[Any, Any, Any]:
            """``(recons_loss, kl_divergence, topic weights)`` per document.

            Args:
                x: (batch, feature_dim) word counts.
                eps: standard normal noise (batch, num_topics); None uses the mean.
            """
            mu, logsigma = self.encode(x)
            h = mu if eps is None else mu + torch.exp(logsigma) * eps
            theta = torch.softmax(h, dim=1)
            log_y = torch.log_softmax(self.decoder(theta), dim=1)
            recons = -(x * log_y).sum(dim=1)
            kl = 0.5 * (mu.pow(2) + torch.exp(2 * logsigma) - 1.0 - 2 * logsigma).sum(dim=1)
            return recons, kl, theta

    return NTMNetwork


def build_network(
    feature_dim: int, num_topics: int, layers: list[int], activation: str, batch_norm: bool
) -> Any:
    """A fresh network (its initial weights come from torch's generator: seed it first)."""
    return network_class()(feature_dim, num_topics, layers, activation, batch_norm)


def to_arrays(net: Any) -> dict[str, Any]:
    """The network's parameters and buffers as float32 numpy arrays (``state_dict`` names)."""
    import numpy as np

    return {
        k: v.detach().cpu().numpy().astype(np.float32)
        for k, v in net.state_dict().items()
        if v.dtype.is_floating_point
    }
