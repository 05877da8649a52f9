"""The whole story through the real boto3 clients (``sagemaker``, ``sagemaker-runtime``,
``logs``): train XGBoost and Linear Learner, describe, wait, read the logs, tune, deploy,
invoke, update the endpoint to the other model, batch transform, tag, tear down."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from .conftest import (
    LINEAR_IMAGE,
    ROLE,
    XGBOOST_IMAGE,
    ApiServer,
    channel,
    fast_waiter,
    regression,
    training_request,
    write_csv,
)

pytestmark = pytest.mark.slow

XGB_HP = {"num_round": "8", "objective": "reg:squarederror", "max_depth": "3", "eta": "0.5"}
LL_HP = {"predictor_type": "regressor", "mini_batch_size": "32", "epochs": "3", "num_models": "2"}


@pytest.fixture(scope="module")
def data(api_home: Path) -> dict[str, Path]:
    X, y = regression(240)
    root = api_home.parent / "api-data"
    return {
        "train": write_csv(root / "train" / "part-0.csv", X[:200], y[:200]),
        "validation": write_csv(root / "validation" / "v.csv", X[200:], y[200:]),
        "batch": write_csv(root / "batch" / "rows.csv", X[:25]),
        "output": root / "output",
    }


@pytest.fixture(scope="module")
def jobs(sm: Any, data: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Two completed training jobs: ``xgb`` (XGBoost) and ``ll`` (Linear Learner)."""
    channels = [
        channel("train", f"file://{data['train'].parent}"),
        channel("validation", f"file://{data['validation'].parent}"),
    ]
    out = f"file://{data['output']}"
    sm.create_training_job(
        **training_request("xgb", XGBOOST_IMAGE, channels, out, XGB_HP),
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    sm.create_training_job(**training_request("ll", LINEAR_IMAGE, channels, out, LL_HP))
    waiter, config = fast_waiter(sm, "training_job_completed_or_stopped")
    for name in ("xgb", "ll"):
        waiter.wait(TrainingJobName=name, WaiterConfig=config)
    return {name: sm.describe_training_job(TrainingJobName=name) for name in ("xgb", "ll")}


def test_training_jobs_complete_with_the_fields_the_sdk_reads(
    jobs: dict[str, dict[str, Any]],
) -> None:
    xgb = jobs["xgb"]
    assert xgb["TrainingJobStatus"] == "Completed", xgb.get("FailureReason")
    assert xgb["SecondaryStatus"] == "Completed"
    assert xgb["TrainingJobArn"] == "arn:aws:sagemaker:us-east-1:000000000000:training-job/xgb"
    assert xgb["ModelArtifacts"]["S3ModelArtifacts"].endswith("/xgb/output/model.tar.gz")
    assert Path(xgb["ModelArtifacts"]["S3ModelArtifacts"]).exists()
    assert xgb["OutputDataConfig"]["KmsKeyId"] == ""
    assert xgb["ResourceConfig"]["VolumeSizeInGB"] == 5
    assert xgb["StoppingCondition"]["MaxRuntimeInSeconds"] == 600
    assert xgb["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    assert xgb["HyperParameters"] == XGB_HP
    assert xgb["RoleArn"] == ROLE
    assert all("StatusMessage" in t for t in xgb["SecondaryStatusTransitions"])
    assert [t["Status"] for t in xgb["SecondaryStatusTransitions"]][-1] == "Completed"
    assert xgb["CreationTime"] <= xgb["TrainingStartTime"] <= xgb["TrainingEndTime"]
    metrics = {m["MetricName"]: m["Value"] for m in xgb["FinalMetricDataList"]}
    assert metrics["validation:rmse"] < 1.5
    ll = jobs["ll"]
    assert ll["TrainingJobStatus"] == "Completed", ll.get("FailureReason")
    assert any(m["MetricName"].startswith("validation:") for m in ll["FinalMetricDataList"])


def test_duplicate_training_job_is_resource_in_use(
    sm: Any, jobs: dict[str, Any], data: dict[str, Path]
) -> None:
    request = training_request(
        "xgb", XGBOOST_IMAGE, [channel("train", str(data["train"]))], str(data["output"]), XGB_HP
    )
    with pytest.raises(sm.exceptions.ResourceInUse) as exc:
        sm.create_training_job(**request)
    assert "already exists" in exc.value.response["Error"]["Message"]


def test_list_training_jobs_filters_sorts_and_pages(sm: Any, jobs: dict[str, Any]) -> None:
    names = [j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]]
    assert names[:2] == ["xgb", "ll"]  # default: CreationTime, ascending
    listed = sm.list_training_jobs(SortBy="Name", SortOrder="Descending", NameContains="X")
    assert [j["TrainingJobName"] for j in listed["TrainingJobSummaries"]] == ["xgb"]
    pages = sm.get_paginator("list_training_jobs").paginate(
        SortBy="Name", PaginationConfig={"PageSize": 1}
    )
    seen = [j["TrainingJobName"] for p in pages for j in p["TrainingJobSummaries"]]
    assert seen == sorted(seen) and {"ll", "xgb"} <= set(seen)
    completed = sm.list_training_jobs(StatusEquals="Completed", CreationTimeAfter=0)
    assert {"ll", "xgb"} <= {j["TrainingJobName"] for j in completed["TrainingJobSummaries"]}
    future = sm.list_training_jobs(CreationTimeAfter=time.time() + 3600)
    assert future["TrainingJobSummaries"] == []
    assert sm.list_training_jobs(WarmPoolStatusEquals="Available")["TrainingJobSummaries"] == []


def test_logs_read_like_cloudwatch(api: ApiServer, jobs: dict[str, Any]) -> None:
    logs = api.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    streams = logs.describe_log_streams(
        logGroupName=group, logStreamNamePrefix="xgb/", orderBy="LogStreamName", limit=1
    )["logStreams"]
    assert len(streams) == 1
    name = streams[0]["logStreamName"]
    assert name == f"xgb/algo-1-{int(jobs['xgb']['CreationTime'].timestamp())}"
    first = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
    messages = [e["message"] for e in first["events"]]
    assert any("validation-rmse" in m for m in messages)
    stamps = [e["timestamp"] for e in first["events"]]
    assert stamps == sorted(set(stamps)) and streams[0]["lastEventTimestamp"] == stamps[-1]
    # Nothing new after the last token; the SDK's (timestamp, skip) position repeats nothing.
    again = logs.get_log_events(
        logGroupName=group, logStreamName=name, startFromHead=True,
        nextToken=first["nextForwardToken"],
    )  # fmt: skip
    assert again["events"] == [] and again["nextForwardToken"] == first["nextForwardToken"]
    tail = logs.get_log_events(logGroupName=group, logStreamName=name, startTime=stamps[-2])
    assert [e["message"] for e in tail["events"]] == messages[-2:]
    paged = logs.get_log_events(logGroupName=group, logStreamName=name, limit=2)
    assert [e["message"] for e in paged["events"]] == messages[-2:]  # newest, by default
    back = logs.get_log_events(
        logGroupName=group, logStreamName=name, limit=2, nextToken=paged["nextBackwardToken"]
    )
    assert [e["message"] for e in back["events"]] == messages[-4:-2]
    everyone = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert {s["logStreamName"].split("/")[0] for s in everyone} >= {"ll", "xgb"}


def test_tuning_job(sm: Any, data: dict[str, Path]) -> None:
    request = {
        "HyperParameterTuningJobName": "tune-xgb",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize",
                                                 "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "4"}],
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "StaticHyperParameters": {"num_round": "5", "objective": "reg:squarederror"},
            "InputDataConfig": [
                channel("train", str(data["train"])),
                channel("validation", str(data["validation"])),
            ],
            "OutputDataConfig": {"S3OutputPath": str(data["output"])},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                               "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }  # fmt: skip
    arn = sm.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    assert arn.endswith(":hyper-parameter-tuning-job/tune-xgb")
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_hyper_parameter_tuning_job(**request)
    deadline = time.monotonic() + 240
    while True:
        described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-xgb")
        if described["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
            break
        assert time.monotonic() < deadline, described
        time.sleep(0.5)
    assert described["HyperParameterTuningJobStatus"] == "Completed", described
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    statics = described["TrainingJobDefinition"]["StaticHyperParameters"]
    assert statics["_tuning_objective_metric"] == "validation:rmse"
    best = described["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:rmse"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-xgb", SortBy="FinalObjectiveMetricValue"
    )["TrainingJobSummaries"]
    assert len(children) == 2
    assert children[0]["TrainingJobName"] == best["TrainingJobName"]
    child = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert child["TuningJobArn"] == arn
    summaries = sm.list_hyper_parameter_tuning_jobs(NameContains="tune")
    assert [t["HyperParameterTuningJobName"] for t in summaries["HyperParameterTuningJobSummaries"]]
    assert summaries["HyperParameterTuningJobSummaries"][0]["Strategy"] == "Random"


def _invoke(runtime: Any, endpoint: str, rows: np.ndarray, accept: str) -> tuple[str, Any]:
    body = "\n".join(",".join(f"{v:.5g}" for v in row) for row in rows)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType="text/csv", Accept=accept
    )
    return answer["InvokedProductionVariant"], answer["Body"].read().decode()


def test_deploy_invoke_update_and_delete_an_endpoint(
    api: ApiServer, sm: Any, jobs: dict[str, Any]
) -> None:
    runtime = api.client("sagemaker-runtime")
    for name, image in (("xgb", XGBOOST_IMAGE), ("ll", LINEAR_IMAGE)):
        sm.create_model(
            ModelName=f"model-{name}",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": jobs[name]["ModelArtifacts"]["S3ModelArtifacts"],
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"config-{name}",
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": f"model-{name}",
                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        sm.create_model(
            ModelName="model-xgb",
            PrimaryContainer={
                "Image": XGBOOST_IMAGE,
                "ModelDataUrl": jobs["xgb"]["ModelArtifacts"]["S3ModelArtifacts"],
            },
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "Cannot create already existing" in exc.value.response["Error"]["Message"]
    assert sm.describe_model(ModelName="model-xgb")["PrimaryContainer"]["Image"] == XGBOOST_IMAGE

    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-xgb")
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-xgb")
    assert "Cannot create already existing" in exc.value.response["Error"]["Message"]
    waiter, config = fast_waiter(sm, "endpoint_in_service")
    waiter.wait(EndpointName="ep", WaiterConfig=config)
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    X, y = regression(5, seed=3)
    variant, body = _invoke(runtime, "ep", X, "text/csv")
    assert variant == "AllTraffic"
    predictions = np.array([float(v) for v in body.split()])
    assert np.abs(predictions - y).max() < 2.0

    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-ll")
    waiter.wait(EndpointName="ep", WaiterConfig=config)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "config-ll"
    _, body = _invoke(runtime, "ep", X, "application/json")
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    assert np.abs(np.array(scores) - y).max() < 2.0

    sm.update_endpoint_weights_and_capacities(
        EndpointName="ep",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
    )
    waiter.wait(EndpointName="ep", WaiterConfig=config)
    assert sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["CurrentWeight"] == 2.0

    sm.update_endpoint(  # back to XGBoost, keeping the live weight
        EndpointName="ep",
        EndpointConfigName="config-xgb",
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    waiter.wait(EndpointName="ep", WaiterConfig=config)
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointConfigName"] == "config-xgb"
    assert described["ProductionVariants"][0]["CurrentWeight"] == 2.0
    _, body = _invoke(runtime, "ep", X, "text/csv")
    assert len(body.split()) == 5 and "predictions" not in body

    listed = sm.list_endpoints(StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in listed] == ["ep"]
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    assert configs == ["config-ll", "config-xgb"]  # newest first by default
    models = sm.list_models(SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in models] == ["model-ll", "model-xgb"]

    sm.delete_endpoint(EndpointName="ep")
    waiter, config = fast_waiter(sm, "endpoint_deleted")
    waiter.wait(EndpointName="ep", WaiterConfig=config)
    deadline = time.monotonic() + 10  # the serving side drops it at its next poll
    with pytest.raises(runtime.exceptions.ValidationError):
        while time.monotonic() < deadline:
            _invoke(runtime, "ep", X, "text/csv")
            time.sleep(0.1)
    sm.delete_endpoint_config(EndpointConfigName="config-xgb")
    sm.delete_model(ModelName="model-ll")
    with pytest.raises(ClientError):
        sm.describe_endpoint_config(EndpointConfigName="config-xgb")
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["model-xgb"]


def test_batch_transform(sm: Any, jobs: dict[str, Any], data: dict[str, Path]) -> None:
    sm.create_model(
        ModelName="batch-model",
        PrimaryContainer={
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": jobs["xgb"]["ModelArtifacts"]["S3ModelArtifacts"],
        },
    )
    out = data["output"] / "batch"
    sm.create_transform_job(
        TransformJobName="batch",
        ModelName="batch-model",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                            "S3Uri": str(data["batch"].parent)}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": str(out), "AssembleWith": "Line", "Accept": "text/csv"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        Tags=[{"Key": "kind", "Value": "batch"}],
    )  # fmt: skip
    waiter, config = fast_waiter(sm, "transform_job_completed_or_stopped")
    waiter.wait(TransformJobName="batch", WaiterConfig=config)
    described = sm.describe_transform_job(TransformJobName="batch")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    lines = (out / "rows.csv.out").read_text().split()
    assert len(lines) == 25
    listed = sm.list_transform_jobs()["TransformJobSummaries"]
    assert listed[0]["TransformJobName"] == "batch" and "TransformEndTime" in listed[0]
    arn = described["TransformJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "kind", "Value": "batch"}]


def test_tags(sm: Any, jobs: dict[str, Any]) -> None:
    arn = jobs["xgb"]["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    added = sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "team", "Value": "data"}, {"Key": "stage", "Value": "dev"}]
    )
    assert added["Tags"] == [{"Key": "team", "Value": "data"}, {"Key": "stage", "Value": "dev"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["team", "absent"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        sm.add_tags(ResourceArn=arn, Tags=too_many)
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    for i in range(40):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i:02d}", "Value": str(i)}])
    pages = list(
        sm.get_paginator("list_tags").paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50})
    )
    assert sum(len(p["Tags"]) for p in pages) == 41


def test_stop_a_training_job(sm: Any, data: dict[str, Path]) -> None:
    request = training_request(
        "long", XGBOOST_IMAGE, [channel("train", str(data["train"]))], str(data["output"]),
        {"num_round": "1000000", "objective": "reg:squarederror", "max_depth": "6"},
    )  # fmt: skip
    sm.create_training_job(**request)
    deadline = time.monotonic() + 60
    while sm.describe_training_job(TrainingJobName="long")["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    sm.stop_training_job(TrainingJobName="long")
    assert sm.describe_training_job(TrainingJobName="long")["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    waiter, config = fast_waiter(sm, "training_job_completed_or_stopped")
    waiter.wait(TrainingJobName="long", WaiterConfig=config)
    assert sm.describe_training_job(TrainingJobName="long")["TrainingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as exc:
        sm.stop_training_job(TrainingJobName="long")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    sm.delete_training_job(TrainingJobName="long")
    with pytest.raises(WaiterError):  # the waiter fails on ValidationException: gone
        waiter.wait(TrainingJobName="long", WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_async_invocations_through_the_api_server(
    api: ApiServer, sm: Any, jobs: dict[str, Any], data: dict[str, Path]
) -> None:
    out = data["output"] / "async"
    sm.create_model(
        ModelName="async-model",
        PrimaryContainer={
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": jobs["xgb"]["ModelArtifacts"]["S3ModelArtifacts"],
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName="async-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "async-model"}],
        AsyncInferenceConfig={
            "OutputConfig": {"S3OutputPath": f"file://{out}"},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
        },
    )
    assert "AsyncInferenceConfig" in sm.describe_endpoint_config(EndpointConfigName="async-config")
    sm.create_endpoint(EndpointName="async-ep", EndpointConfigName="async-config")
    waiter, config = fast_waiter(sm, "endpoint_in_service")
    waiter.wait(EndpointName="async-ep", WaiterConfig=config)
    runtime = api.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint_async(
        EndpointName="async-ep", InputLocation=f"file://{data['batch']}", ContentType="text/csv"
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    location = Path(answer["OutputLocation"].removeprefix("file://"))
    deadline = time.monotonic() + 60
    while not location.exists():
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert len(location.read_text().split()) == 25
    sm.delete_endpoint(EndpointName="async-ep")
