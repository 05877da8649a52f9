"""Torch import, device choice, threads and seeding: one place for every torch algorithm."""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

from openmaker.errors import require

if TYPE_CHECKING:
    import torch


def import_torch() -> Any:
    """``torch``, or :class:`~openmaker.errors.MissingExtraError` naming the ``torch`` extra."""
    return require("torch", "torch")


def cpu_count() -> int:
    """Cores this process may use (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def choose_device(preferred: str | None = None) -> torch.device:
    """The device to train on: ``preferred`` if given, else the GPU when there is one, else CPU.

    On the CPU, torch is told to use every core this process may use.

    Args:
        preferred: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... or None for automatic choice.
    """
    torch = import_torch()
    if preferred:
        device = torch.device(preferred)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        device = torch.device("cpu")
    if device.type == "cpu":
        torch.set_num_threads(cpu_count())
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators (CPU and every GPU)."""
    import numpy as np

    torch = import_torch()
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


#: Multiply-adds per training step under which one CPU thread is faster than several (thread
#: start-up and synchronisation cost more than the arithmetic; measured on small MLPs).
SMALL_STEP_FLOPS = 50_000_000


def threads_for_step(flops_per_step: float, device: torch.device) -> int:
    """Set torch's CPU threads for steps of ``flops_per_step`` multiply-adds; returns them.

    Small steps run on one thread (on a tiny network several threads are many times slower:
    they spend the step synchronising); larger ones on every core this process may use. Does
    nothing on a GPU (returns torch's current setting).
    """
    torch = import_torch()
    if device.type != "cpu":
        return int(torch.get_num_threads())
    threads = 1 if flops_per_step < SMALL_STEP_FLOPS else cpu_count()
    torch.set_num_threads(threads)
    return threads
