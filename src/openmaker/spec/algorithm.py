"""AlgorithmSpec and the two functions an algorithm provides (train, Model.load/predict).

An algorithm package holds ``spec.py`` (an :class:`AlgorithmSpec` named ``SPEC``, built from
constants only), ``train.py`` (``train(hyperparameters, channels, context)``) and ``model.py``
(a class with ``load(model_dir)`` and ``predict(body, content_type, accept)``). The spec
refers to the other two by ``"module:attribute"`` strings so importing it stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO, runtime_checkable

from openmaker.errors import ChannelError, ValidationError
from openmaker.spec.channels import Channel, parse_content_type
from openmaker.spec.hyperparameters import Hyperparameter, Rule, validate
from openmaker.spec.metrics import MetricDefinition

ProblemType = Literal[
    "regression",
    "binary",
    "multiclass",
    "unsupervised",
    "entity_ip",
    "word_counts",
    "time_series",
    "text",
    "labelled_text",
]


@dataclass(frozen=True)
class ChannelInput:
    """One channel as the algorithm sees it inside a job.

    Attributes:
        name: channel name.
        content_type: canonical content type (parameters such as label_size in ``params``).
        params: content-type parameters (``{"label_size": "0"}``).
        input_mode: ``File`` or ``Pipe``.
        path: File mode: the local folder the data was materialised into.
        uris: Pipe mode: the source files (URIs), streamed without materialising.
        compression: ``None`` or ``Gzip`` (gzip is also detected from the bytes).
        distribution: ``S3DataDistributionType``: ``FullyReplicated`` or ``ShardedByS3Key``
            (in a multi-host job a sharded channel holds only this host's files; see
            :mod:`openmaker.distributed.sharding`).
        dataset: in-memory rows (an :class:`openmaker.data.Dataset`) read instead of files,
            in the same mini-batches: how the scikit-learn adapters hand their arrays to
            ``train()`` without writing them out (never set inside a job).
    """

    name: str
    content_type: str
    params: Mapping[str, str] = field(default_factory=dict)
    input_mode: str = "File"
    path: Path | None = None
    uris: tuple[str, ...] = ()
    compression: str = "None"
    distribution: str = "FullyReplicated"
    dataset: Any = field(default=None, compare=False, repr=False)

    def sources(self) -> list[str]:
        """The files to read, whatever the mode (local paths in File mode, URIs in Pipe mode)."""
        if self.input_mode == "Pipe" or self.path is None:
            return list(self.uris)
        from openmaker.data.sources import list_files  # lazy: keeps spec import light

        return list_files(str(self.path))


@dataclass
class TrainingContext:
    """What a running training job offers the algorithm (the inside of the container).

    Attributes:
        job_name: the training job's name.
        model_dir: write the model here (packed into model.tar.gz afterwards).
        output_dir: ``/opt/ml/output`` (``failure`` file, ``data/`` for extra outputs).
        checkpoint_dir: ``/opt/ml/checkpoints``: resume from here, save here.
        hosts: host names (``algo-1``...).
        current_host: this process's host.
        num_cpus: CPUs granted to the job.
        num_gpus: GPUs granted to the job.
        log: where log lines go (stdout: the platform follows it and parses metrics).
    """

    job_name: str
    model_dir: Path
    output_dir: Path
    checkpoint_dir: Path
    hosts: tuple[str, ...] = ("algo-1",)
    current_host: str = "algo-1"
    num_cpus: int = 1
    num_gpus: int = 0
    log: TextIO = field(default_factory=lambda: sys.stdout)

    def print(self, line: str) -> None:
        """Write one log line and flush it so the platform sees it at once."""
        self.log.write(line + "\n")
        self.log.flush()


TrainFn = Callable[[dict[str, Any], Mapping[str, ChannelInput], TrainingContext], None]


@runtime_checkable
class Model(Protocol):
    """A trained model loaded for inference."""

    @classmethod
    def load(cls, model_dir: str | Path) -> Model:
        """Load from the folder ``model.tar.gz`` was unpacked into."""
        ...

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request: returns the response body and its content type."""
        ...


@runtime_checkable
class BatchModel(Protocol):
    """Optional for a :class:`Model`: answer several requests with one prediction.

    The serving process groups the requests that arrive for a model while it is busy (its
    micro-batch) and calls ``predict_batch`` with them when the model has it. Row-wise models
    get it cheaply from :func:`openmaker.algorithms.common.inference.predict_batch`.
    """

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer ``(body, content_type, accept)`` requests, in order, as ``predict`` would.

        Raises:
            Exception: if any request fails; the caller then calls ``predict`` on each
                request, so every request gets its own answer or error.
        """
        ...


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class AlgorithmSpec:
    """Everything the platform knows about an algorithm without importing its code.

    Attributes:
        name: SageMaker's algorithm name and registry key (``xgboost``).
        title: display name.
        description: one paragraph.
        hyperparameters: declarations, in display order.
        channels: declared channels.
        metrics: metric definitions (names and regexes as SageMaker prints them).
        train: ``"module:function"`` of the training function.
        model: ``"module:Class"`` of the inference model.
        rules: cross-parameter rules run after per-parameter validation.
        request_content_types: content types ``predict`` accepts.
        response_content_types: Accept types ``predict`` can answer with (first is default).
        problem_types: problems it can learn (used by check_algorithm to generate data).
        example_hyperparameters: small, fast settings per problem type for conformance tests.
        model_files: file names inside ``model.tar.gz`` (for documentation and checks).
        supports_distributed: whether InstanceCount > 1 is meaningful.
        image_repository: SageMaker's ECR repository name (maps TrainingImage URIs back).
        preload: ``"module:function"`` a job's warm process calls, besides importing ``train``'s
            module, before the job's configuration arrives (:mod:`openmaker.jobs.warm`): what
            the training imports lazily and is slow to import (XGBoost: ``import_xgboost``).
    """

    name: str
    title: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    channels: tuple[Channel, ...]
    metrics: tuple[MetricDefinition, ...]
    train: str
    model: str
    rules: tuple[Rule, ...] = ()
    request_content_types: tuple[str, ...] = ()
    response_content_types: tuple[str, ...] = ()
    problem_types: tuple[ProblemType, ...] = ("regression",)
    example_hyperparameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    model_files: tuple[str, ...] = ()
    supports_distributed: bool = False
    image_repository: str = ""
    preload: str = ""

    # --- lookups ---------------------------------------------------------------------------
    def hyperparameter(self, name: str) -> Hyperparameter:
        """The declaration named ``name`` (aliases included)."""
        for hp in self.hyperparameters:
            if hp.name == name or name in hp.aliases:
                return hp
        raise KeyError(name)

    def channel(self, name: str) -> Channel | None:
        """The declared channel named ``name``, or None."""
        return next((c for c in self.channels if c.name == name), None)

    def metric(self, name: str) -> MetricDefinition | None:
        """The metric definition named ``name``, or None."""
        return next((m for m in self.metrics if m.name == name), None)

    # --- the validation pipeline ----------------------------------------------------------
    def validate_hyperparameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Strings in, typed values out; see :func:`openmaker.spec.hyperparameters.validate`."""
        return validate(self.hyperparameters, given, self.rules)

    def validate_channels(self, channels: Mapping[str, tuple[str | None, str]]) -> dict[str, str]:
        """Check channel names, content types and input modes before a job starts.

        Args:
            channels: channel name -> (content type or None, input mode).

        Returns:
            channel name -> canonical content type (the channel's default where none given).
        """
        out: dict[str, str] = {}
        for ch in self.channels:
            if ch.required and ch.name not in channels:
                raise ChannelError(
                    f"Missing required channel {ch.name!r} for algorithm {self.name!r}",
                    channel=ch.name,
                )
        for name, (content_type, mode) in channels.items():
            declared = self.channel(name)
            if declared is None:
                known = ", ".join(c.name for c in self.channels)
                raise ChannelError(
                    f"Channel {name!r} is not supported by {self.name!r}; supported: {known}",
                    channel=name,
                )
            if mode not in declared.input_modes:
                raise ChannelError(
                    f"Channel {name!r}: input mode {mode!r} is not supported; "
                    f"supported: {', '.join(declared.input_modes)}",
                    channel=name,
                )
            canonical = declared.default_content_type
            if content_type:
                try:
                    canonical, _ = parse_content_type(content_type)
                except ValidationError:
                    canonical = content_type
            if not declared.accepts(canonical, mode):
                allowed = (
                    declared.pipe_content_types
                    if mode == "Pipe" and declared.pipe_content_types
                    else (declared.content_types)
                )
                raise ChannelError(
                    f"Channel {name!r}: content type {content_type or canonical!r} is not "
                    f"supported in {mode} mode; supported: {', '.join(allowed)}",
                    channel=name,
                )
            out[name] = canonical
        return out

    # --- code ------------------------------------------------------------------------------
    def train_function(self) -> TrainFn:
        """Import and return the training function."""
        fn: TrainFn = _load(self.train)
        return fn

    def preload_training(self) -> None:
        """Import the training function's module and run ``preload``: what a warm job
        process does before its job is ready (:mod:`openmaker.jobs.warm`)."""
        self.train_function()
        if self.preload:
            _load(self.preload)()

    def model_class(self) -> type[Model]:
        """Import and return the model class."""
        cls: type[Model] = _load(self.model)
        return cls

    def tunable_metrics(self) -> Sequence[MetricDefinition]:
        """Metrics a tuning job may optimise."""
        return [m for m in self.metrics if m.tunable]
