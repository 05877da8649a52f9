"""Endpoint configs: Create / Describe / List / Delete EndpointConfig(s).

Thin handlers over :class:`openmaker.hosting.endpoint_configs.EndpointConfigService`
(``AsyncInferenceConfig`` enables ``/endpoints/{name}/async-invocations``). Missing
and existing configs are ``ValidationException`` ("Could not find endpoint configuration ...",
"Cannot create already existing endpoint configuration ..."), as on AWS.
"""

from __future__ import annotations

from typing import Any

from openmaker.api import shapes as s
from openmaker.api.operations.base import (
    IN_USE_IS_VALIDATION,
    LIST_MEMBERS,
    NOT_FOUND_IS_VALIDATION,
    list_filters,
    name_arn_time,
    operation,
    page,
)
from openmaker.api.services import Services

PRODUCTION_VARIANT = s.Structure(
    {
        "VariantName": s.VARIANT_NAME,
        "ModelName": s.MODEL_NAME,
        "InitialInstanceCount": s.Integer(min=1),
        "InstanceType": s.INSTANCE_TYPE,
        "InitialVariantWeight": s.Float(min=0),
        "AcceleratorType": s.String(max=64),
        "ServerlessConfig": s.Structure(
            {
                "MemorySizeInMB": s.Integer(min=1024, max=6144),
                "MaxConcurrency": s.Integer(min=1, max=200),
                "ProvisionedConcurrency": s.Integer(min=1, max=200),
            },
            required=("MemorySizeInMB", "MaxConcurrency"),
        ),
        "VolumeSizeInGB": s.Integer(min=1, max=512),
        "ModelDataDownloadTimeoutInSeconds": s.Integer(min=60, max=3600),
        "ContainerStartupHealthCheckTimeoutInSeconds": s.Integer(min=60, max=3600),
        "RoutingConfig": s.Structure(
            {"RoutingStrategy": s.String(enum=("LEAST_OUTSTANDING_REQUESTS", "RANDOM"))},
            required=("RoutingStrategy",),
        ),
    },
    required=("VariantName",),
)
CONTENT_TYPES = s.ListOf(s.String(min=1, max=256), min=1, max=10)
DATA_CAPTURE_CONFIG = s.Structure(
    {
        "EnableCapture": s.Boolean(),
        "InitialSamplingPercentage": s.Integer(min=0, max=100),
        "DestinationS3Uri": s.String(max=512),
        "KmsKeyId": s.KMS_KEY_ID,
        "CaptureOptions": s.ListOf(
            s.Structure(
                {"CaptureMode": s.String(enum=("Input", "Output", "InputAndOutput"))},
                required=("CaptureMode",),
            ),
            min=1,
            max=32,
        ),
        "CaptureContentTypeHeader": s.Structure(
            {"CsvContentTypes": CONTENT_TYPES, "JsonContentTypes": CONTENT_TYPES}
        ),
    },
    required=("InitialSamplingPercentage", "DestinationS3Uri", "CaptureOptions"),
)
ASYNC_INFERENCE_CONFIG = s.Structure(
    {
        "ClientConfig": s.Structure(
            {"MaxConcurrentInvocationsPerInstance": s.Integer(min=1, max=1000)}
        ),
        "OutputConfig": s.Structure(
            {
                "KmsKeyId": s.KMS_KEY_ID,
                "S3OutputPath": s.URI,
                "S3FailurePath": s.URI,
                "NotificationConfig": s.Anything(),
            }
        ),
    },
    required=("OutputConfig",),
)
NAME_ONLY = {"EndpointConfigName": s.ENTITY_NAME}


@operation(
    "CreateEndpointConfig",
    {
        **NAME_ONLY,
        "ProductionVariants": s.ListOf(PRODUCTION_VARIANT, min=1, max=10),
        "DataCaptureConfig": DATA_CAPTURE_CONFIG,
        "Tags": s.TAGS,
        "KmsKeyId": s.KMS_KEY_ID,
        "AsyncInferenceConfig": ASYNC_INFERENCE_CONFIG,
        # Declared so that the service refuses them by name rather than they vanish.
        "ShadowProductionVariants": s.Anything(),
        "ExplainerConfig": s.Anything(),
    },
    required=("EndpointConfigName", "ProductionVariants"),
    codes=IN_USE_IS_VALIDATION,
)
def create_endpoint_config(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateEndpointConfig -> ``{EndpointConfigArn}``."""
    return {"EndpointConfigArn": services.endpoint_configs.create(request).arn}


@operation("DescribeEndpointConfig", NAME_ONLY, ("EndpointConfigName",), NOT_FOUND_IS_VALIDATION)
def describe_endpoint_config(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeEndpointConfig."""
    return services.endpoint_configs.describe(request["EndpointConfigName"])


@operation(
    "ListEndpointConfigs", {**LIST_MEMBERS, "SortBy": s.String(enum=("Name", "CreationTime"))}
)
def list_endpoint_configs(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListEndpointConfigs (default: by CreationTime, descending, 10 per page)."""
    records, token = services.endpoint_configs.list(
        **list_filters(request, sort_by="CreationTime", sort_order="Descending")
    )
    items = [
        name_arn_time("EndpointConfigName", "EndpointConfigArn", r.name, r.arn, r.creation_time)
        for r in records
    ]
    return page("EndpointConfigs", items, token)


@operation("DeleteEndpointConfig", NAME_ONLY, ("EndpointConfigName",), NOT_FOUND_IS_VALIDATION)
def delete_endpoint_config(services: Services, request: dict[str, Any]) -> None:
    """DeleteEndpointConfig (endpoints using it keep running)."""
    services.endpoint_configs.delete(request["EndpointConfigName"])


OPERATIONS = (
    create_endpoint_config,
    describe_endpoint_config,
    list_endpoint_configs,
    delete_endpoint_config,
)
