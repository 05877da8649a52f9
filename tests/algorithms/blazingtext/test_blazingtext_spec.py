"""BlazingText's spec: SageMaker's hyperparameters, defaults, ranges, rules, channels, metrics."""

from __future__ import annotations

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.blazingtext.spec import SPEC
from openmaker.errors import HyperparameterError
from openmaker.spec.metrics import format_log_line

DEFAULTS = {
    "vector_dim": 100,
    "epochs": 5,
    "learning_rate": 0.05,
    "min_count": 5,
    "buckets": 2000000,
    "window_size": 5,
    "negative_samples": 5,
    "sampling_threshold": 0.0001,
    "subwords": False,
    "min_char": 3,
    "max_char": 6,
    "batch_size": 11,
    "evaluation": True,
    "word_ngrams": 2,
    "early_stopping": False,
    "patience": 4,
    "min_epochs": 5,
}


def test_registered_under_sagemakers_name_and_image():
    assert registry.get("blazingtext") is SPEC
    image = "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"
    assert registry.resolve_image(image) is SPEC


def test_defaults_are_sagemakers():
    typed = SPEC.validate_hyperparameters({"mode": "skipgram"})
    assert {k: typed[k] for k in DEFAULTS} == DEFAULTS


def test_mode_is_required_and_checked():
    with pytest.raises(HyperparameterError, match="mode") as exc:
        SPEC.validate_hyperparameters({})
    assert exc.value.parameter == "mode"
    with pytest.raises(HyperparameterError, match="mode"):
        SPEC.validate_hyperparameters({"mode": "fasttext"})
    for mode in ("cbow", "skipgram", "batch_skipgram", "supervised"):
        assert SPEC.validate_hyperparameters({"mode": mode})["mode"] == mode


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("vector_dim", "0"),
        ("window_size", "0"),
        ("negative_samples", "0"),
        ("min_count", "-1"),
        ("sampling_threshold", "0"),
        ("sampling_threshold", "1.5"),
        ("learning_rate", "0"),
        ("epochs", "0"),
        ("batch_size", "0"),
        ("word_ngrams", "0"),
        ("patience", "0"),
        ("buckets", "1.5"),
        ("subwords", "maybe"),
    ],
)
def test_out_of_range_values_are_refused_by_name(name, value):
    with pytest.raises(HyperparameterError) as exc:
        SPEC.validate_hyperparameters({"mode": "skipgram", name: value})
    assert exc.value.parameter == name and name in str(exc.value)


def test_booleans_accept_both_spellings():
    for raw in ("True", "true", "FALSE", "false"):
        typed = SPEC.validate_hyperparameters({"mode": "skipgram", "subwords": raw})
        assert typed["subwords"] is (raw.lower() == "true")


def test_batch_skipgram_with_subwords_is_refused():
    with pytest.raises(HyperparameterError, match="batch_skipgram") as exc:
        SPEC.validate_hyperparameters({"mode": "batch_skipgram", "subwords": "True"})
    assert exc.value.parameter == "subwords"
    SPEC.validate_hyperparameters({"mode": "skipgram", "subwords": "True"})


def test_min_char_above_max_char_is_refused_with_subwords():
    with pytest.raises(HyperparameterError) as exc:
        SPEC.validate_hyperparameters(
            {"mode": "skipgram", "subwords": "true", "min_char": "5", "max_char": "3"}
        )
    assert exc.value.parameter == "min_char"


def test_unknown_names_are_refused():
    with pytest.raises(HyperparameterError, match="char_ngrams"):
        SPEC.validate_hyperparameters({"mode": "skipgram", "char_ngrams": "3"})


def test_channels_and_content_types():
    train = SPEC.channel("train")
    assert train.required and train.default_content_type == "text/plain"
    assert train.accepts("application/x-recordio-protobuf", "Pipe")  # augmented manifest
    assert not SPEC.channel("validation").required
    assert SPEC.request_content_types == ("application/json", "application/jsonlines")


@pytest.mark.parametrize(
    ("metric", "line", "value"),
    [
        ("train:mean_rho", "#mean_rho: 0.6543", 0.6543),
        ("validation:accuracy", "#validation_accuracy: 0.9695", 0.9695),
        ("train:accuracy", "#train_accuracy: 0.99", 0.99),
    ],
)
def test_metric_regexes_are_sagemakers(metric, line, value):
    m = SPEC.metric(metric)
    assert m.direction == "Maximize"
    assert m.match(format_log_line(line)) == pytest.approx(value)


def test_tunable_metrics():
    assert {m.name for m in SPEC.tunable_metrics()} == {"train:mean_rho", "validation:accuracy"}


def test_spec_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, openmaker.algorithms.blazingtext.spec as s; "
        "print(any(m in sys.modules for m in ('torch', 'fasttext', 'numpy', 'gensim')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
