"""Models: Create / Describe / List / Delete Model(s).

Thin handlers over :class:`openmaker.hosting.models.ModelService`. ``PrimaryContainer.Image``
may be any image URI ``image_uris.retrieve`` builds for a built-in algorithm (or the
algorithm's name); ``ModelDataUrl`` must exist. A missing model is a ``ValidationException``
("Could not find model ..."), and so is an existing one on create ("Cannot create already
existing model ..."), which is what the SDK looks for.
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

CONTAINER = s.Structure(
    {
        "ContainerHostname": s.String(max=63, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"),
        "Image": s.IMAGE,
        "ImageConfig": s.Anything(),
        "Mode": s.String(enum=("SingleModel", "MultiModel")),
        "ModelDataUrl": s.URI,
        "ModelDataSource": s.Structure(
            {
                "S3DataSource": s.Structure(
                    {
                        "S3Uri": s.URI,
                        "S3DataType": s.String(enum=("S3Prefix", "S3Object")),
                        "CompressionType": s.String(enum=("None", "Gzip")),
                    },
                    required=("S3Uri", "S3DataType", "CompressionType"),
                )
            }
        ),
        "Environment": s.MapOf(
            s.String(max=1024, pattern=r"[a-zA-Z_][a-zA-Z0-9_]*"), s.String(max=1024), max=100
        ),
        "ModelPackageName": s.String(min=1, max=176),
        "InferenceSpecificationName": s.String(min=1, max=63),
        "MultiModelConfig": s.Anything(),
    }
)
NAME_ONLY = {"ModelName": s.MODEL_NAME}


@operation(
    "CreateModel",
    {
        **NAME_ONLY,
        "PrimaryContainer": CONTAINER,
        "Containers": s.ListOf(CONTAINER, max=15),
        "InferenceExecutionConfig": s.Structure(
            {"Mode": s.String(enum=("Serial", "Direct"))}, required=("Mode",)
        ),
        "ExecutionRoleArn": s.ROLE_ARN,
        "Tags": s.TAGS,
        "EnableNetworkIsolation": s.Boolean(),
    },
    required=("ModelName",),
    codes=IN_USE_IS_VALIDATION,
)
def create_model(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """CreateModel -> ``{ModelArn}``."""
    return {"ModelArn": services.models.create(request).arn}


@operation("DescribeModel", NAME_ONLY, ("ModelName",), codes=NOT_FOUND_IS_VALIDATION)
def describe_model(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """DescribeModel."""
    return services.models.describe(request["ModelName"])


@operation("ListModels", {**LIST_MEMBERS, "SortBy": s.String(enum=("Name", "CreationTime"))})
def list_models(services: Services, request: dict[str, Any]) -> dict[str, Any]:
    """ListModels (default: by CreationTime, descending, 10 per page)."""
    records, token = services.models.list(
        **list_filters(request, sort_by="CreationTime", sort_order="Descending")
    )
    items = [
        name_arn_time("ModelName", "ModelArn", r.name, r.arn, r.creation_time) for r in records
    ]
    return page("Models", items, token)


@operation("DeleteModel", NAME_ONLY, ("ModelName",), codes=NOT_FOUND_IS_VALIDATION)
def delete_model(services: Services, request: dict[str, Any]) -> None:
    """DeleteModel (endpoints serving it keep their loaded copy)."""
    services.models.delete(request["ModelName"])


OPERATIONS = (create_model, describe_model, list_models, delete_model)
