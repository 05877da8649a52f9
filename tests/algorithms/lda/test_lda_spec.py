"""LDA's spec: SageMaker's names, defaults, ranges, channels and metric (reference section 6)."""

from __future__ import annotations

import re

import pytest

from openmaker.algorithms import registry
from openmaker.errors import HyperparameterError
from openmaker.spec.hyperparameters import Continuous, Integer

SPEC = registry.get("lda")


def test_hyperparameters_as_the_reference_gives_them() -> None:
    public = {h.name: h for h in SPEC.hyperparameters if not h.internal}
    assert list(public) == [
        "num_topics",
        "feature_dim",
        "mini_batch_size",
        "alpha0",
        "max_restarts",
        "max_iterations",
        "tol",
    ]
    assert all(public[n].required for n in ("num_topics", "feature_dim", "mini_batch_size"))
    assert (public["alpha0"].default, public["max_restarts"].default) == (1.0, 10)
    assert (public["max_iterations"].default, public["tol"].default) == (1000, 1e-8)
    assert isinstance(public["alpha0"], Continuous) and isinstance(public["tol"], Continuous)
    assert isinstance(public["num_topics"], Integer)
    tunable = {n: h.tuning_range for n, h in public.items() if h.tunable}
    assert tunable == {"num_topics": (1, 150), "alpha0": (0.1, 10.0)}


@pytest.mark.parametrize(
    ("name", "value"),
    [("alpha0", "0"), ("tol", "-1e-8"), ("max_restarts", "0"), ("max_iterations", "0")],
)
def test_values_must_be_positive(name: str, value: str) -> None:
    given = {"num_topics": "3", "feature_dim": "10", "mini_batch_size": "5", name: value}
    with pytest.raises(HyperparameterError, match=name) as info:
        SPEC.validate_hyperparameters(given)
    assert info.value.parameter == name


def test_required_and_num_topics_above_the_vocabulary_are_refused() -> None:
    with pytest.raises(HyperparameterError, match="mini_batch_size"):
        SPEC.validate_hyperparameters({"num_topics": "3", "feature_dim": "10"})
    with pytest.raises(HyperparameterError, match="feature_dim=10") as info:
        SPEC.validate_hyperparameters(
            {"num_topics": "11", "feature_dim": "10", "mini_batch_size": "5"}
        )
    assert info.value.parameter == "num_topics"
    assert "more topics than words" in str(info.value)


def test_channels_formats_and_modes() -> None:
    train, test = SPEC.channel("train"), SPEC.channel("test")
    assert train is not None and train.required and test is not None and not test.required
    recordio, csv = "application/x-recordio-protobuf", "text/csv"
    assert train.default_content_type == recordio  # what record_set() relies on
    assert train.accepts(recordio, "Pipe") and train.accepts(csv, "File")
    assert not train.accepts(csv, "Pipe")  # the reference: File mode only with CSV
    assert SPEC.validate_channels({"train": (None, "File")}) == {"train": recordio}
    assert not SPEC.supports_distributed and SPEC.image_repository == "lda"
    assert registry.resolve_image("766337827248.dkr.ecr.us-east-1.amazonaws.com/lda:1") is SPEC


def test_the_metric_regex_reads_the_printed_line() -> None:
    metric = SPEC.metric("test:pwll")
    assert metric is not None and metric.direction == "Maximize" and metric.tunable
    line = "[12/08/2026 00:13:53 INFO 8052] #quality_metric: host=algo-1, test pwll <score>=-3.48"
    match = re.search(metric.regex, line)
    assert match is not None and float(match.group(1)) == -3.48


def test_the_sdk_estimator_hyperparameters_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    sagemaker = pytest.importorskip("sagemaker")
    import boto3

    boto_session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session = sagemaker.Session(boto_session=boto_session, default_bucket="unused")
    est = sagemaker.LDA(
        role="arn:aws:iam::123456789012:role/x",
        instance_type="ml.c4.2xlarge",
        num_topics=5,
        alpha0=0.5,
        max_restarts=3,
        max_iterations=50,
        tol=1e-6,
        sagemaker_session=session,
        data_location="s3://unused/record-sets/",
    )
    hp = {**est.hyperparameters(), "feature_dim": "100", "mini_batch_size": "10"}
    typed = SPEC.validate_hyperparameters(hp)
    assert typed["num_topics"] == 5 and typed["alpha0"] == 0.5 and typed["tol"] == 1e-6
