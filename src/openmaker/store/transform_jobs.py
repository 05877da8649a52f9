"""The transform-job aggregate (``CreateTransformJob``): one row per job, progress included."""

from __future__ import annotations

from openmaker.store import missing
from openmaker.store.hosting_records import TRANSFORM_JOB_STATUSES, TransformJobRecord
from openmaker.store.record_store import RecordStore
from openmaker.store.schema import transform_jobs


class TransformJobStore(RecordStore[TransformJobRecord]):
    """Transform jobs in the metadata store."""

    table = transform_jobs
    record_type = TransformJobRecord
    kind = "Transform job"
    resource = missing.TRANSFORM_JOB
    sort_fields = ("Name", "CreationTime", "Status")
    statuses = TRANSFORM_JOB_STATUSES
