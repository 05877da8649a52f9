"""Mapping SageMaker's XGBoost hyperparameters onto xgboost's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openmaker.algorithms.xgboost.spec import (
    CONTAINER_METRICS,
    all_eval_metrics,
    metric_base,
)
from openmaker.spec.algorithm import ChannelInput, TrainingContext
from openmaker.spec.channels import ContentType

if TYPE_CHECKING:
    pass


#: SageMaker-only keys, and keys XGBoost 3 no longer knows: never passed to xgboost.
_NOT_PASSED = frozenset(
    {
        "num_round",
        "csv_weights",
        "early_stopping_rounds",
        "save_model_on_termination",
        "eval_metric",
        "use_dask_gpu_training",
        "sketch_eps",
        "dsplit",
        "predictor",
        "lambda_bias",
        "prob_buffer_row",
        "deterministic_histogram",
    }
)


# --- parameters --------------------------------------------------------------------------------


def xgb_params(hp: Mapping[str, Any], context: TrainingContext) -> dict[str, Any]:
    """SageMaker hyperparameters -> the ``params`` dict of ``xgboost.train``."""
    params: dict[str, Any] = {}
    for key, value in hp.items():
        if key.startswith("_") or key in _NOT_PASSED:
            continue
        params[key] = value
    params.setdefault("nthread", max(int(context.num_cpus), 1))
    if params.get("objective") == "reg:linear":
        params["objective"] = "reg:squarederror"
    if params.get("tree_method") == "gpu_hist":
        params["tree_method"] = "hist"
        if context.num_gpus > 0:
            params["device"] = "cuda"
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])
    metrics = all_eval_metrics(hp)
    native = [m for m in metrics if metric_base(m) not in CONTAINER_METRICS]
    if native:
        params["eval_metric"] = native
    elif metrics:
        # only container-computed metrics asked for: don't print XGBoost's default one too
        params["disable_default_eval_metric"] = 1
    return params


def _jsonable(hp: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, int | float | str | bool | list) else str(v)) for k, v in hp.items()
    }


def _weight_column(hp: Mapping[str, Any], channel: ChannelInput) -> bool:
    return channel.content_type == ContentType.CSV and int(hp.get("csv_weights") or 0) == 1


def _objective(hp: Mapping[str, Any]) -> str:
    return str(hp.get("objective") or "reg:squarederror")
