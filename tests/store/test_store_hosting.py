"""The hosting aggregates in the store (SQLite and PostgreSQL): CRUD, compare-and-set, lists."""

from __future__ import annotations

import pytest

from openmaker.errors import ResourceInUseError, ResourceNotFoundError, ValidationError
from openmaker.store import (
    EndpointConfigRecord,
    EndpointRecord,
    ModelRecord,
    Store,
    TransformJobRecord,
)

from .conftest import at


def _model(name: str, seconds: float = 0) -> ModelRecord:
    return ModelRecord(name=name, arn=f"arn:model/{name}", algorithm="xgboost",
                       model_data_url="s3://b/m.tar.gz",
                       primary_container={"Image": "xgboost", "Environment": {"A": "1"}},
                       creation_time=at(seconds))  # fmt: skip


def test_models_crud(store: Store) -> None:
    created = store.models.create(_model("m1"))
    assert created == store.models.get("m1") and created.environment == {"A": "1"}
    with pytest.raises(ResourceInUseError):
        store.models.create(_model("m1"))
    store.models.delete("m1")
    with pytest.raises(ResourceNotFoundError, match="Could not find model 'm1'"):
        store.models.get("m1")


def test_lists_filter_sort_and_page(store: Store) -> None:
    for i, name in enumerate(["alpha", "beta", "gamma", "Alphabet"]):
        store.models.create(_model(name, seconds=i))
    names = [m.name for m in store.models.list(name_contains="ALPHA")[0]]
    assert names == ["Alphabet", "alpha"]  # newest first
    seen, token = [], None
    while True:
        page, token = store.models.list(max_results=3, sort_by="Name", sort_order="Ascending",
                                        next_token=token)  # fmt: skip
        seen += [m.name for m in page]
        if token is None:
            break
    assert seen == ["Alphabet", "alpha", "beta", "gamma"]
    assert [m.name for m in store.models.list(creation_time_after=at(1.5))[0]] == [
        "Alphabet",
        "gamma",
    ]
    with pytest.raises(ValidationError):
        store.models.list(sort_by="Status")
    with pytest.raises(ValidationError):
        store.models.list(next_token="garbage")


def test_endpoints_compare_and_set_and_revisions(store: Store) -> None:
    store.endpoint_configs.create(
        EndpointConfigRecord(name="c", arn="arn:c", production_variants=[{"VariantName": "A"}])
    )
    rec = store.endpoints.create(
        EndpointRecord(
            name="ep", arn="arn:ep", config_name="c", creation_time=at(0), last_modified_time=at(0)
        )
    )
    assert rec.revision == 1 and store.endpoints.revisions() == {"ep": (1, "Creating")}
    assert store.endpoints.update("ep", only_if_status=("InService",), status="Failed") is None
    done = store.endpoints.update("ep", only_if_status=("Creating",), status="InService")
    assert done is not None and done.revision == 2 and done.last_modified_time > at(0)
    assert store.endpoints.update("ep", status=lambda r: r.status + "!") is not None
    assert store.endpoints.get("ep").status == "InService!"
    with pytest.raises(ValueError, match="name"):
        store.endpoints.update("ep", name="other")
    assert [e.name for e in store.endpoints.list(status_equals="Creating")[0]] == []
    with pytest.raises(ValidationError, match="StatusEquals"):
        store.endpoints.list(status_equals="Nope")
    assert store.endpoints.delete("ep", only_if_status=("Creating",)) is False
    assert store.endpoints.delete("ep") is True
    assert store.endpoints.revisions() == {}


def test_transform_jobs(store: Store) -> None:
    job = TransformJobRecord(name="t", arn="arn:t", model_name="m", request={"a": 1},
                             progress={"RecordsDone": 0})  # fmt: skip
    store.transform_jobs.create(job)
    store.transform_jobs.update("t", progress={"RecordsDone": 5}, status="Completed",
                                transform_end_time=at(9))  # fmt: skip
    got = store.transform_jobs.get("t")
    assert got.is_terminal and got.progress == {"RecordsDone": 5}
    assert got.transform_end_time == at(9)
    assert [j.name for j in store.transform_jobs.all(status_in=("Completed",))] == ["t"]
