"""Request shapes (checks and conversions), the wire encoding, and the algorithm catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from openmaker.api import protocol
from openmaker.api import shapes as s
from openmaker.errors import ValidationError

SHAPE = s.Structure(
    {
        "Name": s.ENTITY_NAME,
        "Count": s.Integer(min=1, max=5),
        "Ratio": s.Float(min=0),
        "When": s.Timestamp(),
        "Flag": s.Boolean(),
        "Items": s.ListOf(s.Structure({"Key": s.String(min=1)}, required=("Key",)), max=2),
        "Env": s.MapOf(s.String(max=3), s.String(max=4), max=2),
    },
    required=("Name",),
)


def test_valid_requests_are_converted_and_undeclared_members_dropped() -> None:
    out = SHAPE.validate(
        {"Name": "ok-1", "Count": 2.0, "Ratio": 1, "When": 1704067200, "Internal": "x",
         "Items": [{"Key": "a", "Extra": 1}], "Env": {"A": "b"}}
    )  # fmt: skip
    assert out == {
        "Name": "ok-1",
        "Count": 2,
        "Ratio": 1.0,
        "When": datetime(2024, 1, 1, tzinfo=UTC),
        "Items": [{"Key": "a"}],
        "Env": {"A": "b"},
    }
    assert SHAPE.validate({"Name": "n", "When": "2024-01-01T00:00:00Z"})["When"] == datetime(
        2024, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        ({}, "Value null at 'name' failed to satisfy constraint: Member must not be null"),
        ({"Name": "a" * 64}, "have length less than or equal to 63"),
        ({"Name": "a_b"}, "satisfy regular expression pattern"),
        ({"Name": "n", "Count": 0}, "have value greater than or equal to 1"),
        ({"Name": "n", "Count": True}, "be of type integer"),
        ({"Name": "n", "Ratio": "1"}, "be of type float"),
        ({"Name": "n", "Flag": "true"}, "be of type boolean"),
        ({"Name": "n", "When": "yesterday"}, "be a timestamp"),
        ({"Name": "n", "Items": [{}, {}, {}]}, "have length less than or equal to 2"),
        ({"Name": "n", "Items": [{}]}, "at 'items.1.member.key'"),
        ({"Name": "n", "Env": {"LONG": "v"}}, "at 'env.key'"),
        ({"Name": "n", "Env": {"a": "b", "c": "d", "e": "f"}}, "at most 2 entries"),
    ],
)
def test_each_problem_is_named(request_: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match="validation error") as exc:
        SHAPE.validate(request_)
    assert fragment in str(exc.value)


def test_problems_are_counted_and_long_values_cut() -> None:
    with pytest.raises(ValidationError) as exc:
        SHAPE.validate({"Name": "x" * 500, "Count": 9, "Flag": 1})
    message = str(exc.value)
    assert message.startswith("3 validation errors detected: ")
    assert "x" * 121 not in message


def test_responses_encode_times_as_epoch_seconds_and_nan_as_null() -> None:
    when = datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    body = json.loads(protocol.encode_response({"CreationTime": when, "Value": float("nan")}))
    assert body == {"CreationTime": 1704067200.5, "Value": None}
    assert protocol.encode_response(None) == b"{}"
    error = json.loads(protocol.encode_error("ResourceInUse", "taken"))
    assert error == {"__type": "ResourceInUse", "message": "taken"}


def test_describe_algorithm_from_the_spec() -> None:
    from openmaker.algorithms.catalog import describe_algorithm

    described = describe_algorithm("arn:aws:sagemaker:us-east-1:000000000000:algorithm/xgboost")
    assert described["AlgorithmName"] == "xgboost"
    training = described["TrainingSpecification"]
    assert training["TrainingImage"] == "sagemaker-xgboost"
    params = {p["Name"]: p for p in training["SupportedHyperParameters"]}
    assert params["num_round"]["Type"] == "Integer" and params["num_round"]["IsRequired"]
    assert params["objective"]["Type"] == "Categorical"
    assert "reg:squarederror" in params["objective"]["Range"][
        "CategoricalParameterRangeSpecification"]["Values"]  # fmt: skip
    assert not any(name.startswith("_") for name in params)
    channels = {c["Name"]: c for c in training["TrainingChannels"]}
    assert channels["train"]["IsRequired"] and "text/csv" in channels["train"][
        "SupportedContentTypes"]  # fmt: skip
    objectives = {
        m["MetricName"]: m["Type"] for m in training["SupportedTuningJobObjectiveMetrics"]
    }
    assert objectives["validation:auc"] == "Maximize"
    assert objectives["validation:rmse"] == "Minimize"
    assert "text/csv" in described["InferenceSpecification"]["SupportedContentTypes"]


def test_list_algorithms_pages_filters_and_sorts() -> None:
    from openmaker.algorithms import registry
    from openmaker.algorithms.catalog import list_algorithms

    rows, token = list_algorithms(sort_by="Name", max_results=1)
    names = [rows[0]["AlgorithmName"]]
    while token:
        rows, token = list_algorithms(sort_by="Name", max_results=1, next_token=token)
        names.extend(r["AlgorithmName"] for r in rows)
    assert names == sorted(registry.names())
    rows, _ = list_algorithms(name_contains="XGB")
    assert [r["AlgorithmName"] for r in rows] == ["xgboost"]
    with pytest.raises(ValidationError):
        list_algorithms(sort_by="Name", next_token="bad")
    rows, _ = list_algorithms(sort_by="Name", sort_order="Descending", max_results=100)
    assert [r["AlgorithmName"] for r in rows] == sorted(registry.names(), reverse=True)
