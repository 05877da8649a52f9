"""The metric queries CloudWatch's operations use: a series in a time range, and the distinct
(job, metric) pairs page by page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openmaker.store import MetricPoint, Store

from .conftest import at


def test_metric_series_in_a_time_range(store: Store, make_record: Callable[..., Any]) -> None:
    jobs = store.training_jobs
    jobs.create(make_record("job-1"))
    jobs.add_metrics("job-1", [MetricPoint("loss", float(i), at(i), i) for i in range(6)])
    jobs.add_metrics("job-1", [MetricPoint("other", 9.0, at(2), 0)])
    got = jobs.metric_series("job-1", "loss", start=at(2), end=at(5))
    assert [p.value for p in got] == [2.0, 3.0, 4.0]  # start inclusive, end exclusive
    assert [p.value for p in jobs.metric_series("job-1", "loss", start=at(4))] == [4.0, 5.0]
    assert len(jobs.metric_series("job-1", end=at(1))) == 1


def test_metric_keys_filter_and_page_in_byte_order(
    store: Store, make_record: Callable[..., Any]
) -> None:
    jobs = store.training_jobs
    for name in ("b-job", "a-job", "B-job"):
        jobs.create(make_record(name))
    jobs.create(make_record("silent"))  # no metrics: not listed
    jobs.add_metrics("a-job", [MetricPoint(m, 1.0, at(i)) for i, m in enumerate("zyx")])
    jobs.add_metrics("b-job", [MetricPoint("x", 1.0, at(100)), MetricPoint("x", 2.0, at(101))])
    jobs.add_metrics("B-job", [MetricPoint("Y", 1.0, at(50))])

    everything = jobs.metric_keys()
    assert everything == [
        ("B-job", "Y"), ("a-job", "x"), ("a-job", "y"), ("a-job", "z"), ("b-job", "x"),
    ]  # fmt: skip
    pages, after = [], None
    while True:
        page = jobs.metric_keys(after=after, limit=2)
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [key for page in pages for key in page] == everything
    assert [len(p) for p in pages] == [2, 2, 1]
    assert jobs.metric_keys(job_name="a-job", metric_name="y") == [("a-job", "y")]
    assert jobs.metric_keys(metric_name="x") == [("a-job", "x"), ("b-job", "x")]
    assert jobs.metric_keys(active_since=at(50)) == [("B-job", "Y"), ("b-job", "x")]
    assert jobs.metric_keys(job_name="ghost") == []
