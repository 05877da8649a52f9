"""``openmaker.HyperparameterTuner``: tune an estimator the way the SageMaker SDK does.

Example:
    >>> from openmaker import Estimator, HyperparameterTuner
    >>> from openmaker.tuning.api import ContinuousParameter, IntegerParameter
    >>> est = Estimator("xgboost", {"num_round": 50, "objective": "binary:logistic"})
    >>> tuner = HyperparameterTuner(est, "validation:auc", {
    ...     "eta": ContinuousParameter(0.01, 0.5, "Logarithmic"),
    ...     "max_depth": IntegerParameter(3, 8)}, max_jobs=20, max_parallel_jobs=2)
    >>> tuner.fit({"train": "train.csv", "validation": "val.csv"}, content_type="text/csv")
    >>> tuner.best_training_job(), tuner.analytics()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openmaker.errors import ValidationError
from openmaker.estimator import Estimator, TrainingInput
from openmaker.jobs.names import unique_name

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from openmaker.tuning.service import TuningJobService


@dataclass(frozen=True)
class IntegerParameter:
    """An integer range (the SDK's ``IntegerParameter``)."""

    min_value: int
    max_value: int
    scaling_type: str = "Auto"

    def as_range(self, name: str) -> dict[str, Any]:
        """The ``IntegerParameterRanges`` item."""
        return {
            "Name": name,
            "MinValue": str(int(self.min_value)),
            "MaxValue": str(int(self.max_value)),
            "ScalingType": self.scaling_type,
        }


@dataclass(frozen=True)
class ContinuousParameter:
    """A continuous range (the SDK's ``ContinuousParameter``)."""

    min_value: float
    max_value: float
    scaling_type: str = "Auto"

    def as_range(self, name: str) -> dict[str, Any]:
        """The ``ContinuousParameterRanges`` item."""
        return {
            "Name": name,
            "MinValue": str(self.min_value),
            "MaxValue": str(self.max_value),
            "ScalingType": self.scaling_type,
        }


@dataclass(frozen=True)
class CategoricalParameter:
    """A set of values (the SDK's ``CategoricalParameter``)."""

    values: Sequence[Any]

    def as_range(self, name: str) -> dict[str, Any]:
        """The ``CategoricalParameterRanges`` item."""
        values = self.values if isinstance(self.values, list | tuple) else [self.values]
        return {"Name": name, "Values": [_text(v) for v in values]}


@dataclass(frozen=True)
class WarmStartConfig:
    """Warm start from parent tuning jobs (the SDK's ``WarmStartConfig``).

    Attributes:
        warm_start_type: ``IdenticalDataAndAlgorithm`` or ``TransferLearning``.
        parents: parent tuning job names.
    """

    warm_start_type: str
    parents: Sequence[str]

    def to_request(self) -> dict[str, Any]:
        """The ``WarmStartConfig`` dict."""
        return {
            "WarmStartType": self.warm_start_type,
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p} for p in self.parents
            ],
        }


Range = IntegerParameter | ContinuousParameter | CategoricalParameter
_RANGE_KEYS = {
    IntegerParameter: "IntegerParameterRanges",
    ContinuousParameter: "ContinuousParameterRanges",
    CategoricalParameter: "CategoricalParameterRanges",
}


class HyperparameterTuner:
    """Runs a hyperparameter tuning job over an :class:`~openmaker.Estimator`.

    Args:
        estimator: the estimator whose hyperparameters are the static ones.
        objective_metric_name: the metric to optimise (``validation:auc``).
        hyperparameter_ranges: name -> :class:`IntegerParameter`, :class:`ContinuousParameter`
            or :class:`CategoricalParameter`.
        objective_type: ``Maximize`` or ``Minimize`` (default: the direction the algorithm
            declares for the metric).
        max_jobs: ``MaxNumberOfTrainingJobs`` (Grid: the number of combinations by default).
        max_parallel_jobs: ``MaxParallelTrainingJobs``.
        strategy: ``Bayesian``, ``Random``, ``Grid`` or ``Hyperband``.
        early_stopping_type: ``Off`` or ``Auto``.
        max_runtime_in_seconds: ``MaxRuntimeInSeconds`` of the tuning job.
        base_tuning_job_name: prefix of the generated name.
        random_seed: ``RandomSeed``.
        target_objective_metric_value: complete once a job reaches this value.
        max_number_of_training_jobs_not_improving: complete after this many jobs without a
            better objective (at least 3).
        hyperband_min_resource: Hyperband's ``MinResource``.
        hyperband_max_resource: Hyperband's ``MaxResource`` (default: inferred from the static
            ``num_round`` / ``epochs``).
        warm_start_config: parents to start from.
        tags: ``[{"Key":..., "Value":...}]``.
    """

    def __init__(
        self,
        estimator: Estimator,
        objective_metric_name: str,
        hyperparameter_ranges: Mapping[str, Range],
        *,
        objective_type: str | None = None,
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        strategy: str = "Bayesian",
        early_stopping_type: str = "Off",
        max_runtime_in_seconds: int | None = None,
        base_tuning_job_name: str | None = None,
        random_seed: int | None = None,
        target_objective_metric_value: float | None = None,
        max_number_of_training_jobs_not_improving: int | None = None,
        hyperband_min_resource: int | None = None,
        hyperband_max_resource: int | None = None,
        warm_start_config: WarmStartConfig | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        if not hyperparameter_ranges:
            raise ValidationError("hyperparameter_ranges must name at least one range")
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = dict(hyperparameter_ranges)
        if objective_type is None:
            declared = estimator.spec.metric(objective_metric_name)
            objective_type = declared.direction if declared is not None else "Maximize"
        self.objective_type = objective_type
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.strategy = strategy
        self.early_stopping_type = early_stopping_type
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_tuning_job_name = base_tuning_job_name or estimator.algorithm
        self.random_seed = random_seed
        self.target_objective_metric_value = target_objective_metric_value
        self.max_number_of_training_jobs_not_improving = max_number_of_training_jobs_not_improving
        self.hyperband_min_resource = hyperband_min_resource
        self.hyperband_max_resource = hyperband_max_resource
        self.warm_start_config = warm_start_config
        self.tags = list(tags or [])
        self.latest_tuning_job: str | None = None
        self._service: TuningJobService | None = None

    @property
    def service(self) -> TuningJobService:
        """The tuning-job service (opened on first use)."""
        if self._service is None:
            from openmaker.tuning.service import TuningJobService

            self._service = TuningJobService()
        return self._service

    # --- the request ---------------------------------------------------------------------
    def create_request(
        self,
        inputs: str | TrainingInput | Mapping[str, str | TrainingInput],
        *,
        content_type: str | None = None,
        input_mode: str = "File",
        job_name: str | None = None,
    ) -> dict[str, Any]:
        """The ``CreateHyperParameterTuningJob`` request :meth:`fit` sends."""
        name = job_name or unique_name(self.base_tuning_job_name, max_length=32)
        training = self.estimator.create_request(
            inputs, content_type=content_type, input_mode=input_mode, job_name="unused"
        )
        ranges: dict[str, list[dict[str, Any]]] = {key: [] for key in _RANGE_KEYS.values()}
        for pname, rng in self.hyperparameter_ranges.items():
            if type(rng) not in _RANGE_KEYS:
                raise ValidationError(
                    f"Range of {pname!r} must be an IntegerParameter, ContinuousParameter or "
                    f"CategoricalParameter; got {type(rng).__name__}"
                )
            ranges[_RANGE_KEYS[type(rng)]].append(rng.as_range(pname))
        static = {
            k: _text(v)
            for k, v in training["HyperParameters"].items()
            if k not in self.hyperparameter_ranges
        }
        limits: dict[str, Any] = {"MaxParallelTrainingJobs": self.max_parallel_jobs}
        if self.max_jobs is not None or self.strategy != "Grid":
            limits["MaxNumberOfTrainingJobs"] = self.max_jobs if self.max_jobs is not None else 1
        if self.max_runtime_in_seconds is not None:
            limits["MaxRuntimeInSeconds"] = self.max_runtime_in_seconds
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "HyperParameterTuningJobObjective": {
                "Type": self.objective_type,
                "MetricName": self.objective_metric_name,
            },
            "ResourceLimits": limits,
            "ParameterRanges": ranges,
            "TrainingJobEarlyStoppingType": self.early_stopping_type,
        }
        if self.random_seed is not None:
            config["RandomSeed"] = self.random_seed
        criteria: dict[str, Any] = {}
        if self.target_objective_metric_value is not None:
            criteria["TargetObjectiveMetricValue"] = self.target_objective_metric_value
        if self.max_number_of_training_jobs_not_improving is not None:
            patience = self.max_number_of_training_jobs_not_improving
            criteria["BestObjectiveNotImproving"] = {
                "MaxNumberOfTrainingJobsNotImproving": patience
            }
        if criteria:
            config["TuningJobCompletionCriteria"] = criteria
        if self.strategy == "Hyperband":
            hyperband: dict[str, Any] = {}
            if self.hyperband_min_resource is not None:
                hyperband["MinResource"] = self.hyperband_min_resource
            if self.hyperband_max_resource is not None:
                hyperband["MaxResource"] = self.hyperband_max_resource
            config["StrategyConfig"] = {"HyperbandStrategyConfig": hyperband}
        definition: dict[str, Any] = {
            "AlgorithmSpecification": training["AlgorithmSpecification"],
            "StaticHyperParameters": static,
            "InputDataConfig": training["InputDataConfig"],
            "OutputDataConfig": training["OutputDataConfig"],
            "ResourceConfig": training["ResourceConfig"],
            "StoppingCondition": training["StoppingCondition"],
            "Environment": training.get("Environment") or {},
        }
        for key in ("CheckpointConfig", "RoleArn"):
            if training.get(key):
                definition[key] = training[key]
        request: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "Tags": self.tags,
        }
        if self.warm_start_config is not None:
            request["WarmStartConfig"] = self.warm_start_config.to_request()
        return request

    # --- running -------------------------------------------------------------------------
    def fit(
        self,
        inputs: str | TrainingInput | Mapping[str, str | TrainingInput],
        *,
        content_type: str | None = None,
        input_mode: str = "File",
        job_name: str | None = None,
        wait: bool = True,
    ) -> HyperparameterTuner:
        """Start the tuning job; with ``wait`` (default) block until it ends.

        Raises:
            openmaker.errors.ValidationError: a bad range, objective or limit (nothing started).
        """
        request = self.create_request(
            inputs, content_type=content_type, input_mode=input_mode, job_name=job_name
        )
        record = self.service.create(request)
        self.latest_tuning_job = record.name
        if wait:
            self.wait()
        return self

    @classmethod
    def attach(cls, name: str, estimator: Estimator | None = None) -> HyperparameterTuner:
        """A tuner for an existing tuning job (``describe``, ``analytics``... work)."""
        from openmaker.tuning.service import TuningJobService

        service = TuningJobService()
        rec = service.get(name)
        settings = service.settings_of(name)
        if estimator is None:
            algo = rec.training_job_definition["AlgorithmSpecification"]
            image = algo.get("TrainingImage") or algo.get("AlgorithmName")
            static = dict(rec.training_job_definition.get("StaticHyperParameters") or {})
            static.pop("_tuning_objective_metric", None)
            estimator = Estimator(image, static)
        ranges: dict[str, Range] = {}
        for r in settings.ranges:
            if r.kind == "Categorical":
                ranges[r.name] = CategoricalParameter(list(r.values))
            elif r.kind == "Integer":
                ranges[r.name] = IntegerParameter(int(r.min_value), int(r.max_value), r.scaling)
            else:
                ranges[r.name] = ContinuousParameter(r.min_value, r.max_value, r.scaling)
        tuner = cls(
            estimator,
            settings.objective_name,
            ranges,
            objective_type=settings.objective_type,
            max_jobs=settings.max_jobs,
            max_parallel_jobs=settings.max_parallel,
            strategy=settings.strategy,
            early_stopping_type=settings.early_stopping,
        )
        tuner._service = service
        tuner.latest_tuning_job = name
        return tuner

    def _name(self) -> str:
        if self.latest_tuning_job is None:
            raise ValidationError("No tuning job yet: call fit() first")
        return self.latest_tuning_job

    def wait(self, timeout: float | None = None) -> None:
        """Block until the tuning job has ended."""
        self.service.wait(self._name(), timeout=timeout)

    def stop(self) -> None:
        """Stop the tuning job and its running training jobs."""
        self.service.stop(self._name())

    def describe(self) -> dict[str, Any]:
        """DescribeHyperParameterTuningJob."""
        return self.service.describe(self._name())

    def best_training_job(self) -> str:
        """The name of the best training job so far.

        Raises:
            ValidationError: no training job has reported the objective yet.
        """
        best = self.describe().get("BestTrainingJob")
        if best is None:
            raise ValidationError(
                f"Tuning job {self._name()!r} has no training job with an objective value yet"
            )
        return str(best["TrainingJobName"])

    def best_estimator(self) -> Estimator:
        """An estimator with the best job's hyperparameters, its model attached."""
        from openmaker.jobs.api import TrainingJob

        name = self.best_training_job()
        job = TrainingJob.attach(name)
        hps = dict(job.record.hyperparameters)
        hps.pop("_tuning_objective_metric", None)
        est = Estimator(self.estimator.algorithm, hps)
        est.latest_training_job = job
        return est

    def analytics(self) -> pd.DataFrame:
        """One row per training job, like the SDK's ``HyperparameterTuningJobAnalytics``:
        the tuned hyperparameters, ``TrainingJobName``, ``TrainingJobStatus``,
        ``FinalObjectiveValue``, ``TrainingStartTime``, ``TrainingEndTime`` and
        ``TrainingElapsedTimeSeconds``."""
        from openmaker.tuning.analytics import dataframe

        return dataframe(self.service, self._name())


def _text(value: Any) -> str:
    """Hyperparameter values travel as strings, as in SageMaker."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
