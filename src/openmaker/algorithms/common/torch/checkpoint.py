"""Checkpoints in the job's checkpoint folder (``/opt/ml/checkpoints``): save, restore.

A checkpoint is one ``torch.save`` file of plain state (module and optimizer ``state_dict``\\ s,
the epoch, the early-stopping history, RNG states, whatever the algorithm adds), written
atomically (temporary file, then rename) so a job killed mid-write leaves the previous one. It
carries a ``fingerprint`` of what must not change between the job that wrote it and the one
that resumes (the hyperparameters and the data layout): a checkpoint with another fingerprint
is not loaded, so a reused checkpoint folder cannot leak one model into another job. Loading
uses ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only,
nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from openmaker.algorithms.common.torch.runtime import import_torch

#: The file name inside the checkpoint folder.
CHECKPOINT_FILE = "checkpoint.pt"


def fingerprint(settings: Any) -> str:
    """A stable hash of JSON-able ``settings`` (hyperparameters, feature width...)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Checkpointer:
    """Saves and restores one algorithm's checkpoint in ``directory``.

    Args:
        directory: the job's checkpoint folder (created when missing); None disables
            checkpointing (``save`` does nothing, ``load`` returns None).
        fingerprint: see the module docstring.
        name: the file name.
    """

    def __init__(
        self, directory: str | Path | None, fingerprint: str, name: str = CHECKPOINT_FILE
    ) -> None:
        self.path = None if directory is None else Path(directory) / name
        self.fingerprint = fingerprint

    def save(self, state: dict[str, Any]) -> Path | None:
        """Write ``state`` (plus the fingerprint); returns the file, or None when disabled."""
        if self.path is None:
            return None
        torch = import_torch()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({"fingerprint": self.fingerprint, "state": state}, tmp)
        os.replace(tmp, self.path)
        return self.path

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none or it belongs to other settings."""
        if self.path is None or not self.path.is_file():
            return None
        torch = import_torch()
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # a truncated or foreign file: start afresh
            return None
        if not isinstance(saved, dict) or saved.get("fingerprint") != self.fingerprint:
            return None
        state = saved.get("state")
        return state if isinstance(state, dict) else None

    def clear(self) -> None:
        """Remove the checkpoint (a finished job's model is in the model folder)."""
        if self.path is not None and self.path.exists():
            self.path.unlink()
