"""Endpoints in the service layer: create, update, weights, delete, describe, list, wait.

Lifecycle (SageMaker's names):

* CreateEndpoint records ``Creating`` with the config's variants as the *pending* deployment
  and starts a deployer (:mod:`openmaker.hosting.deployer`, a detached process through the
  executor, or in this process with ``deploy="inline"``). The deployer loads every model once;
  then the endpoint turns ``InService`` (the pending variants become the live ones) or
  ``Failed`` with a ``FailureReason``.
* UpdateEndpoint (from ``InService``) records ``Updating`` with the new config pending; the
  live variants keep serving. When the new models load, one atomic write makes them live
  (``InService``); serving workers load them and swap only after loading, so no request fails.
  If they cannot load, the endpoint returns to ``InService`` on the old config, with the
  ``FailureReason`` set (as SageMaker rolls back).
* UpdateEndpointWeightsAndCapacities changes weights/instance counts at once (no model loads).
* DeleteEndpoint marks ``Deleting`` and removes the record; workers drop it at their next
  poll. A ``Failed`` endpoint can only be deleted.

Every write bumps the endpoint's ``revision``; serving workers poll the revisions.
"""

from __future__ import annotations

import builtins
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from openmaker.errors import PlatformError, ResourceInUseError, ValidationError
from openmaker.executors import Executor, get_executor
from openmaker.hosting.async_inference import (
    stored_async_config,
    with_async_config,
    without_async_config,
)
from openmaker.hosting.names import check_name
from openmaker.settings import get_settings
from openmaker.store import EndpointConfigRecord, EndpointRecord, Store, open_store
from openmaker.store.types import utcnow

#: Statuses in which an endpoint is served (while Updating, the old variants serve).
SERVING_STATUSES = ("InService", "Updating")
PENDING_STATUSES = ("Creating", "Updating")
DeployMode = Literal["process", "inline"]


def runner_name(endpoint: str) -> str:
    """The executor job name of an endpoint's deployer (never a valid training job name)."""
    return f"_endpoints/{endpoint}"


def variant_summaries(config: EndpointConfigRecord) -> list[dict[str, Any]]:
    """``ProductionVariantSummary`` dicts for a config's variants (desired = initial), with
    the config's ``AsyncInferenceConfig`` (stored with them)."""
    summaries = [
        {
            "VariantName": v["VariantName"],
            "ModelName": v["ModelName"],
            "InstanceType": v.get("InstanceType", "ml.m5.large"),
            "CurrentWeight": float(v["InitialVariantWeight"]),
            "DesiredWeight": float(v["InitialVariantWeight"]),
            "CurrentInstanceCount": int(v["InitialInstanceCount"]),
            "DesiredInstanceCount": int(v["InitialInstanceCount"]),
        }
        for v in config.production_variants
    ]
    return with_async_config(summaries, stored_async_config(config.production_variants))


class EndpointService:
    """The one implementation of endpoint operations.

    Args:
        store: the metadata store (default: opened from the settings).
        executor: where deployers run (default: from the settings).
        deploy: ``"process"`` (a detached deployer; the call returns at once) or ``"inline"``
            (load the models in this process before returning).
        recover: settle endpoints whose deployer died (machine restart) on start.
    """

    def __init__(
        self,
        store: Store | None = None,
        executor: Executor | None = None,
        *,
        deploy: DeployMode = "process",
        recover: bool = True,
    ) -> None:
        self.store = store or open_store()
        self._executor = executor
        self.deploy_mode = deploy
        if recover:
            self.recover_orphans()

    @property
    def executor(self) -> Executor:
        """Where deployers run."""
        if self._executor is None:
            self._executor = get_executor()
        return self._executor

    # --- create / update ------------------------------------------------------------------
    def create(self, request: Mapping[str, Any]) -> EndpointRecord:
        """CreateEndpoint: validate, record ``Creating``, start the deployer.

        Raises:
            ValidationError: bad name, or unknown endpoint config.
            ResourceInUseError: an endpoint of that name exists.
        """
        req = copy.deepcopy(dict(request))
        name = check_name(req.get("EndpointName"), "EndpointName")
        config = self._config(req.get("EndpointConfigName"))
        now = utcnow()
        record = EndpointRecord(
            name=name,
            arn=get_settings().arn("endpoint", name),
            config_name=config.name,
            status="Creating",
            production_variants=[],
            data_capture_config=config.data_capture_config,
            pending_config_name=config.name,
            pending_variants=variant_summaries(config),
            deployment_config=req.get("DeploymentConfig"),
            tags=list(req.get("Tags") or []),
            creation_time=now,
            last_modified_time=now,
        )
        self.store.endpoints.create(record)
        return self._start_deployer(name)

    def update(
        self,
        name: str,
        config_name: str,
        *,
        retain_all_variant_properties: bool = False,
        exclude_retained_variant_properties: Sequence[str] = (),
        deployment_config: Mapping[str, Any] | None = None,
        retain_deployment_config: bool = False,
    ) -> EndpointRecord:
        """UpdateEndpoint: roll out ``config_name`` with no downtime.

        Args:
            name: the endpoint.
            config_name: the new endpoint config.
            retain_all_variant_properties: keep the live variants' weights and instance counts
                (variants matched by name) instead of the new config's.
            exclude_retained_variant_properties: with ``retain_all_variant_properties``, take
                these from the new config after all: ``DesiredWeight``,
                ``DesiredInstanceCount``, ``DataCaptureConfig`` (data capture always comes from
                the new config in openmaker, so naming it changes nothing).
            deployment_config: the new ``DeploymentConfig`` (recorded; traffic moves at once).
            retain_deployment_config: keep the last ``DeploymentConfig`` when none is given.

        Raises:
            ValidationError: unknown config, or the endpoint is not ``InService``.
        """
        current = self.get(name)
        config = self._config(config_name)
        pending = variant_summaries(config)
        if retain_all_variant_properties:
            live = {v["VariantName"]: v for v in current.production_variants}
            keys = []
            if "DesiredWeight" not in exclude_retained_variant_properties:
                keys += [("CurrentWeight", "CurrentWeight"), ("DesiredWeight", "CurrentWeight")]
            if "DesiredInstanceCount" not in exclude_retained_variant_properties:
                keys += [
                    ("CurrentInstanceCount", "CurrentInstanceCount"),
                    ("DesiredInstanceCount", "CurrentInstanceCount"),
                ]
            for v in pending:
                old = live.get(v["VariantName"])
                if old:
                    for key, source in keys:
                        v[key] = old[source]
        if deployment_config is None and retain_deployment_config:
            deployment_config = current.deployment_config
        updated = self.store.endpoints.update(
            name,
            only_if_status=("InService",),
            status="Updating",
            failure_reason=None,
            pending_config_name=config.name,
            pending_variants=pending,
            deployment_config=dict(deployment_config) if deployment_config else None,
        )
        if updated is None:
            raise ValidationError(
                f"Cannot update endpoint {name!r} while it is {current.status}; "
                "it must be InService"
            )
        return self._start_deployer(name)

    def update_weights_and_capacities(
        self, name: str, desired: list[Mapping[str, Any]]
    ) -> EndpointRecord:
        """UpdateEndpointWeightsAndCapacities: new weights / instance counts, applied at once.

        Raises:
            ValidationError: unknown variant, bad value, or the endpoint is not ``InService``.
        """
        current = self.get(name)
        if not desired:
            raise ValidationError("DesiredWeightsAndCapacities needs at least one variant")
        variants = [dict(v) for v in current.production_variants]
        by_name = {v["VariantName"]: v for v in variants}
        for item in desired:
            variant = by_name.get(item.get("VariantName", ""))
            if variant is None:
                raise ValidationError(
                    f"The variant {item.get('VariantName')!r} does not exist in endpoint "
                    f"{name!r}; variants: {', '.join(by_name)}"
                )
            if "DesiredWeight" in item:
                weight = item["DesiredWeight"]
                if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                    raise ValidationError(f"DesiredWeight must be a number >= 0; got {weight!r}")
                variant["CurrentWeight"] = variant["DesiredWeight"] = float(weight)
            if "DesiredInstanceCount" in item:
                count = item["DesiredInstanceCount"]
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise ValidationError(
                        f"DesiredInstanceCount must be an integer >= 0; got {count!r}"
                    )
                variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"] = count
        updated = self.store.endpoints.update(
            name, only_if_status=("InService",), production_variants=variants
        )
        if updated is None:
            raise ValidationError(
                f"Cannot update endpoint {name!r} while it is {self.get(name).status}; "
                "it must be InService"
            )
        return updated

    def _config(self, config_name: object) -> EndpointConfigRecord:
        check_name(config_name, "EndpointConfigName")
        assert isinstance(config_name, str)
        if not self.store.endpoint_configs.exists(config_name):
            raise ValidationError(f"Could not find endpoint configuration {config_name!r}.")
        return self.store.endpoint_configs.get(config_name)

    def _start_deployer(self, name: str) -> EndpointRecord:
        if self.deploy_mode == "inline":
            from openmaker.hosting.deployer import deploy

            deploy(self.store, name)
            return self.get(name)
        try:
            handle = self.executor.submit(runner_name(name), runner="openmaker.hosting.deployer")
        except Exception as exc:
            self.settle_failed(name, PlatformError(f"could not start the deployer: {exc}"))
            raise
        updated = self.store.endpoints.update(
            name, only_if_status=PENDING_STATUSES, executor_handle=handle
        )
        return updated or self.get(name)

    def settle_failed(self, name: str, error: Exception) -> EndpointRecord | None:
        """End a pending deployment that failed: ``Creating`` -> ``Failed``; ``Updating`` ->
        back to ``InService`` on the old variants. Both record the ``FailureReason``."""
        from openmaker.errors import OpenmakerError

        reason = (
            error.failure_reason
            if isinstance(error, OpenmakerError)
            else PlatformError(f"{type(error).__name__}: {error}").failure_reason
        )[:1024]

        def status(rec: EndpointRecord) -> str:
            return "Failed" if rec.status == "Creating" else "InService"

        return self.store.endpoints.update(
            name,
            only_if_status=PENDING_STATUSES,
            status=status,
            failure_reason=reason,
            pending_config_name=None,
            pending_variants=None,
        )

    # --- delete ---------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        """DeleteEndpoint: ``Deleting``, stop a running deployer, remove the record."""
        rec = self.get(name)
        if rec.status == "Deleting":
            return
        self.store.endpoints.update(name, status="Deleting")
        if rec.executor_handle and rec.status in PENDING_STATUSES:
            self.executor.kill(rec.executor_handle)
        self.store.endpoints.delete(name)

    # --- read -------------------------------------------------------------------------------
    def get(self, name: str) -> EndpointRecord:
        """The endpoint's record (ResourceNotFoundError if unknown)."""
        return self.store.endpoints.get(name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeEndpoint."""
        rec = self.get(name)
        out: dict[str, Any] = {
            "EndpointName": rec.name,
            "EndpointArn": rec.arn,
            "EndpointConfigName": rec.config_name,
            "ProductionVariants": [
                {k: v for k, v in variant.items() if k not in ("ModelName", "InstanceType")}
                for variant in without_async_config(rec.production_variants)
            ],
            "EndpointStatus": rec.status,
            "CreationTime": rec.creation_time,
            "LastModifiedTime": rec.last_modified_time,
        }
        if rec.failure_reason:
            out["FailureReason"] = rec.failure_reason
        capture = rec.data_capture_config
        if capture:
            out["DataCaptureConfig"] = {
                "EnableCapture": bool(capture.get("EnableCapture", True)),
                "CaptureStatus": "Started" if capture.get("EnableCapture", True) else "Stopped",
                "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                "DestinationS3Uri": capture["DestinationS3Uri"],
                "KmsKeyId": capture.get("KmsKeyId", ""),
            }
        if rec.pending_config_name and rec.status in PENDING_STATUSES:
            out["PendingDeploymentSummary"] = {
                "EndpointConfigName": rec.pending_config_name,
                "ProductionVariants": without_async_config(rec.pending_variants or []),
                "StartTime": rec.last_modified_time,
            }
        if rec.deployment_config:
            out["LastDeploymentConfig"] = rec.deployment_config
        async_config = stored_async_config(rec.production_variants or rec.pending_variants)
        if async_config:
            out["AsyncInferenceConfig"] = async_config
        return out

    def list(self, **filters: Any) -> tuple[list[EndpointRecord], str | None]:
        """ListEndpoints (``name_contains``, ``status_equals``, time bounds, sort, page)."""
        return self.store.endpoints.list(**filters)

    def wait(
        self,
        name: str,
        *,
        poll: float = 0.2,
        timeout: float | None = 600,
        on_update: Callable[[EndpointRecord], None] | None = None,
    ) -> EndpointRecord:
        """Block while the endpoint is ``Creating`` or ``Updating``; return the record.

        Raises:
            TimeoutError: still pending after ``timeout`` seconds.
        """
        start = time.monotonic()
        last = -1
        while True:
            rec = self.get(name)
            if on_update is not None and rec.revision != last:
                on_update(rec)
                last = rec.revision
            if rec.status not in PENDING_STATUSES:
                return rec
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError(f"endpoint {name!r} still {rec.status} after {timeout}s")
            if rec.executor_handle and self.executor.is_alive(rec.executor_handle) is False:
                time.sleep(poll)
                if self.get(name).status in PENDING_STATUSES:
                    self._settle_lost(self.get(name))
            time.sleep(poll)

    # --- recovery ---------------------------------------------------------------------------
    def recover_orphans(self) -> builtins.list[str]:
        """Settle ``Creating``/``Updating`` endpoints whose deployer is gone. Returns names."""
        lost = []
        grace = timedelta(seconds=30)
        for rec in self.store.endpoints.all(status_in=PENDING_STATUSES):
            if rec.executor_handle is None:
                if datetime.now(UTC) - rec.last_modified_time < grace:
                    continue
            elif self.executor.is_alive(rec.executor_handle) is not False:
                continue
            if self._settle_lost(rec):
                lost.append(rec.name)
        return lost

    def _settle_lost(self, rec: EndpointRecord) -> bool:
        error = PlatformError(
            "the deployer process ended without reporting a result (the machine or openmaker "
            "was restarted, or the process was killed)"
        )
        return self.settle_failed(rec.name, error) is not None


def require_free(store: Store, name: str) -> None:
    """Raise ResourceInUseError if an endpoint called ``name`` exists."""
    if store.endpoints.exists(name):
        raise ResourceInUseError(f"Cannot create already existing endpoint {name!r}.")
