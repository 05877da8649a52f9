"""SageMaker's XGBoost algorithm mode, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports xgboost. The facts follow the reference
(``tabular-algorithms.md`` section 2, from ``aws/sagemaker-xgboost-container`` 1.7-1).

Defaults are not set by the container; XGBoost's own defaults apply. The "doc default" of each
hyperparameter is therefore only written in its description, and the declarations carry no
``default=`` (the training code fills ``nthread`` from the job's CPU count and treats a missing
``csv_weights`` as 0 and a missing ``_num_cv_round`` as 1).

Choices made where the reference leaves room (also listed in the package docstring):

* ``num_class`` is refused with any non-``multi:*`` objective (the container only refuses it
  when ``objective`` is unset).
* ``monotone_constraints`` needs ``tree_method`` exact, hist or gpu_hist and
  ``interaction_constraints`` exact, hist, approx or gpu_hist, set explicitly, as the
  container checks.
* ``eval_metric`` and ``_tuning_objective_metric`` are checked together against the
  objective (``auc`` / ``aucpr`` only with ``binary:*`` / ``rank:*``; ``aft-nloglik`` /
  ``interval-regression-accuracy`` only with ``survival:aft``; ``cox-nloglik`` only with
  ``survival:cox``). An unset objective counts as ``reg:squarederror``.
* The objective list of the container contains the string ``aft_loss_distribution`` (a bug);
  it is not accepted here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from openmaker.errors import HyperparameterError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.channels import Channel, ContentType
from openmaker.spec.hyperparameters import (
    Boolean,
    Categorical,
    Continuous,
    Hyperparameter,
    Integer,
    Interval,
    ListOf,
    Text,
)
from openmaker.spec.metrics import MetricDefinition

# --- objectives and metrics -------------------------------------------------------------------

OBJECTIVES: tuple[str, ...] = (
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)

#: ``validation:<m>`` metrics where larger is better (reference 2.4).
MAXIMIZE_METRICS: tuple[str, ...] = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "r2",
    "recall",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
)

#: ``validation:<m>`` metrics where smaller is better (reference 2.4).
MINIMIZE_METRICS: tuple[str, ...] = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)

METRIC_NAMES: tuple[str, ...] = MAXIMIZE_METRICS + MINIMIZE_METRICS

#: Metrics computed by the container (scikit-learn on the predictions), not by XGBoost.
#: ``rmse`` and ``mae`` are in the container's list too, but XGBoost computes the same values
#: natively (weighted), so the native ones are used.
CONTAINER_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "mse",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)

_THRESHOLD_METRIC = re.compile(r"^(error|ndcg|map)@([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(-?)$")


def metric_base(name: str) -> str:
    """``error@0.7`` -> ``error``; other names unchanged."""
    m = _THRESHOLD_METRIC.match(name)
    return m.group(1) if m else name


def metric_maximize(name: str) -> bool:
    """Whether a larger value of metric ``name`` (``auc``, ``ndcg@5``...) is better."""
    return metric_base(name) in MAXIMIZE_METRICS


def _check_metric_name(text: str) -> str:
    if text in METRIC_NAMES or _THRESHOLD_METRIC.match(text):
        return text
    raise ValueError(text)


# --- syntax checks of structured hyperparameters ----------------------------------------------

_TREE_PLUGINS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_skmaker",
    "sync",
    "refresh",
    "prune",
    "grow_quantile_histmaker",
)
_TREE_GROW_PLUGINS = (
    "grow_colmaker",
    "distcol",
    "grow_histmaker",
    "grow_quantile_histmaker",
    "grow_skmaker",
)
_LINEAR_PLUGINS = ("shotgun", "coord_descent")
_UPDATE_PLUGINS = ("refresh", "prune")


def _parse_updater(text: str) -> list[str]:
    items = [p.strip() for p in text.split(",") if p.strip()]
    known = set(_TREE_PLUGINS) | set(_LINEAR_PLUGINS)
    if not items or any(i not in known for i in items):
        raise ValueError(text)
    return items


def _parse_monotone(text: str) -> str:
    """``(0,1,-1)`` (also ``[0,1]`` or ``0,1``): a tuple of -1/0/1, returned normalised."""
    inner = text.strip()
    if inner[:1] in "([" and inner[-1:] in ")]":
        inner = inner[1:-1]
    parts = [p.strip() for p in inner.split(",")]
    if parts == [""]:
        raise ValueError(text)
    values = [int(p) for p in parts]
    if any(v not in (-1, 0, 1) for v in values):
        raise ValueError(text)
    return "(" + ",".join(str(v) for v in values) + ")"


def _parse_interaction(text: str) -> str:
    """``[[1,2],[3,4,5]]``: a list of lists of feature indices (ints >= 0), normalised."""
    loaded: Any = json.loads(text)
    if not isinstance(loaded, list) or not loaded:
        raise ValueError(text)
    for group in loaded:
        if not isinstance(group, list) or not group:
            raise ValueError(text)
        for idx in group:
            if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
                raise ValueError(text)
    return json.dumps(loaded, separators=(",", ":"))


# --- declarations ------------------------------------------------------------------------------

_GE0 = Interval(0, None)
_UNIT = Interval(0, 1)
_UNIT_LEFT_OPEN = Interval(0, 1, min_open=True)
_BOOL01 = Interval(0, 1)


def _doc(text: str, default: str | None = None) -> str:
    if default is None:
        return text
    return f"{text} Doc default: {default} (XGBoost's own default applies when unset)."


HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Integer(
        name="num_round",
        required=True,
        range=Interval(1, None),
        description="Number of boosting rounds.",
        tunable=True,
        tuning_range=(1, 4000),
    ),
    Integer(
        name="num_class",
        range=Interval(2, None),
        description="Number of classes; required for multi:softmax and multi:softprob.",
    ),
    Integer(
        name="csv_weights",
        range=_BOOL01,
        description=_doc("1: CSV column 1 (after the label) holds instance weights.", "0"),
    ),
    Integer(
        name="early_stopping_rounds",
        range=Interval(1, None),
        description="Stop when the validation metric has not improved for this many rounds.",
    ),
    Categorical(
        name="booster",
        choices=("gbtree", "gblinear", "dart"),
        description=_doc("Booster to use.", "gbtree"),
    ),
    Integer(
        name="verbosity",
        range=Interval(0, 3),
        description=_doc("XGBoost's log verbosity.", "1"),
    ),
    Integer(
        name="nthread",
        range=Interval(1, None),
        description=_doc("Threads used by XGBoost.", "the job's CPU count"),
    ),
    Continuous(
        name="eta",
        aliases=("learning_rate",),
        range=_UNIT,
        description=_doc("Step size shrinkage.", "0.3"),
        tunable=True,
        tuning_range=(0.1, 0.5),
    ),
    Continuous(
        name="gamma",
        aliases=("min_split_loss",),
        range=_GE0,
        description=_doc("Minimum loss reduction to split a leaf.", "0"),
        tunable=True,
        tuning_range=(0, 5),
    ),
    Integer(
        name="max_depth",
        range=_GE0,
        description=_doc("Maximum tree depth (0: no limit).", "6"),
        tunable=True,
        tuning_range=(0, 10),
    ),
    Continuous(
        name="min_child_weight",
        range=_GE0,
        description=_doc("Minimum sum of instance weight in a child.", "1"),
        tunable=True,
        tuning_range=(0, 120),
    ),
    Continuous(
        name="max_delta_step",
        range=_GE0,
        description=_doc("Maximum delta step for each leaf output.", "0"),
        tunable=True,
        tuning_range=(0, 10),
    ),
    Continuous(
        name="subsample",
        range=_UNIT_LEFT_OPEN,
        description=_doc("Row subsample ratio per tree.", "1"),
        tunable=True,
        tuning_range=(0.5, 1),
    ),
    Continuous(
        name="colsample_bytree",
        range=_UNIT_LEFT_OPEN,
        description=_doc("Column subsample ratio per tree.", "1"),
        tunable=True,
        tuning_range=(0.5, 1),
    ),
    Continuous(
        name="colsample_bylevel",
        range=_UNIT_LEFT_OPEN,
        description=_doc("Column subsample ratio per level.", "1"),
        tunable=True,
        tuning_range=(0.1, 1),
    ),
    Continuous(
        name="colsample_bynode",
        range=_UNIT_LEFT_OPEN,
        description=_doc("Column subsample ratio per node.", "1"),
        tunable=True,
        tuning_range=(0.1, 1),
    ),
    Continuous(
        name="lambda",
        aliases=("reg_lambda",),
        range=_GE0,
        description=_doc("L2 regularization on weights.", "1"),
        tunable=True,
        tuning_range=(0, 1000),
    ),
    Continuous(
        name="alpha",
        aliases=("reg_alpha",),
        range=_GE0,
        description=_doc("L1 regularization on weights.", "0"),
        tunable=True,
        tuning_range=(0, 1000),
    ),
    Categorical(
        name="tree_method",
        choices=("auto", "exact", "approx", "hist", "gpu_hist"),
        description=_doc(
            "Tree construction algorithm (gpu_hist runs as hist on the GPU when the job has "
            "one, else on the CPU).",
            "auto",
        ),
    ),
    Continuous(
        name="sketch_eps",
        range=Interval(0, 1, min_open=True, max_open=True),
        description=_doc("Approx sketch accuracy (accepted; unused by XGBoost 3).", "0.03"),
    ),
    Continuous(
        name="scale_pos_weight",
        range=Interval(0, None, min_open=True),
        description=_doc("Balance of positive and negative weights.", "1"),
    ),
    Text(
        name="updater",
        validator=_parse_updater,
        domain_text=(
            "comma list of " + ", ".join(_TREE_PLUGINS + _LINEAR_PLUGINS) + " (one grow plugin)"
        ),
        description=_doc("Tree updater plugins, comma separated.", "grow_colmaker,prune"),
    ),
    Categorical(
        name="dsplit",
        choices=("row", "col"),
        description="Data split mode (accepted; unused by XGBoost 3).",
    ),
    Integer(
        name="refresh_leaf",
        range=_BOOL01,
        description=_doc("Refresh updater: also update leaf values.", "1"),
    ),
    Categorical(
        name="process_type",
        choices=("default", "update"),
        description=_doc("Boosting process.", "default"),
    ),
    Categorical(
        name="grow_policy",
        choices=("depthwise", "lossguide"),
        description=_doc("How new nodes are added.", "depthwise"),
    ),
    Integer(
        name="max_leaves",
        range=_GE0,
        description=_doc("Maximum number of leaves (0: no limit).", "0"),
    ),
    Integer(
        name="max_bin",
        range=_GE0,
        description=_doc("Maximum number of histogram bins (hist).", "256"),
    ),
    Categorical(
        name="predictor",
        choices=("auto", "cpu_predictor", "gpu_predictor"),
        description="Predictor (accepted; unused by XGBoost 3).",
    ),
    Text(
        name="monotone_constraints",
        validator=_parse_monotone,
        domain_text="tuple of -1/0/1 such as (0,1,-1)",
        description="Monotonicity per feature; needs tree_method exact, hist or gpu_hist.",
    ),
    Text(
        name="interaction_constraints",
        validator=_parse_interaction,
        domain_text="nested list of feature indices such as [[1,2],[3,4,5]]",
        description="Allowed feature interactions; needs tree_method exact, hist or approx.",
    ),
    Categorical(
        name="sample_type",
        choices=("uniform", "weighted"),
        description=_doc("Dart sampling.", "uniform"),
    ),
    Categorical(
        name="normalize_type",
        choices=("tree", "forest"),
        description=_doc("Dart normalization.", "tree"),
    ),
    Continuous(name="rate_drop", range=_UNIT, description=_doc("Dart dropout rate.", "0.0")),
    Integer(name="one_drop", range=_BOOL01, description=_doc("Dart: always drop a tree.", "0")),
    Continuous(
        name="skip_drop", range=_UNIT, description=_doc("Dart: skip dropout probability.", "0.0")
    ),
    Continuous(
        name="lambda_bias",
        range=_UNIT,
        description=_doc("L2 on the linear bias (accepted; unused by XGBoost 3).", "0"),
    ),
    Continuous(
        name="tweedie_variance_power",
        range=Interval(1, 2, min_open=True, max_open=True),
        description=_doc("Tweedie variance power.", "1.5"),
    ),
    Categorical(
        name="objective",
        choices=OBJECTIVES,
        description=_doc("Learning objective.", "reg:squarederror"),
    ),
    Continuous(
        name="base_score",
        range=_GE0,
        description=_doc("Initial prediction score.", "0.5"),
    ),
    ListOf(
        name="eval_metric",
        item=Text(
            name="eval_metric",
            validator=_check_metric_name,
            domain_text="a metric name",
        ),
        description=_doc(
            "Evaluation metrics, comma separated (also error@t, ndcg@t, map@t).",
            "per objective (rmse, error, map)",
        ),
    ),
    Integer(
        name="seed",
        range=Interval(-(2**31), 2**31 - 1, min_open=True, max_open=True),
        description=_doc("Random seed.", "0"),
    ),
    Integer(
        name="num_parallel_tree",
        range=Interval(1, None),
        description="Trees built per round (boosted random forest).",
    ),
    Boolean(
        name="save_model_on_termination",
        description=_doc("Save the current model to the model folder on SIGTERM.", "false"),
    ),
    Categorical(
        name="aft_loss_distribution",
        choices=("normal", "logistic", "extreme"),
        description="survival:aft noise distribution.",
    ),
    Continuous(
        name="aft_loss_distribution_scale",
        range=_GE0,
        description="survival:aft distribution scale.",
    ),
    Boolean(
        name="deterministic_histogram",
        description=_doc("gpu_hist determinism (accepted; unused by XGBoost 3).", "true"),
    ),
    Categorical(
        name="sampling_method",
        choices=("uniform", "gradient_based"),
        description="Row sampling method.",
    ),
    Continuous(
        name="prob_buffer_row",
        range=Interval(1, None, min_open=True),
        description="GPU buffer factor (accepted; unused by XGBoost 3).",
    ),
    Boolean(
        name="use_dask_gpu_training",
        description=_doc("Multi-GPU Dask training (not supported; refused when true).", "false"),
    ),
    Integer(
        name="_kfold",
        range=Interval(2, None),
        description="Hidden: k-fold cross-validation over train + validation.",
    ),
    Integer(
        name="_num_cv_round",
        range=Interval(1, None),
        description="Hidden: repeats of k-fold cross-validation (default 1).",
    ),
    Categorical(
        name="_tuning_objective_metric",
        choices=tuple(f"validation:{m}" for m in METRIC_NAMES),
        description="Hidden: set by hyperparameter tuning; its metric is added to eval_metric.",
        internal=True,
    ),
)


# --- cross-parameter rules ----------------------------------------------------------------------


def _refuse(parameter: str, value: Any, allowed: str, why: str) -> HyperparameterError:
    return HyperparameterError(
        f"Hyperparameter {parameter!r}: value {value!r} is not valid; allowed: {allowed} ({why})",
        parameter=parameter,
        value=value,
        allowed=allowed,
    )


def _rule_num_class(values: dict[str, Any]) -> None:
    objective = values.get("objective")
    multi = objective is not None and objective.startswith("multi:")
    if multi and "num_class" not in values:
        raise HyperparameterError(
            f"Missing required hyperparameter 'num_class' (integer in [2, +inf)): required "
            f"with objective {objective!r}",
            parameter="num_class",
            value=None,
            allowed="integer in [2, +inf)",
        )
    if "num_class" in values and not multi:
        raise _refuse(
            "num_class",
            values["num_class"],
            "only with objective multi:softmax or multi:softprob",
            f"objective is {objective!r}" if objective else "objective is not set",
        )


def all_eval_metrics(values: Mapping[str, Any]) -> list[str]:
    """``eval_metric`` plus the metric of ``_tuning_objective_metric`` (last), deduplicated."""
    metrics = list(values.get("eval_metric") or [])
    tuning = values.get("_tuning_objective_metric")
    if tuning:
        name = str(tuning).split(":", 1)[-1]
        if name in metrics:
            metrics.remove(name)
        metrics.append(name)
    return metrics


def _rule_eval_metric(values: dict[str, Any]) -> None:
    objective = values.get("objective") or "reg:squarederror"
    given = values.get("eval_metric") or []
    for metric in all_eval_metrics(values):
        param = "eval_metric" if metric in given else "_tuning_objective_metric"
        base = metric_base(metric)
        if base in ("auc", "aucpr") and not objective.startswith(("binary:", "rank:")):
            raise _refuse(
                param,
                metric,
                "auc/aucpr only with binary:* or rank:* objectives",
                f"objective is {objective!r}",
            )
        if base in ("aft-nloglik", "interval-regression-accuracy") and objective != (
            "survival:aft"
        ):
            raise _refuse(
                param,
                metric,
                f"{base} only with objective survival:aft",
                f"objective is {objective!r}",
            )
        if base == "cox-nloglik" and objective != "survival:cox":
            raise _refuse(
                param,
                metric,
                "cox-nloglik only with objective survival:cox",
                f"objective is {objective!r}",
            )


def _rule_constraints(values: dict[str, Any]) -> None:
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist", "gpu_hist"):
        raise _refuse(
            "monotone_constraints",
            values["monotone_constraints"],
            "only with tree_method exact, hist or gpu_hist",
            f"tree_method is {tree_method!r}" if tree_method else "tree_method is not set",
        )
    if "interaction_constraints" in values and tree_method not in (
        "exact",
        "hist",
        "approx",
        "gpu_hist",
    ):
        raise _refuse(
            "interaction_constraints",
            values["interaction_constraints"],
            "only with tree_method exact, hist, approx or gpu_hist",
            f"tree_method is {tree_method!r}" if tree_method else "tree_method is not set",
        )


def _rule_updater(values: dict[str, Any]) -> None:
    updater = values.get("updater")
    if not updater:
        return
    if values.get("booster") == "gblinear":
        if not (len(updater) == 1 and updater[0] in _LINEAR_PLUGINS):
            raise _refuse(
                "updater",
                ",".join(updater),
                "exactly one of shotgun, coord_descent",
                "booster is gblinear",
            )
        return
    if values.get("process_type") == "update":
        if any(u not in _UPDATE_PLUGINS for u in updater):
            raise _refuse(
                "updater",
                ",".join(updater),
                "refresh and/or prune",
                "process_type is update",
            )
        return
    if any(u not in _TREE_PLUGINS for u in updater):
        raise _refuse(
            "updater",
            ",".join(updater),
            "tree plugins " + ", ".join(_TREE_PLUGINS),
            "tree booster",
        )
    if sum(u in _TREE_GROW_PLUGINS for u in updater) > 1:
        raise _refuse(
            "updater", ",".join(updater), "at most one grow plugin", "several grow plugins given"
        )


def _rule_unsupported(values: dict[str, Any]) -> None:
    if values.get("use_dask_gpu_training"):
        raise _refuse(
            "use_dask_gpu_training", True, "false", "Dask multi-GPU training is not supported"
        )
    if "_num_cv_round" in values and "_kfold" not in values:
        raise _refuse("_num_cv_round", values["_num_cv_round"], "only with _kfold", "no _kfold")


RULES = (_rule_num_class, _rule_eval_metric, _rule_constraints, _rule_updater, _rule_unsupported)


# --- channels, metrics, spec -------------------------------------------------------------------

_CONTENT_TYPES = (
    ContentType.LIBSVM,
    ContentType.CSV,
    ContentType.PARQUET,
    ContentType.RECORDIO_PROTOBUF,
)
_PIPE_TYPES = (ContentType.CSV, ContentType.PARQUET, ContentType.RECORDIO_PROTOBUF)

CHANNELS: tuple[Channel, ...] = (
    Channel(
        name="train",
        required=True,
        content_types=_CONTENT_TYPES,
        input_modes=("File", "Pipe"),
        pipe_content_types=_PIPE_TYPES,
        description="Training data (label first; libsvm by default).",
    ),
    Channel(
        name="validation",
        required=False,
        content_types=_CONTENT_TYPES,
        input_modes=("File", "Pipe"),
        pipe_content_types=_PIPE_TYPES,
        description="Validation data (same content type as train); drives early stopping.",
    ),
)


def _direction(name: str) -> Literal["Minimize", "Maximize"]:
    return "Maximize" if name in MAXIMIZE_METRICS else "Minimize"


def _metrics() -> tuple[MetricDefinition, ...]:
    validation = [
        MetricDefinition(
            name=f"validation:{name}",
            regex=rf".*\[[0-9]+\].*#011validation-{name}:(\S+)",
            direction=_direction(name),
            tunable=True,
        )
        for name in METRIC_NAMES
    ]
    train = [
        MetricDefinition(
            name=f"train:{name}",
            # Not S+ as in the validation regexes: after format_log_line the tab before the
            # validation value is "#011", which S+ would swallow; a number never holds "#".
            regex=rf".*\[[0-9]+\]#011train-{name}:([^#\s]+)",
            direction=_direction(name),
            tunable=False,
        )
        for name in METRIC_NAMES
    ]
    return tuple(validation + train)


METRICS = _metrics()

SPEC = AlgorithmSpec(
    name="xgboost",
    title="XGBoost",
    description=(
        "Gradient-boosted trees (SageMaker's XGBoost algorithm mode): regression, binary and "
        "multiclass classification, ranking and survival objectives on CSV, LibSVM, Parquet "
        "or RecordIO-protobuf data."
    ),
    hyperparameters=HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    train="openmaker.algorithms.xgboost.train:train",
    model="openmaker.algorithms.xgboost.model:XGBoostModel",
    rules=RULES,
    request_content_types=(
        ContentType.CSV,
        ContentType.LIBSVM,
        ContentType.RECORDIO_PROTOBUF,
        ContentType.JSON,
        ContentType.JSONLINES,
        ContentType.NPY,
    ),
    response_content_types=(
        ContentType.CSV,
        ContentType.JSON,
        ContentType.JSONLINES,
        ContentType.RECORDIO_PROTOBUF,
    ),
    problem_types=("regression", "binary", "multiclass"),
    example_hyperparameters={
        "regression": {
            "num_round": "5",
            "objective": "reg:squarederror",
            "max_depth": "3",
            "seed": "1",
        },
        "binary": {
            "num_round": "5",
            "objective": "binary:logistic",
            "max_depth": "3",
            "seed": "1",
        },
        "multiclass": {
            "num_round": "5",
            "objective": "multi:softprob",
            "num_class": "3",
            "max_depth": "3",
            "seed": "1",
        },
    },
    model_files=("xgboost-model",),
    supports_distributed=True,
    image_repository="sagemaker-xgboost",
    preload="openmaker.algorithms.xgboost._runtime:import_xgboost",
)
