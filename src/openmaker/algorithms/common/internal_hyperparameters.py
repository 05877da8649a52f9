"""The internal hyperparameters of the first-party algorithms, declared once.

SageMaker's first-party (MXNet-based) containers merge the user's hyperparameters into a
default configuration that holds internal keys: ``_kvstore``, ``_num_gpus``,
``_num_kv_servers``, ``_log_level``, ``_tuning_objective_metric``, ``_enable_profiler`` and,
per algorithm, ``force_dense``, ``_num_slices``, ``_ftp_port``... (``tabular-algorithms.md``
sections 0.1, 1.1, 3.1, 4.1, 6.1). Users and the SageMaker SDK send them (``sagemaker.KMeans``
always sends ``force_dense=True``), and the containers accept them, so each spec declares those
of its container here, with ``internal=True``: they are validated like any hyperparameter
(a misspelt name is still refused), hidden from ``openmaker algorithms describe`` and
DescribeAlgorithm, and typed into the values ``train`` receives.

What they do in openmaker:

* ``_tuning_objective_metric`` (set by automatic model tuning): must name one of the
  algorithm's metrics (or be empty, the containers' default). Linear Learner trains one model
  instead of ``num_models`` under tuning, as SageMaker does; the others only check it.
* every other key tunes SageMaker's MXNet runtime (key-value store, parameter servers, GPUs,
  logging, the profiler, an FTP port, densifying sparse records) and changes nothing here:
  openmaker's first-party algorithms train on the CPU, synchronise every step across hosts,
  and give the same model for sparse and dense records. Their values are still checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from openmaker.spec.hyperparameters import (
    Boolean,
    Categorical,
    Hyperparameter,
    Integer,
    Interval,
    OneOf,
    Text,
)
from openmaker.spec.metrics import MetricDefinition

#: MXNet's key-value store types, and the containers' ``auto``.
KVSTORE_TYPES: tuple[str, ...] = (
    "auto",
    "local",
    "device",
    "nccl",
    "dist_sync",
    "dist_async",
    "dist_sync_device",
    "dist_device_sync",
    "dist_async_device",
    "horovod",
)
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "warn", "error", "critical", "fatal")

_NO_EFFECT = "Internal (SageMaker's MXNet runtime); accepted, no effect in openmaker."


def _auto_or_integer(name: str, low: int, description: str) -> OneOf:
    return OneOf(
        name=name,
        alternatives=(
            Categorical(name=name, choices=("auto",)),
            Integer(name=name, range=Interval(low, None)),
        ),
        description=description,
        internal=True,
    )


def _log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise ValueError(text)
    return text.lower()


def tuning_objective_metric(metrics: Sequence[MetricDefinition]) -> Text:
    """``_tuning_objective_metric``: empty, or the name of one of ``metrics``."""
    names = tuple(m.name for m in metrics)

    def check(text: str) -> str:
        if text and text not in names:
            raise ValueError(text)
        return text

    return Text(
        name="_tuning_objective_metric",
        validator=check,
        domain_text="empty or one of " + ", ".join(names),
        description="Internal, set by automatic model tuning: the objective metric's name.",
        internal=True,
    )


def force_dense() -> Boolean:
    """``force_dense``: the SageMaker SDK's K-Means (and the PCA / RCF containers) set it."""
    return Boolean(
        name="force_dense",
        description=(
            "Internal (the SDK's KMeans always sends True): densify sparse records. Accepted, "
            "no effect: sparse and dense records give the same model in openmaker."
        ),
        internal=True,
    )


def first_party(
    metrics: Sequence[MetricDefinition], *extra: Hyperparameter
) -> tuple[Hyperparameter, ...]:
    """The internal keys every first-party container accepts, then ``extra``.

    Args:
        metrics: the algorithm's metric definitions (``_tuning_objective_metric`` names one).
        extra: the algorithm's own internal keys (each with ``internal=True``).
    """
    common: tuple[Hyperparameter, ...] = (
        tuning_objective_metric(metrics),
        Categorical(
            name="_kvstore",
            choices=KVSTORE_TYPES,
            description=f"{_NO_EFFECT} MXNet key-value store; openmaker hosts always sync.",
            internal=True,
        ),
        _auto_or_integer(
            "_num_gpus", 0, f"{_NO_EFFECT} GPUs to use; these algorithms train on the CPU."
        ),
        _auto_or_integer("_num_kv_servers", 1, f"{_NO_EFFECT} MXNet parameter servers."),
        Text(
            name="_log_level",
            validator=_log_level,
            domain_text="one of " + ", ".join(LOG_LEVELS) + " (any case)",
            description=f"{_NO_EFFECT} The container's log level.",
            internal=True,
        ),
        Boolean(
            name="_enable_profiler",
            description=f"{_NO_EFFECT} MXNet's profiler.",
            internal=True,
        ),
    )
    for hp in extra:
        if not hp.internal:
            raise ValueError(f"{hp.name!r} is not declared internal")
    return common + tuple(extra)
