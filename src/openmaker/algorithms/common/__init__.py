"""What SageMaker's first-party algorithms (Linear Learner, K-Means, PCA, k-NN, RCF, FM,
IP Insights) share: the metric log lines, the inference request and response formats, the
streamed training input and the ``model_algo-1`` artifact.

Reference: ``tabular-algorithms.md`` section 0.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from openmaker.algorithms.common.artifact import load_model_arrays, save_model_arrays
    from openmaker.algorithms.common.inference import (
        FIRST_PARTY_ACCEPT_TYPES,
        FIRST_PARTY_REQUEST_TYPES,
        decode_features,
        encode_predictions,
        negotiate_accept,
        predict_batch,
        predict_records_batch,
    )
    from openmaker.algorithms.common.input import (
        channel_batches,
        check_feature_dim,
        check_finite,
        prefetch,
        sample_rows,
    )
    from openmaker.algorithms.common.metric_log import MetricLog, quality_metric, score_metric

_LAZY = {
    "load_model_arrays": "artifact",
    "save_model_arrays": "artifact",
    "FIRST_PARTY_ACCEPT_TYPES": "inference",
    "FIRST_PARTY_REQUEST_TYPES": "inference",
    "decode_features": "inference",
    "encode_predictions": "inference",
    "negotiate_accept": "inference",
    "predict_batch": "inference",
    "predict_records_batch": "inference",
    "channel_batches": "input",
    "check_finite": "input",
    "check_feature_dim": "input",
    "prefetch": "input",
    "sample_rows": "input",
    "MetricLog": "metric_log",
    "quality_metric": "metric_log",
    "score_metric": "metric_log",
}


def __getattr__(name: str) -> Any:
    """Import lazily: algorithm specs use the light parts without pulling in numpy."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FIRST_PARTY_ACCEPT_TYPES",
    "FIRST_PARTY_REQUEST_TYPES",
    "MetricLog",
    "channel_batches",
    "check_feature_dim",
    "check_finite",
    "decode_features",
    "encode_predictions",
    "load_model_arrays",
    "negotiate_accept",
    "predict_batch",
    "predict_records_batch",
    "prefetch",
    "quality_metric",
    "sample_rows",
    "save_model_arrays",
    "score_metric",
]
