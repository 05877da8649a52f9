"""The endpoint aggregate: status, live and pending variants, and a routing revision.

Serving processes poll :meth:`EndpointStore.revisions` (one small query over the names and
revisions) to notice created, updated and deleted endpoints without a query per request.
"""

from __future__ import annotations

from sqlalchemy import select

from openmaker.store import missing
from openmaker.store.hosting_records import ENDPOINT_STATUSES, EndpointRecord
from openmaker.store.record_store import RecordStore
from openmaker.store.schema import endpoints


class EndpointStore(RecordStore[EndpointRecord]):
    """Endpoints in the metadata store."""

    table = endpoints
    record_type = EndpointRecord
    kind = "Endpoint"
    resource = missing.ENDPOINT
    sort_fields = ("Name", "CreationTime", "Status")
    statuses = ENDPOINT_STATUSES

    def revisions(self) -> dict[str, tuple[int, str]]:
        """``{name: (revision, status)}`` of every endpoint: the servers' cheap change check."""
        query = select(endpoints.c.name, endpoints.c.revision, endpoints.c.status)
        with self._db.begin() as conn:
            return {row.name: (row.revision, row.status) for row in conn.execute(query)}
