"""TrainingJobStore.list: filters, sorting and keyset pagination on both backends."""

from __future__ import annotations

import base64
import json

import pytest

from openmaker.errors import ValidationError
from openmaker.store import Store

from .conftest import at

# name, status, creation offset (s), last-modified offset (s), tuning job
JOBS = [
    ("alpha-1", "Completed", 10, 100, None),
    ("Beta-2", "InProgress", 20, 110, "arn:tuning/t1"),
    ("gamma-3", "Failed", 20, 120, "arn:tuning/t1"),  # same creation time as Beta-2
    ("delta-4", "InProgress", 5, 130, None),
    ("eps-5", "Stopped", 40, 140, "arn:tuning/t2"),
    ("zeta-6", "Completed", 30, 150, None),
    ("eta-7", "Stopping", 20, 160, None),  # a third job created at +20 s
]
SORT_KEYS = {
    "Name": lambda j: (j[0],),
    "CreationTime": lambda j: (j[2], j[0]),
    "Status": lambda j: (j[1], j[0]),
}


@pytest.fixture
def populated(store: Store, make_record) -> Store:
    for name, status, created, modified, tuning in JOBS:
        store.training_jobs.create(
            make_record(
                name,
                status=status,
                creation_time=at(created),
                last_modified_time=at(modified),
                tuning_job_arn=tuning,
            )
        )
    return store


def _names(store: Store, **kwargs) -> list[str]:
    records, token = store.training_jobs.list(**kwargs)
    assert token is None
    return [r.name for r in records]


def _expected(sort_by: str, descending: bool) -> list[str]:
    return [j[0] for j in sorted(JOBS, key=SORT_KEYS[sort_by], reverse=descending)]


@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
@pytest.mark.parametrize("sort_order", ["Ascending", "Descending"])
def test_sorting(populated: Store, sort_by: str, sort_order: str) -> None:
    got = _names(populated, sort_by=sort_by, sort_order=sort_order)
    assert got == _expected(sort_by, sort_order == "Descending")


def test_default_sort_is_newest_first(populated: Store) -> None:
    assert _names(populated) == _expected("CreationTime", descending=True)


@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
@pytest.mark.parametrize("sort_order", ["Ascending", "Descending"])
@pytest.mark.parametrize("page_size", [1, 2, 3, 7])
def test_pagination_visits_every_job_once(
    populated: Store, sort_by: str, sort_order: str, page_size: int
) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page, token = populated.training_jobs.list(
            sort_by=sort_by, sort_order=sort_order, max_results=page_size, next_token=token
        )
        pages += 1
        assert 0 < len(page) <= page_size
        seen += [r.name for r in page]
        if token is None:
            break
        assert isinstance(token, str) and len(token) <= 8192
    assert seen == _expected(sort_by, sort_order == "Descending")
    assert pages == -(-len(JOBS) // page_size)  # no empty trailing page


def test_pages_stay_stable_when_jobs_arrive(populated: Store, make_record) -> None:
    jobs = populated.training_jobs
    first, token = jobs.list(sort_by="CreationTime", sort_order="Ascending", max_results=3)
    # A job sorting before the cursor and one sorting after it arrive between the pages.
    jobs.create(make_record("early-8", creation_time=at(1)))
    jobs.create(make_record("late-9", creation_time=at(99)))
    rest: list[str] = []
    while token is not None:
        page, token = jobs.list(
            sort_by="CreationTime", sort_order="Ascending", max_results=3, next_token=token
        )
        rest += [r.name for r in page]
    names = [r.name for r in first] + rest
    assert names == [*_expected("CreationTime", descending=False), "late-9"]


def test_filters(populated: Store) -> None:
    asc = {"sort_by": "Name", "sort_order": "Ascending"}
    assert _names(populated, name_contains="ETA", **asc) == ["Beta-2", "eta-7", "zeta-6"]
    assert _names(populated, name_contains="-", **asc) == sorted(j[0] for j in JOBS)
    assert _names(populated, name_contains="%", **asc) == []
    assert _names(populated, name_contains="_", **asc) == []
    assert _names(populated, status_equals="InProgress", **asc) == ["Beta-2", "delta-4"]
    assert _names(populated, status_equals="Deleting", **asc) == []
    # Time bounds are exclusive.
    assert _names(populated, creation_time_after=at(20), **asc) == ["eps-5", "zeta-6"]
    assert _names(populated, creation_time_before=at(20), **asc) == ["alpha-1", "delta-4"]
    assert _names(populated, last_modified_time_after=at(140), **asc) == ["eta-7", "zeta-6"]
    assert _names(
        populated, last_modified_time_after=at(100), last_modified_time_before=at(130), **asc
    ) == ["Beta-2", "gamma-3"]
    assert _names(populated, tuning_job_arn="arn:tuning/t1", **asc) == ["Beta-2", "gamma-3"]
    assert _names(
        populated, name_contains="a", status_equals="Completed", creation_time_after=at(15), **asc
    ) == ["zeta-6"]


def test_filters_combine_with_pagination(populated: Store) -> None:
    page, token = populated.training_jobs.list(
        name_contains="a", sort_by="Name", sort_order="Ascending", max_results=2
    )
    assert [r.name for r in page] == ["Beta-2", "alpha-1"]
    page, token = populated.training_jobs.list(
        name_contains="a", sort_by="Name", sort_order="Ascending", max_results=2, next_token=token
    )
    assert [r.name for r in page] == ["delta-4", "eta-7"]
    page, token = populated.training_jobs.list(
        name_contains="a", sort_by="Name", sort_order="Ascending", max_results=2, next_token=token
    )
    assert ([r.name for r in page], token) == (["gamma-3", "zeta-6"], None)


def test_listed_records_are_complete(populated: Store) -> None:
    populated.training_jobs.transition("Beta-2", "Training", "Training in progress.")
    (record,), _ = populated.training_jobs.list(name_contains="beta")
    assert record == populated.training_jobs.get("Beta-2")
    assert record.secondary_status_transitions[0].status == "Training"


def test_empty_store(store: Store) -> None:
    assert store.training_jobs.list() == ([], None)
    assert store.training_jobs.active() == []


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage!!",
        "bm90IGpzb24",  # "not json"
        _forge([1, 2]),
        _forge({"v": 2, "s": "Name", "o": "Descending", "k": [{"s": "a"}]}),
        _forge({"v": 1, "s": "Name", "o": "Descending", "k": [{"x": "a"}]}),
        _forge({"v": 1, "s": "Name", "o": "Descending", "k": [{"s": "a"}, {"s": "b"}]}),
        _forge({"v": 1, "s": "Name", "o": "Descending"}),
        "A" * 9000,
    ],
)
def test_bad_tokens_are_validation_errors(populated: Store, token: str) -> None:
    with pytest.raises(ValidationError):
        populated.training_jobs.list(sort_by="Name", next_token=token)


def test_token_for_another_sort_is_refused(populated: Store) -> None:
    _, token = populated.training_jobs.list(sort_by="Name", max_results=1)
    assert token is not None
    with pytest.raises(ValidationError, match="SortBy=Name"):
        populated.training_jobs.list(sort_by="Status", max_results=1, next_token=token)
    with pytest.raises(ValidationError):
        populated.training_jobs.list(sort_by="Name", sort_order="Ascending", next_token=token)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort_by": "Age"},
        {"sort_order": "Sideways"},
        {"max_results": 0},
        {"max_results": True},
        {"status_equals": "Running"},
    ],
)
def test_bad_arguments_are_validation_errors(store: Store, kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        store.training_jobs.list(**kwargs)
