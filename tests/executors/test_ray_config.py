"""The ray executor's configuration: selection, the InstanceType table, early refusals."""

from __future__ import annotations

import json

import pytest

from openmaker.errors import ValidationError
from openmaker.executors import get_executor
from openmaker.executors.ray import INSTANCE_TYPES, RayExecutor, instance_resources


def test_executor_is_chosen_by_name_or_address(monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    ex = get_executor("ray")
    assert isinstance(ex, RayExecutor) and ex.address == "10.0.0.1:6379"
    assert ex.environment() == {"OPENMAKER_EXECUTOR": "ray", "RAY_ADDRESS": "10.0.0.1:6379"}
    client = get_executor("ray://head:10001")
    assert isinstance(client, RayExecutor) and client.address == "ray://head:10001"
    monkeypatch.setenv("OPENMAKER_EXECUTOR", "ray")
    assert get_executor().name == "ray"
    assert get_executor("local").environment() == {"OPENMAKER_EXECUTOR": "local"}
    with pytest.raises(ValidationError, match="available: local, ray"):
        get_executor("kubernetes")


def test_instance_types_map_to_resources_and_can_be_overridden(monkeypatch, tmp_path) -> None:
    assert instance_resources("ml.m5.xlarge").cpus == 4
    assert instance_resources("ml.p3.8xlarge").gpus == 4
    assert all(r.cpus > 0 for r in INSTANCE_TYPES.values())
    monkeypatch.setenv("OPENMAKER_RAY_INSTANCE_TYPES", '{"ml.m5.large": {"cpus": 0.5}}')
    assert instance_resources("ml.m5.large").cpus == 0.5
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"onprem.gpu": {"cpus": 8, "gpus": 2, "memory_gib": 64}}))
    monkeypatch.setenv("OPENMAKER_RAY_INSTANCE_TYPES", str(path))
    assert instance_resources("onprem.gpu").gpus == 2
    assert instance_resources("ml.m5.large").cpus == 2  # the built-in entry again


def test_bad_instance_types_are_refused_with_a_hint(monkeypatch) -> None:
    with pytest.raises(ValidationError, match="OPENMAKER_RAY_INSTANCE_TYPES"):
        instance_resources("ml.nope.large")
    monkeypatch.setenv("OPENMAKER_RAY_INSTANCE_TYPES", '{"x": {"cores": 4}}')
    with pytest.raises(ValidationError, match="unknown key"):
        instance_resources("x")
    monkeypatch.setenv("OPENMAKER_RAY_INSTANCE_TYPES", '{"x": {"cpus": 0}}')
    with pytest.raises(ValidationError, match="cpus must be > 0"):
        instance_resources("x")


def test_the_service_refuses_an_unknown_instance_type_before_starting(home, tmp_path) -> None:
    from openmaker.jobs.service import TrainingJobService

    from .multihost import request

    jobs = TrainingJobService(executor=RayExecutor("127.0.0.1:1"))
    req = request("x", "xgboost", {"num_round": "1"}, {"train": (tmp_path, "FullyReplicated")}, 1)
    req["ResourceConfig"]["InstanceType"] = "ml.unknown.large"
    with pytest.raises(ValidationError, match=r"ml\.unknown\.large"):
        jobs.create(req)
    assert jobs.list()[0] == []
