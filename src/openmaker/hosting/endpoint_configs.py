"""Endpoint configs in the service layer: production variants and data capture.

Each ``ProductionVariant`` needs a ``VariantName`` (unique in the config), an existing
``ModelName``, ``InitialInstanceCount`` >= 1 (default 1: the serving workers the variant
asks for) and ``InitialVariantWeight`` >= 0 (default 1.0). ``ServerlessConfig`` is accepted
and served like one instance. ``DataCaptureConfig`` is validated here and written by the
serving workers (:mod:`openmaker.hosting.capture`). ``AsyncInferenceConfig`` enables
InvokeEndpointAsync (:mod:`openmaker.hosting.async_inference`; it is stored with the variants).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openmaker.errors import ValidationError
from openmaker.hosting.async_inference import (
    normalize_async_config,
    stored_async_config,
    with_async_config,
    without_async_config,
)
from openmaker.hosting.names import check_name
from openmaker.settings import get_settings
from openmaker.store import EndpointConfigRecord, Store, open_store
from openmaker.store.types import utcnow

CAPTURE_MODES = ("Input", "Output", "InputAndOutput")
#: Endpoint-config members openmaker refuses rather than ignores.
UNSUPPORTED = ("ShadowProductionVariants", "ExplainerConfig")


def normalize_variant(variant: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """A ``ProductionVariant`` with defaults filled in, checked against the store."""
    v = dict(variant)
    check_name(v.get("VariantName"), "VariantName")
    model = v.get("ModelName")
    if not model:
        raise ValidationError(f"Variant {v['VariantName']!r} needs a ModelName")
    if not store.models.exists(model):
        raise ValidationError(f"Could not find model {model!r} (variant {v['VariantName']!r}).")
    count = v.setdefault("InitialInstanceCount", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError(
            f"Variant {v['VariantName']!r}: InitialInstanceCount must be an integer >= 1; "
            f"got {count!r}"
        )
    weight = v.setdefault("InitialVariantWeight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise ValidationError(
            f"Variant {v['VariantName']!r}: InitialVariantWeight must be a number >= 0; "
            f"got {weight!r}"
        )
    v["InitialVariantWeight"] = float(weight)
    v.setdefault("InstanceType", "ml.m5.large")
    return v


def normalize_capture(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A ``DataCaptureConfig`` with the SDK's defaults, or None when absent."""
    if not config:
        return None
    c = dict(config)
    c.setdefault("EnableCapture", True)
    pct = c.get("InitialSamplingPercentage")
    if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
        raise ValidationError(
            f"DataCaptureConfig.InitialSamplingPercentage must be an integer 0-100; got {pct!r}"
        )
    if not c.get("DestinationS3Uri"):
        raise ValidationError("DataCaptureConfig.DestinationS3Uri is required")
    options = c.setdefault("CaptureOptions", [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}])
    if not isinstance(options, list) or not options:
        raise ValidationError("DataCaptureConfig.CaptureOptions must be a list of 1-32 modes")
    for opt in options:
        if (opt or {}).get("CaptureMode") not in CAPTURE_MODES:
            raise ValidationError(
                f"CaptureMode must be one of {', '.join(CAPTURE_MODES)}; got {opt!r}"
            )
    headers = c.setdefault("CaptureContentTypeHeader", {})
    headers.setdefault("CsvContentTypes", ["text/csv"])
    headers.setdefault("JsonContentTypes", ["application/json"])
    return c


class EndpointConfigService:
    """The one implementation of endpoint-config operations."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or open_store()

    def create(self, request: Mapping[str, Any]) -> EndpointConfigRecord:
        """CreateEndpointConfig.

        Raises:
            ValidationError: bad name, variants (1-10, unique names, existing models),
                capture config or async inference config.
            ResourceInUseError: a config of that name exists.
        """
        req = copy.deepcopy(dict(request))
        name = check_name(req.get("EndpointConfigName"), "EndpointConfigName")
        for unsupported in UNSUPPORTED:
            if req.get(unsupported):
                raise ValidationError(
                    f"{unsupported} is not supported (openmaker hosts real-time and "
                    "asynchronous production variants only)"
                )
        variants = req.get("ProductionVariants")
        if not isinstance(variants, list) or not 1 <= len(variants) <= 10:
            raise ValidationError("ProductionVariants must be a list of 1 to 10 variants")
        normalized = [normalize_variant(v, self.store) for v in variants]
        names = [v["VariantName"] for v in normalized]
        if len(set(names)) != len(names):
            raise ValidationError(f"VariantName values must be unique; got {names}")
        async_config = normalize_async_config(req.get("AsyncInferenceConfig"))
        record = EndpointConfigRecord(
            name=name,
            arn=get_settings().arn("endpoint-config", name),
            production_variants=with_async_config(normalized, async_config),
            data_capture_config=normalize_capture(req.get("DataCaptureConfig")),
            kms_key_id=req.get("KmsKeyId"),
            tags=list(req.get("Tags") or []),
            creation_time=utcnow(),
        )
        return self.store.endpoint_configs.create(record)

    def get(self, name: str) -> EndpointConfigRecord:
        """The config's record."""
        return self.store.endpoint_configs.get(name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeEndpointConfig."""
        rec = self.get(name)
        out: dict[str, Any] = {
            "EndpointConfigName": rec.name,
            "EndpointConfigArn": rec.arn,
            "ProductionVariants": without_async_config(rec.production_variants),
            "CreationTime": rec.creation_time,
        }
        if rec.data_capture_config:
            out["DataCaptureConfig"] = dict(rec.data_capture_config)
        async_config = stored_async_config(rec.production_variants)
        if async_config:
            out["AsyncInferenceConfig"] = async_config
        if rec.kms_key_id:
            out["KmsKeyId"] = rec.kms_key_id
        return out

    def list(self, **filters: Any) -> tuple[list[EndpointConfigRecord], str | None]:
        """ListEndpointConfigs."""
        return self.store.endpoint_configs.list(**filters)

    def delete(self, name: str) -> None:
        """DeleteEndpointConfig (endpoints using it keep running, as in SageMaker)."""
        self.store.endpoint_configs.get(name)
        self.store.endpoint_configs.delete(name)
