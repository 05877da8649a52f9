"""Load a model record for serving: fetch the artifact, apply the container environment, load.

The container's ``Environment`` is set in ``os.environ`` only while ``Model.load`` runs
(algorithms read their serving options, such as ``SAGEMAKER_INFERENCE_OUTPUT``, at load time),
so models with different environments can live in one worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from openmaker.serving import LoadedModel
from openmaker.store import ModelRecord

_ENV_LOCK = threading.Lock()


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the block, then restore the previous values."""
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update({k: str(v) for k, v in env.items()})
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def load_record(record: ModelRecord) -> LoadedModel:
    """Download (cached), unpack and load the model a record names.

    Raises:
        OpenmakerError: the artifact is missing or unreadable, or the model cannot load.
    """
    from openmaker.serving import load_model

    with environment(record.environment):
        return load_model(record.model_data_url, algorithm=record.algorithm)
