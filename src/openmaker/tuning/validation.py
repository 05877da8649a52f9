"""Checking a ``CreateHyperParameterTuningJob`` request before anything starts.

Everything that can be known without running a trial is checked here, against SageMaker's
limits and against the algorithm's declarations, as SageMaker checks a built-in algorithm's
tuning job: ranges on hyperparameters the algorithm does not have, or outside their allowed
domain; static hyperparameters it does not have, or with values it refuses; required ones
neither static nor searched; logarithmic scaling over 0 or negative values; an objective
metric the algorithm never emits or does not allow tuning on; more parallel jobs than jobs.
Each refusal is a :class:`~openmaker.errors.ValidationError` saying what is wrong.

What depends on the combination a trial draws is the trial's business, as on SageMaker: when
the algorithm's cross-parameter rules refuse a trial's values (XGBoost's
``monotone_constraints`` with ``tree_method`` ``approx``, K-NN's ``k`` above ``sample_size``),
that training job ends ``Failed`` with ``ClientError: ...`` and the search goes on. Only a
request none of whose probed combinations would pass is refused here (every trial would fail).

Choices where SageMaker leaves room (documented here, tested in ``tests/tuning``):

* Any declared hyperparameter may be searched (not only those the spec marks ``tunable``,
  which are SageMaker's recommendations); hidden ``_``-prefixed ones may not.
* ``Grid`` takes categorical ranges only, as SageMaker; ``MaxNumberOfTrainingJobs`` is then the
  number of combinations (if given it must equal it).
* The objective's ``Type`` must match the direction the algorithm declares for the metric.
* Only ``TrainingJobDefinition`` (one definition) is supported, not ``TrainingJobDefinitions``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openmaker.errors import OpenmakerError, ValidationError
from openmaker.spec.algorithm import AlgorithmSpec
from openmaker.spec.hyperparameters import Continuous, Hyperparameter, Integer, validate
from openmaker.tuning.config import (
    EARLY_STOPPING_TYPES,
    MAX_HYPERBAND_RESOURCE,
    OBJECTIVE_TYPES,
    RESOURCE_HYPERPARAMETERS,
    STRATEGIES,
    TuningSettings,
)
from openmaker.tuning.ranges import ParameterRange, parse_ranges

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
MIN_RUNTIME, MAX_RUNTIME = 120, 15_768_000
WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")
MAX_PARENTS = 5


@dataclass(frozen=True)
class ValidatedRequest:
    """A checked request with SageMaker's defaults filled in.

    Attributes:
        name: the tuning job's name.
        config: ``HyperParameterTuningJobConfig`` (defaults filled).
        definition: ``TrainingJobDefinition`` (defaults filled; ``StaticHyperParameters`` hold
            ``_tuning_objective_metric``).
        warm_start: ``WarmStartConfig`` or ``None``.
        tags: the tags.
        settings: the typed view of ``config``.
        spec: the algorithm.
    """

    name: str
    config: dict[str, Any]
    definition: dict[str, Any]
    warm_start: dict[str, Any] | None
    tags: list[dict[str, str]]
    settings: TuningSettings
    spec: AlgorithmSpec


def validate_name(name: Any) -> str:
    """Check ``HyperParameterTuningJobName`` (1-32 characters, SageMaker's pattern)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationError(
            f"1 validation error detected: Value {name!r} at 'hyperParameterTuningJobName' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31} (1-32 characters)"
        )
    return name


def validate_request(request: Mapping[str, Any]) -> ValidatedRequest:
    """Check a ``CreateHyperParameterTuningJob`` request (without looking at parents' records).

    Raises:
        ValidationError: what is wrong, naming the field.
    """
    from openmaker.algorithms import registry

    req = copy.deepcopy(dict(request))
    name = validate_name(req.get("HyperParameterTuningJobName"))
    if req.get("TrainingJobDefinitions"):
        raise ValidationError(
            "TrainingJobDefinitions (several definitions) is not supported; "
            "give one TrainingJobDefinition"
        )
    definition = req.get("TrainingJobDefinition")
    if not isinstance(definition, Mapping):
        raise ValidationError("TrainingJobDefinition is required")
    definition = dict(definition)
    config = req.get("HyperParameterTuningJobConfig")
    if not isinstance(config, Mapping):
        raise ValidationError("HyperParameterTuningJobConfig is required")
    config = dict(config)

    algo = dict(definition.get("AlgorithmSpecification") or {})
    image = algo.get("TrainingImage") or algo.get("AlgorithmName")
    if not image:
        raise ValidationError(
            "TrainingJobDefinition.AlgorithmSpecification must name a TrainingImage or an "
            "AlgorithmName"
        )
    spec = registry.resolve_image(str(image))
    algo.setdefault("TrainingInputMode", "File")
    definition["AlgorithmSpecification"] = algo

    strategy = config.get("Strategy")
    if strategy not in STRATEGIES:
        raise ValidationError(
            f"HyperParameterTuningJobConfig.Strategy must be one of {', '.join(STRATEGIES)}; "
            f"got {strategy!r}"
        )
    objective = _check_objective(config, spec, algo)
    ranges = parse_ranges(config.get("ParameterRanges") or {})
    if not ranges:
        raise ValidationError("ParameterRanges must give at least one range to search")
    static = {str(k): _wire(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()}
    _check_ranges_against_spec(ranges, spec, static)
    if strategy == "Grid":
        _check_grid(ranges, config)
    _check_limits(config)
    _check_early_stopping(config, strategy)
    _check_hyperband(config, strategy, static)
    _check_completion_criteria(config)
    seed = config.get("RandomSeed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValidationError(f"RandomSeed must be an integer >= 0; got {seed!r}")

    static[OBJECTIVE_HYPERPARAMETER] = objective
    definition["StaticHyperParameters"] = static
    _check_trial_hyperparameters(spec, static, ranges)
    _check_channels(spec, definition)
    _fill_definition_defaults(definition)

    warm_start = req.get("WarmStartConfig")
    if warm_start is not None:
        warm_start = _check_warm_start_shape(warm_start)
    tags = list(req.get("Tags") or [])
    return ValidatedRequest(
        name=name,
        config=config,
        definition=definition,
        warm_start=warm_start,
        tags=tags,
        settings=TuningSettings.from_config(config),
        spec=spec,
    )


# --- the objective --------------------------------------------------------------------------
def _check_objective(config: dict[str, Any], spec: AlgorithmSpec, algo: Mapping[str, Any]) -> str:
    objective = config.get("HyperParameterTuningJobObjective")
    if not isinstance(objective, Mapping):
        raise ValidationError(
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required "
            "({Type: Maximize|Minimize, MetricName: ...})"
        )
    kind = objective.get("Type")
    metric = objective.get("MetricName")
    if kind not in OBJECTIVE_TYPES:
        raise ValidationError(f"Objective Type must be Maximize or Minimize; got {kind!r}")
    if not isinstance(metric, str) or not metric:
        raise ValidationError("Objective MetricName is required")
    custom = {m.get("Name") for m in algo.get("MetricDefinitions") or [] if isinstance(m, Mapping)}
    declared = spec.metric(metric)
    if declared is None and metric not in custom:
        tunable = ", ".join(m.name for m in spec.tunable_metrics()) or "none"
        raise ValidationError(
            f"Objective metric {metric!r} is never emitted by algorithm {spec.name!r}; "
            f"its tunable metrics: {tunable}"
        )
    if declared is not None and metric not in custom:
        if not declared.tunable:
            tunable = ", ".join(m.name for m in spec.tunable_metrics()) or "none"
            raise ValidationError(
                f"Objective metric {metric!r} of algorithm {spec.name!r} is not tunable; "
                f"tunable metrics: {tunable}"
            )
        if declared.direction != kind:
            raise ValidationError(
                f"Objective metric {metric!r} must be {declared.direction}d, not {kind}d "
                f"(set Type to {declared.direction})"
            )
    config["HyperParameterTuningJobObjective"] = {"Type": kind, "MetricName": metric}
    return metric


# --- ranges ---------------------------------------------------------------------------------
def _internal(hp: Any) -> bool:
    """A key the SDK or the container sends for itself (``_kvstore``, ``force_dense``...): never
    a hyperparameter to tune."""
    return bool(getattr(hp, "internal", False)) or hp.name.startswith("_")


def _check_ranges_against_spec(
    ranges: list[ParameterRange], spec: AlgorithmSpec, static: Mapping[str, str]
) -> None:
    for rng in ranges:
        try:
            hp = spec.hyperparameter(rng.name)
        except KeyError:
            known = ", ".join(h.name for h in spec.hyperparameters if not _internal(h))
            raise ValidationError(
                f"ParameterRanges: algorithm {spec.name!r} has no hyperparameter {rng.name!r}; "
                f"it has: {known}"
            ) from None
        if _internal(hp):
            raise ValidationError(f"ParameterRanges: {rng.name!r} is internal and cannot be tuned")
        if rng.name in static or hp.name in static:
            raise ValidationError(
                f"Hyperparameter {rng.name!r} is both static and searched; give it in one place"
            )
        _check_kind(rng, hp)
        if rng.kind == "Categorical":
            probes = list(rng.values)
        else:
            probes = [_number_text(rng, rng.min_value), _number_text(rng, rng.max_value)]
        for probe in probes:
            try:
                hp.convert(probe)
            except OpenmakerError:
                raise ValidationError(
                    f"ParameterRanges: {_describe_range(rng)} for {rng.name!r} is outside what "
                    f"algorithm {spec.name!r} allows ({hp.domain()}); {probe!r} is not valid"
                ) from None


def _check_kind(rng: ParameterRange, hp: Hyperparameter) -> None:
    if rng.kind == "Integer" and not isinstance(hp, Integer | Continuous):
        raise ValidationError(
            f"ParameterRanges: {rng.name!r} is {hp.type_name} ({hp.domain()}); "
            "an integer range does not fit it (use a categorical range)"
        )
    if rng.kind == "Continuous" and not isinstance(hp, Continuous):
        raise ValidationError(
            f"ParameterRanges: {rng.name!r} is {hp.type_name} ({hp.domain()}); "
            "a continuous range does not fit it"
        )


def _number_text(rng: ParameterRange, value: float) -> str:
    return str(int(value)) if rng.kind == "Integer" else format(value, ".12g")


def _describe_range(rng: ParameterRange) -> str:
    if rng.kind == "Categorical":
        return f"values {list(rng.values)}"
    lo, hi = _number_text(rng, rng.min_value), _number_text(rng, rng.max_value)
    return f"range [{lo}, {hi}]"


def _check_grid(ranges: list[ParameterRange], config: dict[str, Any]) -> None:
    numeric = [r.name for r in ranges if r.kind != "Categorical"]
    if numeric:
        raise ValidationError(
            "Grid search takes categorical ranges only (as SageMaker); list the values of "
            f"{', '.join(numeric)} as a categorical range instead"
        )
    combos = 1
    for rng in ranges:
        combos *= len(rng.values)
    limits = dict(config.get("ResourceLimits") or {})
    given = limits.get("MaxNumberOfTrainingJobs")
    if given is not None and int(given) != combos:
        raise ValidationError(
            f"Grid search runs every combination ({combos}); leave MaxNumberOfTrainingJobs out "
            f"or set it to {combos}, not {given}"
        )
    limits["MaxNumberOfTrainingJobs"] = combos
    config["ResourceLimits"] = limits


# --- limits and options ---------------------------------------------------------------------
def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{field} must be an integer >= 1; got {value!r}")
    return value


def _check_limits(config: dict[str, Any]) -> None:
    limits = config.get("ResourceLimits")
    if not isinstance(limits, Mapping):
        raise ValidationError(
            "HyperParameterTuningJobConfig.ResourceLimits is required "
            "({MaxNumberOfTrainingJobs, MaxParallelTrainingJobs})"
        )
    limits = dict(limits)
    if limits.get("MaxParallelTrainingJobs") is None:
        raise ValidationError("ResourceLimits.MaxParallelTrainingJobs is required")
    if limits.get("MaxNumberOfTrainingJobs") is None:
        raise ValidationError("ResourceLimits.MaxNumberOfTrainingJobs is required")
    jobs = _positive_int(limits["MaxNumberOfTrainingJobs"], "MaxNumberOfTrainingJobs")
    parallel = _positive_int(limits["MaxParallelTrainingJobs"], "MaxParallelTrainingJobs")
    if parallel > jobs:
        raise ValidationError(
            f"MaxParallelTrainingJobs ({parallel}) cannot exceed MaxNumberOfTrainingJobs ({jobs})"
        )
    runtime = limits.get("MaxRuntimeInSeconds")
    if runtime is not None:
        runtime = _positive_int(runtime, "MaxRuntimeInSeconds")
        if not MIN_RUNTIME <= runtime <= MAX_RUNTIME:
            raise ValidationError(
                f"MaxRuntimeInSeconds must be between {MIN_RUNTIME} and {MAX_RUNTIME}; "
                f"got {runtime}"
            )
    config["ResourceLimits"] = limits


def _check_early_stopping(config: dict[str, Any], strategy: str) -> None:
    kind = config.setdefault("TrainingJobEarlyStoppingType", "Off")
    if kind not in EARLY_STOPPING_TYPES:
        raise ValidationError(f"TrainingJobEarlyStoppingType must be Off or Auto; got {kind!r}")
    if strategy == "Hyperband" and kind != "Off":
        raise ValidationError(
            "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy "
            "(Hyperband stops trials itself)"
        )


def _check_hyperband(config: dict[str, Any], strategy: str, static: Mapping[str, str]) -> None:
    strategy_config = config.get("StrategyConfig")
    hyperband = (strategy_config or {}).get("HyperbandStrategyConfig")
    if strategy != "Hyperband":
        if hyperband:
            raise ValidationError("StrategyConfig.HyperbandStrategyConfig needs Strategy Hyperband")
        return
    hyperband = dict(hyperband or {})
    low = _positive_int(hyperband.get("MinResource", 1), "HyperbandStrategyConfig.MinResource")
    high = hyperband.get("MaxResource")
    if high is None:
        found = next((k for k in RESOURCE_HYPERPARAMETERS if k in static), None)
        if found is None:
            raise ValidationError(
                "Hyperband needs HyperbandStrategyConfig.MaxResource, or a static "
                f"hyperparameter to infer it from ({', '.join(RESOURCE_HYPERPARAMETERS)})"
            )
        try:
            high = int(float(static[found]))
        except ValueError:
            raise ValidationError(
                f"Hyperband: cannot read MaxResource from {found}={static[found]!r}"
            ) from None
    high = _positive_int(high, "HyperbandStrategyConfig.MaxResource")
    if high > MAX_HYPERBAND_RESOURCE:
        raise ValidationError(f"Hyperband MaxResource is at most {MAX_HYPERBAND_RESOURCE}")
    if low > high:
        raise ValidationError(f"Hyperband MinResource ({low}) exceeds MaxResource ({high})")
    hyperband.update(MinResource=low, MaxResource=high)
    config["StrategyConfig"] = {"HyperbandStrategyConfig": hyperband}


def _check_completion_criteria(config: dict[str, Any]) -> None:
    criteria = config.get("TuningJobCompletionCriteria")
    if criteria is None:
        return
    if not isinstance(criteria, Mapping):
        raise ValidationError("TuningJobCompletionCriteria must be an object")
    target = criteria.get("TargetObjectiveMetricValue")
    if target is not None:
        try:
            float(target)
        except (TypeError, ValueError):
            raise ValidationError(
                f"TargetObjectiveMetricValue must be a number; got {target!r}"
            ) from None
    not_improving = criteria.get("BestObjectiveNotImproving")
    if not_improving is not None:
        count = (not_improving or {}).get("MaxNumberOfTrainingJobsNotImproving")
        if isinstance(count, bool) or not isinstance(count, int) or count < 3:
            raise ValidationError(
                "BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving must be an "
                f"integer >= 3; got {count!r}"
            )


# --- the training job definition ------------------------------------------------------------
def _check_trial_hyperparameters(
    spec: AlgorithmSpec, static: Mapping[str, str], ranges: list[ParameterRange]
) -> None:
    """Check the static values with the ranges' ends, as SageMaker checks a built-in
    algorithm's tuning job: names, required ones, and each value on its own.

    A combination the algorithm's cross-parameter rules refuse is not the tuning job's fault:
    its trial fails (``ClientError``) and the others go on. Only when every probed combination
    (all ranges at their low ends, at their high ends, and each value of each categorical
    range) breaks a rule would every trial fail, and then the request is refused.
    """
    low = {
        r.name: (r.values[0] if r.kind == "Categorical" else _number_text(r, r.min_value))
        for r in ranges
    }
    high = {
        r.name: (r.values[-1] if r.kind == "Categorical" else _number_text(r, r.max_value))
        for r in ranges
    }
    for corner in (low, high):
        try:
            validate(spec.hyperparameters, {**static, **corner}, rules=())
        except OpenmakerError as exc:
            raise ValidationError(
                f"The training jobs of this tuning job would be refused: {exc.message}"
            ) from None
    probes = [low, high] + [
        {**low, r.name: value} for r in ranges if r.kind == "Categorical" for value in r.values
    ]
    first: OpenmakerError | None = None
    for probe in probes:
        try:
            spec.validate_hyperparameters({**static, **probe})
            return
        except OpenmakerError as exc:
            first = first or exc
    assert first is not None
    raise ValidationError(
        f"Every training job of this tuning job would fail: {first.message}"
    ) from None


def _check_channels(spec: AlgorithmSpec, definition: dict[str, Any]) -> None:
    channels = definition.get("InputDataConfig") or []
    if not isinstance(channels, list):
        raise ValidationError("TrainingJobDefinition.InputDataConfig must be a list of channels")
    mode = definition["AlgorithmSpecification"]["TrainingInputMode"]
    declared: dict[str, tuple[str | None, str]] = {}
    for ch in channels:
        cname = ch.get("ChannelName") if isinstance(ch, Mapping) else None
        if not cname:
            raise ValidationError("Every channel needs a ChannelName")
        uri = ((ch.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        if not uri:
            raise ValidationError(f"Channel {cname!r} needs DataSource.S3DataSource.S3Uri")
        ch_mode = ch.get("InputMode") or mode
        declared[cname] = (ch.get("ContentType"), "File" if ch_mode == "FastFile" else ch_mode)
    spec.validate_channels(declared)


def _fill_definition_defaults(definition: dict[str, Any]) -> None:
    if "HyperParameterTuningResourceConfig" in definition and "ResourceConfig" not in definition:
        resource = dict(definition["HyperParameterTuningResourceConfig"] or {})
        resource.pop("AllocationStrategy", None)
        resource.pop("InstanceConfigs", None)
        definition["ResourceConfig"] = resource
    definition.setdefault(
        "ResourceConfig", {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
    )
    definition.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
    definition.setdefault("OutputDataConfig", {})


def _check_warm_start_shape(warm_start: Any) -> dict[str, Any]:
    if not isinstance(warm_start, Mapping):
        raise ValidationError("WarmStartConfig must be an object")
    kind = warm_start.get("WarmStartType")
    if kind not in WARM_START_TYPES:
        raise ValidationError(
            f"WarmStartConfig.WarmStartType must be one of {', '.join(WARM_START_TYPES)}; "
            f"got {kind!r}"
        )
    parents = warm_start.get("ParentHyperParameterTuningJobs")
    if not isinstance(parents, list) or not 1 <= len(parents) <= MAX_PARENTS:
        raise ValidationError(
            f"WarmStartConfig.ParentHyperParameterTuningJobs must list 1 to {MAX_PARENTS} jobs"
        )
    names = []
    for parent in parents:
        pname = parent.get("HyperParameterTuningJobName") if isinstance(parent, Mapping) else None
        names.append(validate_name(pname))
    return {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": n} for n in names],
        "WarmStartType": kind,
    }


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
