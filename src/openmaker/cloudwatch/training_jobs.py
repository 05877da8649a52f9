"""The training jobs' metrics, as SageMaker publishes them to CloudWatch.

Namespace ``/aws/sagemaker/TrainingJobs``, one dimension ``TrainingJobName``, the metric names
of the job's metric definitions (the ones its log matched), no unit. The samples are the
points the job runner parsed out of the log, with the time each line was read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from openmaker.cloudwatch.errors import InvalidParameterValueError
from openmaker.cloudwatch.sources import DimensionFilter, Metric
from openmaker.cloudwatch.statistics import Sample
from openmaker.errors import ResourceNotFoundError
from openmaker.store.training_jobs import TrainingJobStore

NAMESPACE = "/aws/sagemaker/TrainingJobs"
DIMENSION = "TrainingJobName"
_SEPARATOR = "\n"  # cannot occur in a job name


class TrainingJobMetrics:
    """The :class:`~openmaker.cloudwatch.sources.MetricSource` of ``/aws/sagemaker/TrainingJobs``.

    Args:
        jobs: the training-job store.
    """

    namespace = NAMESPACE

    def __init__(self, jobs: TrainingJobStore) -> None:
        self.jobs = jobs

    def samples(
        self, metric_name: str, dimensions: Mapping[str, str], start: datetime, end: datetime
    ) -> Sequence[Sample]:
        """The points of one job's metric (none unless the dimensions are exactly
        ``TrainingJobName``)."""
        if set(dimensions) != {DIMENSION}:
            return []
        try:
            points = self.jobs.metric_series(
                dimensions[DIMENSION], metric_name, start=start, end=end
            )
        except ResourceNotFoundError:
            return []
        return [Sample(p.timestamp, p.value) for p in points if math.isfinite(p.value)]

    def metrics(
        self,
        *,
        metric_name: str | None,
        filters: Sequence[DimensionFilter],
        active_since: datetime,
        after: str | None,
        limit: int,
    ) -> tuple[list[Metric], str | None]:
        """The ``(job, metric)`` pairs with points, by job then metric name."""
        jobs = {f.value for f in filters if f.value is not None}
        if any(f.name != DIMENSION for f in filters) or len(jobs) > 1:
            return [], None
        keys = self.jobs.metric_keys(
            job_name=next(iter(jobs), None),
            metric_name=metric_name,
            active_since=active_since,
            after=_parse_cursor(after) if after is not None else None,
            limit=limit + 1,
        )
        page = keys[:limit]
        metrics = [Metric(NAMESPACE, metric, ((DIMENSION, job),)) for job, metric in page]
        cursor = _SEPARATOR.join(page[-1]) if len(keys) > limit else None
        return metrics, cursor


def _parse_cursor(cursor: str) -> tuple[str, str]:
    job, sep, metric = cursor.partition(_SEPARATOR)
    if not sep or not job:
        raise InvalidParameterValueError("The NextToken is not valid.")
    return job, metric
