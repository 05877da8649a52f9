"""CloudWatch on the API server: the metric operations the SageMaker SDK's
``TrainingJobAnalytics`` calls (GetMetricStatistics, and ListMetrics), over AWS JSON 1.0 and
AWS Query.

* :mod:`.app`: which requests are CloudWatch's and the dispatch (:class:`CloudWatchApi`).
* :mod:`.operations`: the operations' shapes and thin handlers, protocol-free.
* :mod:`.awsjson`, :mod:`.query`: the two wire protocols; :mod:`.wire`: what they share.

The metrics themselves come from :mod:`openmaker.cloudwatch`.
"""

from __future__ import annotations

from openmaker.api.cloudwatch.app import MAX_BODY, CloudWatchApi

__all__ = ["MAX_BODY", "CloudWatchApi"]
