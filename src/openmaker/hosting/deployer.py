"""The endpoint deployer: ``python -m openmaker.hosting.deployer _endpoints/NAME``.

It loads every model of the endpoint's pending deployment once (download, unpack,
``Model.load``), the way SageMaker brings up instances and health-checks them, then makes the
deployment live with one compare-and-set write, or records why it failed.
"""

from __future__ import annotations

import sys
import traceback

from openmaker.store import Store


def deploy(store: Store, name: str) -> None:
    """Validate and activate the pending deployment of endpoint ``name``."""
    from openmaker.hosting.endpoints import PENDING_STATUSES, EndpointService
    from openmaker.hosting.loading import load_record

    service = EndpointService(store, deploy="inline", recover=False)
    rec = store.endpoints.get(name)
    if rec.status not in PENDING_STATUSES or not rec.pending_variants:
        return
    try:
        for variant in rec.pending_variants:
            load_record(store.models.get(variant["ModelName"]))
        config = store.endpoint_configs.get(rec.pending_config_name or rec.config_name)
    except Exception as exc:  # any failure settles the endpoint; nothing is left pending
        traceback.print_exc()
        service.settle_failed(name, exc)
        return
    store.endpoints.update(
        name,
        only_if=lambda current: current.revision == rec.revision,
        status="InService",
        failure_reason=None,
        config_name=config.name,
        production_variants=list(rec.pending_variants),
        data_capture_config=config.data_capture_config,
        pending_config_name=None,
        pending_variants=None,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: the argument is the executor job name ``_endpoints/<endpoint>``."""
    from openmaker.store import open_store

    args = sys.argv[1:] if argv is None else argv
    name = args[0].split("/", 1)[-1]
    with open_store() as store:
        deploy(store, name)


if __name__ == "__main__":
    main()
