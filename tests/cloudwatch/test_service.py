"""MetricsService: CloudWatch's checks and answers over the metric sources, and the training
jobs' metrics as the ``/aws/sagemaker/TrainingJobs`` namespace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openmaker.cloudwatch.errors import InvalidParameterCombinationError, InvalidParameterValueError
from openmaker.cloudwatch.service import PAGE_SIZE, MetricsService
from openmaker.cloudwatch.sources import DimensionFilter, Metric
from openmaker.cloudwatch.statistics import Sample
from openmaker.cloudwatch.training_jobs import NAMESPACE
from openmaker.store import MetricPoint, Store, TrainingJobRecord, open_store

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T0 = NOW - timedelta(hours=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite'}") as opened:
        for name in ("job-a", "job-b"):
            opened.training_jobs.create(
                TrainingJobRecord(name=name, arn=f"arn:{name}", algorithm="xgboost")
            )
        opened.training_jobs.add_metrics(
            "job-a",
            [MetricPoint("train:rmse", v, at(s), i) for i, (s, v) in
             enumerate([(1, 4.0), (2, 2.0), (61, 1.0), (62, float("nan"))])],
        )  # fmt: skip
        opened.training_jobs.add_metrics("job-b", [MetricPoint("validation:auc", 0.9, at(5))])
        yield opened


@pytest.fixture
def service(store: Store) -> MetricsService:
    return MetricsService(store, clock=lambda: NOW)


def stats(service: MetricsService, **overrides: object) -> list[tuple[datetime, dict]]:
    request: dict = {
        "namespace": NAMESPACE,
        "metric_name": "train:rmse",
        "dimensions": [("TrainingJobName", "job-a")],
        "start_time": at(0),
        "end_time": at(600),
        "period": 60,
        "statistics": ["Average", "SampleCount"],
        **overrides,
    }
    result = service.get_metric_statistics(**request)
    assert result.label == request["metric_name"]
    return [(p.timestamp, dict(p.statistics)) for p in result.datapoints]


def test_training_job_metrics_per_period(service: MetricsService) -> None:
    assert stats(service) == [
        (at(0), {"Average": 3.0, "SampleCount": 2.0}),
        (at(60), {"Average": 1.0, "SampleCount": 1.0}),  # the NaN point is not a sample
    ]
    assert stats(service, period=3600) == [(at(0), {"Average": 7 / 3, "SampleCount": 3.0})]
    # the end is exclusive on the data points' timestamps; the start rounds down to the minute
    assert stats(service, start_time=at(30), end_time=at(60)) == [stats(service)[0]]
    assert stats(service, start_time=at(61)) == [(at(60), {"Average": 1.0, "SampleCount": 1.0})]


def test_what_has_no_data_is_empty_not_an_error(service: MetricsService) -> None:
    assert stats(service, namespace="AWS/EC2") == []
    assert stats(service, metric_name="nope") == []
    assert stats(service, dimensions=[("TrainingJobName", "ghost")]) == []
    assert stats(service, dimensions=[]) == []
    both = [("TrainingJobName", "job-a"), ("Host", "algo-1")]
    assert stats(service, dimensions=both) == []  # a metric is its exact set of dimensions
    assert stats(service, unit="Seconds") == []
    assert len(stats(service, unit="None")) == 2


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"period": 45}, InvalidParameterValueError, "Period"),
        ({"end_time": at(0)}, InvalidParameterValueError, "StartTime must be less"),
        ({"statistics": []}, InvalidParameterCombinationError, "either Statistics"),
        ({"extended_statistics": ["p90"]}, InvalidParameterCombinationError, "not both"),
        ({"statistics": ["Median"]}, InvalidParameterValueError, "Median"),
        ({"statistics": [], "extended_statistics": ["p200"]}, InvalidParameterValueError, "p200"),
        ({"period": 1, "end_time": at(3600)}, InvalidParameterCombinationError, "of 1440"),
        (
            {"dimensions": [("TrainingJobName", "a"), ("TrainingJobName", "b")]},
            InvalidParameterValueError,
            "more than once",
        ),
    ],
)
def test_bad_requests(
    service: MetricsService, overrides: dict, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        stats(service, **overrides)


def test_list_metrics(service: MetricsService, store: Store) -> None:
    metrics, token = service.list_metrics()
    assert token is None
    assert metrics == [
        Metric(NAMESPACE, "train:rmse", (("TrainingJobName", "job-a"),)),
        Metric(NAMESPACE, "validation:auc", (("TrainingJobName", "job-b"),)),
    ]
    job_b = [DimensionFilter("TrainingJobName", "job-b")]
    assert [m.name for m in service.list_metrics(dimensions=job_b)[0]] == ["validation:auc"]
    name_only = [DimensionFilter("TrainingJobName")]
    assert len(service.list_metrics(dimensions=name_only)[0]) == 2
    assert service.list_metrics(dimensions=[DimensionFilter("Host")])[0] == []
    assert service.list_metrics(namespace="AWS/EC2") == ([], None)
    assert [m.name for m in service.list_metrics(metric_name="train:rmse")[0]] == ["train:rmse"]
    assert len(service.list_metrics(recently_active="PT3H")[0]) == 2
    later = MetricsService(store, clock=lambda: NOW + timedelta(hours=5))
    assert later.list_metrics(recently_active="PT3H")[0] == []
    assert len(later.list_metrics()[0]) == 2  # two weeks without RecentlyActive
    two_weeks = MetricsService(store, clock=lambda: NOW + timedelta(days=15))
    assert two_weeks.list_metrics()[0] == []
    with pytest.raises(InvalidParameterValueError, match="RecentlyActive"):
        service.list_metrics(recently_active="PT1H")


class FakeSource:
    """A namespace with ``count`` metrics."""

    def __init__(self, namespace: str, count: int) -> None:
        self.namespace = namespace
        self.names = [f"m{i:04d}" for i in range(count)]

    def samples(
        self, metric_name: str, dimensions: Mapping[str, str], start: datetime, end: datetime
    ) -> Sequence[Sample]:
        return [Sample(start, 1.0)] if metric_name in self.names else []

    def metrics(
        self,
        *,
        metric_name: str | None,
        filters: Sequence[DimensionFilter],
        active_since: datetime,
        after: str | None,
        limit: int,
    ) -> tuple[list[Metric], str | None]:
        rest = [n for n in self.names if after is None or n > after]
        page = rest[:limit]
        cursor = page[-1] if len(rest) > limit else None
        return [Metric(self.namespace, n, ()) for n in page], cursor


def test_list_metrics_pages_across_sources(store: Store) -> None:
    sources = [FakeSource("A", PAGE_SIZE + 20), FakeSource("B", 3), FakeSource("C", PAGE_SIZE)]
    service = MetricsService(store, sources, clock=lambda: NOW)
    seen, token, pages = [], None, 0
    while True:
        metrics, token = service.list_metrics(next_token=token)
        pages += 1
        assert len(metrics) <= PAGE_SIZE
        seen += [(m.namespace, m.name) for m in metrics]
        if token is None:
            break
    expected = [(s.namespace, n) for s in sources for n in s.names]
    assert seen == expected and pages == 3
    only_b, token = service.list_metrics(namespace="B")
    assert [m.name for m in only_b] == ["m0000", "m0001", "m0002"] and token is None
    for bad in ("nope", "Wzk5LG51bGxd", "e30=", "W10=", "é"):
        with pytest.raises(InvalidParameterValueError, match="NextToken"):
            service.list_metrics(next_token=bad)
