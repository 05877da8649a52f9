"""SageMaker's BlazingText algorithm, as data: hyperparameters, channels, metrics, formats.

Importing this module never imports numpy, fastText or torch. The facts follow the reference
(``text-timeseries-algorithms.md`` sections 0 and 1); the decisions taken where it is silent
or marked UNCONFIRMED are listed in the package docstring
(:mod:`openmaker.algorithms.blazingtext`).
"""

from __future__ import annotations

from typing import Any

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
)
from openmaker.spec.metrics import MetricDefinition

#: BlazingText's training and batch-transform text type (the notebooks' ``text/plain``).
TEXT_PLAIN = "text/plain"

WORD2VEC_MODES: tuple[str, ...] = ("batch_skipgram", "skipgram", "cbow")
MODES: tuple[str, ...] = (*WORD2VEC_MODES, "supervised")

#: The label prefix of supervised lines (fastText's ``-label``).
LABEL_PREFIX = "__label__"

_POSITIVE = Interval(1, None)

HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Categorical(
        name="mode",
        required=True,
        choices=MODES,
        tunable=True,
        tuning_range=WORD2VEC_MODES,
        description="batch_skipgram, skipgram or cbow (Word2Vec) or supervised (classification).",
    ),
    Integer(
        name="vector_dim",
        default=100,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(32, 300),
        description="Size of the word vectors (supervised: of the embedding layer).",
    ),
    Integer(
        name="epochs",
        default=5,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(5, 15),
        description="Passes over the training data (supervised: the maximum).",
    ),
    Continuous(
        name="learning_rate",
        default=0.05,
        range=Interval(0, None, min_open=True),
        tunable=True,
        tuning_range=(0.005, 0.01),
        description="Step size, decayed linearly to 0 over training.",
    ),
    Integer(
        name="min_count",
        default=5,
        range=Interval(0, None),
        tunable=True,
        tuning_range=(0, 100),
        description="Words seen fewer times are dropped.",
    ),
    Integer(
        name="buckets",
        default=2000000,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(1000000, 10000000),
        description="Hash buckets for subwords (Word2Vec) or word n-grams (supervised).",
    ),
    Integer(
        name="window_size",
        default=5,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(1, 10),
        description="Word2Vec: context window (words on each side).",
    ),
    Integer(
        name="negative_samples",
        default=5,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(5, 25),
        description="Word2Vec: negative samples per positive (shared in batch_skipgram).",
    ),
    Continuous(
        name="sampling_threshold",
        default=0.0001,
        range=Interval(0, 1, min_open=True),
        tunable=True,
        tuning_range=(0.0001, 0.001),
        description="Word2Vec: frequent-word down-sampling threshold; (0, 1e-3] recommended.",
    ),
    Boolean(
        name="subwords",
        default=False,
        description="Word2Vec (cbow, skipgram): also learn char n-gram vectors.",
    ),
    Integer(
        name="min_char",
        default=3,
        range=_POSITIVE,
        description="Word2Vec with subwords: shortest char n-gram.",
    ),
    Integer(
        name="max_char",
        default=6,
        range=_POSITIVE,
        description="Word2Vec with subwords: longest char n-gram.",
    ),
    Integer(
        name="batch_size",
        default=11,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(8, 32),
        description="batch_skipgram: window words sharing one set of negatives (2*window+1).",
    ),
    Boolean(
        name="evaluation",
        default=True,
        description="Word2Vec: Spearman's rho on WordSim-353 (train:mean_rho, eval.json).",
    ),
    Integer(
        name="word_ngrams",
        default=2,
        range=_POSITIVE,
        tunable=True,
        tuning_range=(1, 3),
        description="supervised: longest word n-gram used as a feature.",
    ),
    Boolean(
        name="early_stopping",
        default=False,
        description="supervised: stop when validation accuracy stops improving (needs validation).",
    ),
    Integer(
        name="patience",
        default=4,
        range=_POSITIVE,
        description="supervised, early_stopping: epochs without improvement before stopping.",
    ),
    Integer(
        name="min_epochs",
        default=5,
        range=_POSITIVE,
        description="supervised, early_stopping: epochs before the first validation check.",
    ),
)


def _no_subwords_in_batch_skipgram(hp: dict[str, Any]) -> None:
    if hp.get("mode") == "batch_skipgram" and hp.get("subwords"):
        raise HyperparameterError(
            "Hyperparameter 'subwords': value True is not supported with mode=batch_skipgram "
            "(SageMaker's BlazingText learns subwords with cbow and skipgram only); set "
            "subwords=False or use mode=skipgram",
            parameter="subwords",
            value=True,
            allowed="False when mode=batch_skipgram",
        )


def _char_range(hp: dict[str, Any]) -> None:
    if hp.get("subwords") and int(hp.get("min_char", 3)) > int(hp.get("max_char", 6)):
        raise HyperparameterError(
            f"Hyperparameter 'min_char': value {hp['min_char']} is larger than max_char "
            f"({hp['max_char']}); min_char must be at most max_char",
            parameter="min_char",
            value=hp["min_char"],
            allowed=f"integer in [1, {hp['max_char']}]",
        )


RULES = (_no_subwords_in_batch_skipgram, _char_range)

CHANNELS = (
    Channel(
        "train",
        required=True,
        content_types=(TEXT_PLAIN,),
        input_modes=("File", "Pipe"),
        pipe_content_types=(TEXT_PLAIN, ContentType.RECORDIO_PROTOBUF),
        description=(
            "One sentence per line, space-separated tokens (supervised: with __label__ tokens); "
            "supervised Pipe mode also takes an AugmentedManifestFile (source, label)."
        ),
    ),
    Channel(
        "validation",
        content_types=(TEXT_PLAIN,),
        input_modes=("File", "Pipe"),
        pipe_content_types=(TEXT_PLAIN, ContentType.RECORDIO_PROTOBUF),
        description="supervised only: labelled lines scored per epoch (validation:accuracy).",
    ),
)

REQUEST_CONTENT_TYPES: tuple[str, ...] = (ContentType.JSON, ContentType.JSONLINES)
RESPONSE_CONTENT_TYPES: tuple[str, ...] = (ContentType.JSON, ContentType.JSONLINES)

METRICS = (
    MetricDefinition("train:mean_rho", r"#mean_rho: (\S+)", "Maximize", True),
    MetricDefinition("validation:accuracy", r"#validation_accuracy: (\S+)", "Maximize", True),
    MetricDefinition("train:accuracy", r"#train_accuracy: (\S+)", "Maximize", False),
)

SPEC = AlgorithmSpec(
    name="blazingtext",
    title="BlazingText",
    description=(
        "Word2Vec (cbow, skipgram with optional subwords, and batch_skipgram: mini-batched "
        "skip-gram with shared negative samples that scales over cores, a GPU and several "
        "instances) and fastText text classification (supervised, word n-grams, multi-label, "
        "early stopping). Artifacts are fastText-compatible: vectors.txt / vectors.bin / "
        "eval.json for Word2Vec, model.bin for supervised."
    ),
    hyperparameters=HYPERPARAMETERS,
    channels=CHANNELS,
    metrics=METRICS,
    rules=RULES,
    train="openmaker.algorithms.blazingtext.train:train",
    model="openmaker.algorithms.blazingtext.model:BlazingTextModel",
    request_content_types=REQUEST_CONTENT_TYPES,
    response_content_types=RESPONSE_CONTENT_TYPES,
    problem_types=("text", "labelled_text"),
    example_hyperparameters={
        "text": {
            "mode": "batch_skipgram",
            "vector_dim": "8",
            "epochs": "2",
            "min_count": "1",
        },
        "labelled_text": {
            "mode": "supervised",
            "vector_dim": "8",
            "epochs": "5",
            "min_count": "1",
            "word_ngrams": "1",
        },
    },
    model_files=("model.bin", "vectors.bin", "vectors.txt", "eval.json"),
    supports_distributed=True,
    image_repository="blazingtext",
)
