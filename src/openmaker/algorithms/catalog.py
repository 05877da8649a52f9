"""The registered algorithms in the shape of SageMaker's DescribeAlgorithm / ListAlgorithms.

Rendered from the specs alone (no algorithm code is imported). Choices where SageMaker's
shape asks for facts a local platform does not have (documented, tested in ``tests/api``):

* ``CreationTime`` is when the algorithm's spec module was installed (its file's modification
  time), so it is stable across calls and restarts.
* ``TrainingImage`` / inference ``Image`` is the ECR repository name (``sagemaker-xgboost``,
  ``linear-learner``); any URI with that repository selects the algorithm.
* Instance types: openmaker runs any instance type on the local machine (or the Ray cluster);
  the lists name the usual CPU types as examples.
* Hyperparameter ``Type``: integer, continuous and categorical (booleans as ``true``/``false``)
  map to SageMaker's types, everything else (lists, unions, text) is ``FreeText``; a ``Range``
  is given when both bounds are known. Hidden (``_``-prefixed) and internal hyperparameters
  (``force_dense``...) are left out.
* ``ListAlgorithms`` sorts by ``CreationTime`` ascending by default and pages with an offset
  token (there are only a few algorithms).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import os
from datetime import UTC, datetime
from typing import Any

from openmaker.algorithms import registry
from openmaker.errors import ResourceNotFoundError, ValidationError
from openmaker.settings import get_settings
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.hyperparameters import Boolean, Categorical, Continuous, Hyperparameter, Integer

EXAMPLE_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.xlarge")
COMPRESSION_TYPES = ("None", "Gzip")
SORT_FIELDS = ("Name", "CreationTime")


def describe_algorithm(name: str) -> dict[str, Any]:
    """DescribeAlgorithm for a registered algorithm (its name or its ARN).

    Raises:
        ResourceNotFoundError: no such algorithm (the message lists the known ones).
    """
    spec = registry.get(name.rsplit("/", 1)[-1] if name.startswith("arn:") else name)
    image = spec.image_repository or spec.name
    return {
        **_summary(spec),
        "TrainingSpecification": {
            "TrainingImage": image,
            "SupportedHyperParameters": [
                _hyperparameter(hp)
                for hp in spec.hyperparameters
                if not (hp.internal or hp.name.startswith("_"))
            ],
            "SupportedTrainingInstanceTypes": list(EXAMPLE_INSTANCE_TYPES),
            "SupportsDistributedTraining": spec.supports_distributed,
            "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metrics],
            "TrainingChannels": [
                {
                    "Name": ch.name,
                    "Description": ch.description or ch.name,
                    "IsRequired": ch.required,
                    "SupportedContentTypes": list(ch.content_types),
                    "SupportedCompressionTypes": list(COMPRESSION_TYPES),
                    "SupportedInputModes": list(ch.input_modes),
                }
                for ch in spec.channels
            ],
            "SupportedTuningJobObjectiveMetrics": [
                {"Type": m.direction, "MetricName": m.name} for m in spec.tunable_metrics()
            ],
        },
        "InferenceSpecification": {
            "Containers": [{"Image": image}],
            "SupportedTransformInstanceTypes": list(EXAMPLE_INSTANCE_TYPES),
            "SupportedRealtimeInferenceInstanceTypes": list(EXAMPLE_INSTANCE_TYPES),
            "SupportedContentTypes": list(spec.request_content_types),
            "SupportedResponseMIMETypes": list(spec.response_content_types),
        },
        "AlgorithmStatusDetails": {},
        "CertifyForMarketplace": False,
    }


def list_algorithms(
    *,
    name_contains: str | None = None,
    creation_time_after: datetime | None = None,
    creation_time_before: datetime | None = None,
    sort_by: str = "CreationTime",
    sort_order: str = "Ascending",
    max_results: int = 10,
    next_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """ListAlgorithms: summaries of the registered algorithms, and the next page's token.

    Raises:
        ValidationError: a bad sort, page size or token.
    """
    if sort_by not in SORT_FIELDS:
        raise ValidationError(f"SortBy must be one of {', '.join(SORT_FIELDS)}; got {sort_by!r}")
    if sort_order not in ("Ascending", "Descending"):
        raise ValidationError(f"SortOrder must be Ascending or Descending; got {sort_order!r}")
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise ValidationError(f"MaxResults must be a positive integer; got {max_results!r}")
    rows = []
    for name in registry.names():
        try:
            spec = registry.get(name)
        except (ImportError, ResourceNotFoundError):  # a broken plug-in must not hide the rest
            continue
        row = _summary(spec)
        if name_contains and name_contains.lower() not in name.lower():
            continue
        if creation_time_after and not row["CreationTime"] > creation_time_after:
            continue
        if creation_time_before and not row["CreationTime"] < creation_time_before:
            continue
        rows.append(row)
    key = "AlgorithmName" if sort_by == "Name" else "CreationTime"
    rows.sort(key=lambda r: (r[key], r["AlgorithmName"]), reverse=sort_order == "Descending")
    start = _offset(next_token, sort_by, sort_order)
    more = start + max_results < len(rows)
    token = _token(start + max_results, sort_by, sort_order) if more else None
    return rows[start : start + max_results], token


def _summary(spec: AlgorithmSpec) -> dict[str, Any]:
    return {
        "AlgorithmName": spec.name,
        "AlgorithmArn": get_settings().arn("algorithm", spec.name),
        "AlgorithmDescription": (spec.description or spec.title)[:1024],
        "CreationTime": _installed(spec),
        "AlgorithmStatus": "Completed",
    }


def _installed(spec: AlgorithmSpec) -> datetime:
    module = spec.train.partition(":")[0].rsplit(".", 1)[0] + ".spec"
    try:
        found = importlib.util.find_spec(module)
        origin = found.origin if found else None
        stamp = os.path.getmtime(origin) if origin else 0.0
    except (ImportError, ValueError, OSError):
        stamp = 0.0
    return datetime.fromtimestamp(stamp, UTC)


def _hyperparameter(hp: Hyperparameter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": hp.name,
        "Description": hp.description or hp.domain(),
        "IsTunable": hp.tunable,
        "IsRequired": hp.required,
    }
    if isinstance(hp, Integer | Continuous):
        out["Type"] = "Integer" if isinstance(hp, Integer) else "Continuous"
        if hp.range.min is not None and hp.range.max is not None:
            kind = f"{out['Type']}ParameterRangeSpecification"
            lo, hi = hp.range.min, hp.range.max
            if isinstance(hp, Integer):
                lo, hi = int(lo), int(hi)
            out["Range"] = {kind: {"MinValue": str(lo), "MaxValue": str(hi)}}
    elif isinstance(hp, Categorical | Boolean):
        out["Type"] = "Categorical"
        values = list(hp.choices) if isinstance(hp, Categorical) else ["true", "false"]
        out["Range"] = {"CategoricalParameterRangeSpecification": {"Values": values}}
    else:
        out["Type"] = "FreeText"
    if hp.default is not None:
        out["DefaultValue"] = hp.to_wire(hp.default)
    return out


def _token(offset: int, sort_by: str, sort_order: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{sort_by}:{sort_order}".encode()).decode()


def _offset(token: str | None, sort_by: str, sort_order: str) -> int:
    if not token:
        return 0
    try:
        offset, by, order = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if (by, order) == (sort_by, sort_order) and offset.isdigit():
            return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ValidationError("Invalid NextToken.")
