"""The model aggregate (``CreateModel``): one row per model."""

from __future__ import annotations

from openmaker.store import missing
from openmaker.store.hosting_records import ModelRecord
from openmaker.store.record_store import RecordStore
from openmaker.store.schema import models


class ModelStore(RecordStore[ModelRecord]):
    """Models in the metadata store."""

    table = models
    record_type = ModelRecord
    kind = "Model"
    resource = missing.MODEL
