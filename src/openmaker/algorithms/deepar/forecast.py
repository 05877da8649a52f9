"""The network at work: the training loss of windows and sample paths of forecasts."""

from __future__ import annotations

from typing import Any

import numpy as np

from openmaker.algorithms.common.torch.runtime import import_torch
from openmaker.algorithms.deepar.features import Batch, Encoder, Request
from openmaker.algorithms.deepar.network import negative_log_likelihood

#: Sample paths computed together at most (series x samples): memory, and a working set
#: that stays in the CPU's caches (elementwise steps on larger blocks are memory bound).
MAX_PATHS = 8_192


def _tensors(batch: Batch, device: Any) -> dict[str, Any]:
    torch = import_torch()
    return {
        "lags": torch.from_numpy(batch.lags).to(device),
        "covariates": torch.from_numpy(batch.covariates).to(device),
        "cat": torch.from_numpy(batch.cat).to(device),
        "scale": torch.from_numpy(batch.scale).to(device),
        "target": torch.from_numpy(batch.target).to(device),
        "observed": torch.from_numpy(batch.observed).to(device),
    }


def window_loss(net: Any, batch: Batch, device: Any) -> tuple[Any, Any]:
    """``(sum of the per-point losses, number of observed points)`` of training windows."""
    t = _tensors(batch, device)
    static = net.static_features(t["cat"], t["scale"])
    out, _ = net.rnn(net.inputs(t["lags"], t["covariates"], static))
    dist = net.distribution(out, t["scale"][:, None])
    nll = negative_log_likelihood(net.likelihood, dist, t["target"])
    observed = t["observed"]
    return (nll * observed).sum(), observed.sum()


def sample_paths(
    net: Any, encoder: Encoder, request: Request, num_samples: int, seed: int, device: Any
) -> np.ndarray:
    """``(series, num_samples, prediction_length)`` sample paths in the data's units.

    The context is run once per series; its final LSTM state is repeated ``num_samples``
    times and each path is drawn step by step, feeding its own draws back as lags. Draws come
    from torch's generator seeded with ``seed`` inside a forked RNG state: the same request
    gives the same paths, and the caller's global RNG is untouched.
    """
    torch = import_torch()
    B = request.context.lags.shape[0]
    T = encoder.prediction_length
    out = np.zeros((B, num_samples, T), dtype=np.float32)
    per_chunk = max(1, MAX_PATHS // max(num_samples, 1))
    net.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for lo in range(0, B, per_chunk):
            hi = min(B, lo + per_chunk)
            out[lo:hi] = _sample_chunk(net, encoder, request, lo, hi, num_samples, device)
    return out


def _sample_chunk(
    net: Any, encoder: Encoder, request: Request, lo: int, hi: int, S: int, device: Any
) -> np.ndarray:
    torch = import_torch()
    ctx = request.context
    part = Batch(
        ctx.lags[lo:hi],
        ctx.covariates[lo:hi],
        ctx.cat[lo:hi],
        ctx.scale[lo:hi],
        ctx.target[lo:hi],
        ctx.observed[lo:hi],
    )
    t = _tensors(part, device)
    static = net.static_features(t["cat"], t["scale"])
    _, state = net.rnn(net.inputs(t["lags"], t["covariates"], static))
    n = hi - lo
    rep = lambda x: x.repeat_interleave(S, dim=0)  # noqa: E731
    state = [(rep(h), rep(c)) for h, c in state]
    static = rep(static)
    scale = rep(t["scale"])
    future = rep(torch.from_numpy(request.future_covariates[lo:hi]).to(device))
    max_lag = max(encoder.lags)
    T = encoder.prediction_length
    history = rep(torch.from_numpy(request.history[lo:hi]).to(device))
    buffer = torch.cat([history, torch.zeros(n * S, T, device=device)], dim=1)
    lag_index = torch.tensor([max_lag - lag for lag in encoder.lags], device=device)
    draws = []
    for k in range(T):
        lags = buffer[:, lag_index + k].unsqueeze(1)
        x = net.inputs(lags, future[:, k : k + 1], static)
        out, state = net.rnn(x, state)
        dist = net.distribution(out[:, 0], scale)
        y = dist.sample()
        buffer[:, max_lag + k] = y / scale
        draws.append(y)
    paths = torch.stack(draws, dim=1).reshape(n, S, T)
    return paths.cpu().numpy().astype(np.float32)
