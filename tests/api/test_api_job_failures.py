"""Hyperparameters the algorithm refuses fail the job, as on SageMaker (through boto3).

CreateTrainingJob accepts the request (its shape is still checked), the job is ``Failed`` by
the first DescribeTrainingJob with ``ClientError: ...`` naming the hyperparameter and what is
allowed, and its log says the same. A tuning job whose search draws combinations the algorithm
refuses sees those trials ``Failed`` while the others complete and give the best job.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import (
    ROLE,
    XGBOOST_IMAGE,
    ApiServer,
    channel,
    regression,
    training_request,
    write_csv,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(api_home: Path) -> dict[str, Path]:
    X, y = regression(120, d=2)
    root = api_home.parent / "failing-data"
    return {
        "train": write_csv(root / "train" / "t.csv", X[:100], y[:100]),
        "validation": write_csv(root / "validation" / "v.csv", X[100:], y[100:]),
        "output": root / "output",
    }


def _channels(data: dict[str, Path]) -> list[dict[str, Any]]:
    return [channel("train", str(data["train"])), channel("validation", str(data["validation"]))]


@pytest.mark.parametrize(
    ("name", "hyperparameters", "fragments"),
    [
        ("hp-range", {"num_round": "-1"}, ["'num_round'", "-1", "integer in [1, +inf)"]),
        (
            "hp-unknown",
            {"num_round": "5", "max_deepth": "3"},
            ["Unknown hyperparameter 'max_deepth'", "max_depth"],
        ),
        ("hp-missing", {"eta": "0.1"}, ["Missing required hyperparameter 'num_round'"]),
        (
            "hp-rule",
            {"num_round": "5", "objective": "reg:squarederror", "num_class": "3"},
            ["'num_class'", "only with objective multi:softmax"],
        ),
    ],
)
def test_a_refused_hyperparameter_fails_the_job_at_once(
    sm: Any,
    api: ApiServer,
    data: dict[str, Path],
    name: str,
    hyperparameters: dict[str, str],
    fragments: list[str],
) -> None:
    request = training_request(name, XGBOOST_IMAGE, _channels(data), str(data["output"]),
                               hyperparameters)  # fmt: skip
    started = time.perf_counter()
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    described = sm.describe_training_job(TrainingJobName=name)  # no waiting: already ended
    elapsed = time.perf_counter() - started
    assert arn.endswith(f":training-job/{name}")
    assert described["TrainingJobStatus"] == "Failed", described
    assert described["SecondaryStatus"] == "Failed"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == ["Starting", "Failed"]
    reason = described["FailureReason"]
    assert reason.startswith("ClientError: "), reason
    for fragment in fragments:
        assert fragment in reason, reason
    assert "TrainingEndTime" in described and "ModelArtifacts" in described
    assert elapsed < 1.0, f"create -> Failed took {elapsed:.3f} s"
    # The job's log (CloudWatch's view of it) holds the same line.
    logs = api.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")
    stream = streams["logStreams"][0]["logStreamName"]
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in events["events"]] == [reason]
    # It is an ordinary ended job: listed as Failed, deletable.
    failed = sm.list_training_jobs(StatusEquals="Failed", NameContains=name)
    assert [j["TrainingJobName"] for j in failed["TrainingJobSummaries"]] == [name]


def test_the_request_shape_is_still_refused_at_create(sm: Any, data: dict[str, Path]) -> None:
    request = training_request("hp-shape", XGBOOST_IMAGE, _channels(data), str(data["output"]),
                               {"num_round": "x" * 2501})  # fmt: skip
    with pytest.raises(ClientError) as exc:
        sm.create_training_job(**request)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "hyperParameters" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sm.describe_training_job(TrainingJobName="hp-shape")  # nothing was recorded
    assert exc.value.response["Error"]["Message"] == "Requested resource not found."


def test_a_tuning_job_whose_trials_break_a_rule_runs_the_others(
    sm: Any, data: dict[str, Path]
) -> None:
    """``monotone_constraints`` needs ``tree_method`` exact or hist: the approx trial fails, the
    hist trial trains, and it is the best training job."""
    request = {
        "HyperParameterTuningJobName": "tune-some-bad",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid",
            "HyperParameterTuningJobObjective": {"Type": "Minimize",
                                                 "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "CategoricalParameterRanges": [
                    {"Name": "tree_method", "Values": ["approx", "hist"]}
                ],
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "StaticHyperParameters": {"num_round": "3", "objective": "reg:squarederror",
                                      "monotone_constraints": "(1,0)"},
            "InputDataConfig": _channels(data),
            "OutputDataConfig": {"S3OutputPath": str(data["output"])},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                               "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }  # fmt: skip
    sm.create_hyper_parameter_tuning_job(**request)
    deadline = time.monotonic() + 240
    while True:
        described = sm.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-some-bad"
        )
        if described["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
            break
        assert time.monotonic() < deadline, described
        time.sleep(0.5)
    assert described["HyperParameterTuningJobStatus"] == "Completed", described
    counters = described["TrainingJobStatusCounters"]
    assert (counters["Completed"], counters["NonRetryableError"]) == (1, 1), counters
    assert described["ObjectiveStatusCounters"]["Failed"] == 1
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-some-bad"
    )["TrainingJobSummaries"]
    by_method = {c["TunedHyperParameters"]["tree_method"]: c for c in children}
    assert set(by_method) == {"approx", "hist"}
    bad, good = by_method["approx"], by_method["hist"]
    assert bad["TrainingJobStatus"] == "Failed" and bad["ObjectiveStatus"] == "Failed"
    assert bad["FailureReason"].startswith("ClientError: ")
    assert "'monotone_constraints'" in bad["FailureReason"]
    assert "tree_method" in bad["FailureReason"]
    assert good["TrainingJobStatus"] == "Completed" and good["ObjectiveStatus"] == "Succeeded"
    assert described["BestTrainingJob"]["TrainingJobName"] == good["TrainingJobName"]
