"""Vocabulary for describing algorithms: hyperparameters, channels, metrics. No heavy imports."""

from openmaker.spec.algorithm import AlgorithmSpec, Model, TrainingContext
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

__all__ = [
    "AlgorithmSpec",
    "Boolean",
    "Categorical",
    "Channel",
    "ContentType",
    "Continuous",
    "Hyperparameter",
    "Integer",
    "Interval",
    "ListOf",
    "MetricDefinition",
    "Model",
    "Text",
    "TrainingContext",
]
