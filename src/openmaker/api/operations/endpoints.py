"""Endpoints: Create / Describe / List / Delete / Update Endpoint(s) and
UpdateEndpointWeightsAndCapacities.

Thin handlers over :class:`openmaker.hosting.endpoints.EndpointService` (deployers run detached;
the endpoint goes ``Creating`` -> ``InService`` and is then served on this server's
``/endpoints/{name}/invocations``). A missing endpoint is a ``ValidationException``
("Could not find endpoint ..."): the ``endpoint_deleted`` waiter succeeds on it and the SDK's
existence checks look for it. An existing one on create is a ``ValidationException`` too.
"""

from __future__ import annotations

from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import (
    IN_USE_IS_VALIDATION,
    NOT_FOUND_IS_VALIDATION,
    STATUS_LIST_MEMBERS,
    list_filters,
    operation,
    page,
)
from openmaker.api.services import Services

ENDPOINT_STATUSES = (
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
)
NAME_ONLY = {"EndpointName": s.ENTITY_NAME}
#: Recorded and echoed as ``LastDeploymentConfig``; traffic moves all at once.
DEPLOYMENT_CONFIG = s.Structure(
    {
        "BlueGreenUpdatePolicy": s.Anything(),
        "RollingUpdatePolicy": s.Anything(),
        "AutoRollbackConfiguration": s.Anything(),
    }
)


@operation(
    "CreateEndpoint",
    {
        **NAME_ONLY,
        "EndpointConfigName": s.ENTITY_NAME,
        "DeploymentConfig": DEPLOYMENT_CONFIG,
        "Tags": s.TAGS,
    },
    required=("EndpointName", "EndpointConfigName"),
    codes=IN_USE_IS_VALIDATION,
)
def create_endpoint(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateEndpoint -> ``{EndpointArn}`` (status ``Creating`` until the models are loaded)."""
    return {"EndpointArn": services.endpoints.create(request).arn}


@operation("DescribeEndpoint", NAME_ONLY, ("EndpointName",), NOT_FOUND_IS_VALIDATION)
def describe_endpoint(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpoint."""
    return services.endpoints.describe(request["EndpointName"])


@operation(
    "ListEndpoints",
    {
        **STATUS_LIST_MEMBERS,
        "StatusEquals": s.String(enum=ENDPOINT_STATUSES),
        "SortBy": s.String(enum=("Name", "CreationTime", "Status")),
    },
)
def list_endpoints(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListEndpoints (default: by CreationTime, descending, 10 per page)."""
    records, token = services.endpoints.list(
        **list_filters(request, sort_by="CreationTime", sort_order="Descending")
    )
    items = [
        {
            "EndpointName": r.name,
            "EndpointArn": r.arn,
            "CreationTime": r.creation_time,
            "LastModifiedTime": r.last_modified_time,
            "EndpointStatus": r.status,
        }
        for r in records
    ]
    return page("Endpoints", items, token)


@operation("DeleteEndpoint", NAME_ONLY, ("EndpointName",), NOT_FOUND_IS_VALIDATION)
def delete_endpoint(services: Services, request: dict[str, Any]) -> None:
    """DeleteEndpoint: gone at once (a later Describe is a ``ValidationException``)."""
    services.endpoints.delete(request["EndpointName"])


@operation(
    "UpdateEndpoint",
    {
        **NAME_ONLY,
        "EndpointConfigName": s.ENTITY_NAME,
        "RetainAllVariantProperties": s.Boolean(),
        "ExcludeRetainedVariantProperties": s.ListOf(
            s.Structure(
                {
                    "VariantPropertyType": s.String(
                        enum=("DesiredInstanceCount", "DesiredWeight", "DataCaptureConfig")
                    )
                },
                required=("VariantPropertyType",),
            ),
            max=3,
        ),
        "DeploymentConfig": DEPLOYMENT_CONFIG,
        "RetainDeploymentConfig": s.Boolean(),
    },
    required=("EndpointName", "EndpointConfigName"),
    codes=NOT_FOUND_IS_VALIDATION,
)
def update_endpoint(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """UpdateEndpoint -> ``{EndpointArn}`` (``Updating``, then ``InService`` on the new config;
    the old variants serve until the new models are loaded)."""
    record = services.endpoints.update(
        request["EndpointName"],
        request["EndpointConfigName"],
        retain_all_variant_properties=request.get("RetainAllVariantProperties", False),
        exclude_retained_variant_properties=[
            p["VariantPropertyType"] for p in request.get("ExcludeRetainedVariantProperties", [])
        ],
        deployment_config=request.get("DeploymentConfig"),
        retain_deployment_config=request.get("RetainDeploymentConfig", False),
    )
    return {"EndpointArn": record.arn}


@operation(
    "UpdateEndpointWeightsAndCapacities",
    {
        **NAME_ONLY,
        "DesiredWeightsAndCapacities": s.ListOf(
            s.Structure(
                {
                    "VariantName": s.VARIANT_NAME,
                    "DesiredWeight": s.Float(min=0),
                    "DesiredInstanceCount": s.Integer(min=0),
                    "ServerlessUpdateConfig": s.Anything(),
                },
                required=("VariantName",),
            ),
            min=1,
        ),
    },
    required=("EndpointName", "DesiredWeightsAndCapacities"),
    codes=NOT_FOUND_IS_VALIDATION,
)
def update_weights(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """UpdateEndpointWeightsAndCapacities -> ``{EndpointArn}`` (applied at once)."""
    record = services.endpoints.update_weights_and_capacities(
        request["EndpointName"], request["DesiredWeightsAndCapacities"]
    )
    return {"EndpointArn": record.arn}


OPERATIONS = (
    create_endpoint,
    describe_endpoint,
    list_endpoints,
    delete_endpoint,
    update_endpoint,
    update_weights,
)
