"""The endpoint-config aggregate (``CreateEndpointConfig``): one row per config."""

from __future__ import annotations

from openmaker.store import missing
from openmaker.store.hosting_records import EndpointConfigRecord
from openmaker.store.record_store import RecordStore
from openmaker.store.schema import endpoint_configs


class EndpointConfigStore(RecordStore[EndpointConfigRecord]):
    """Endpoint configurations in the metadata store."""

    table = endpoint_configs
    record_type = EndpointConfigRecord
    kind = "Endpoint configuration"
    resource = missing.ENDPOINT_CONFIG
