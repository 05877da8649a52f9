"""CloudWatch metrics, the subset SageMaker users read: GetMetricStatistics and ListMetrics.

The service layer behind the API's CloudWatch operations, independent of any wire protocol:

* :mod:`.statistics`: CloudWatch's arithmetic (the query window, periods, the five statistics
  and percentiles per period), pure functions over samples.
* :mod:`.sources`: where samples come from. A source serves one namespace; the training-job
  metrics (``/aws/sagemaker/TrainingJobs``, dimension ``TrainingJobName``) are read from the
  points the job runner parses out of each job's log (:mod:`.training_jobs`).
* :mod:`.service`: :class:`~openmaker.cloudwatch.service.MetricsService`, the operations'
  checks and answers over the sources.
* :mod:`.errors`: CloudWatch's error codes as typed errors.
"""

from __future__ import annotations

from openmaker.cloudwatch.service import MetricsService

__all__ = ["MetricsService"]
