"""CloudWatch's training-job metrics through the real clients: DescribeTrainingJob's
``MetricDefinitions``, boto3's ``cloudwatch`` client (AWS JSON 1.0, what the installed botocore
sends, and AWS Query, what older botocore sends), the SageMaker SDK's ``TrainingJobAnalytics``
and ``estimator.training_job_analytics``, and CloudWatch's 400s for bad requests."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from .conftest import (
    REGION,
    XGBOOST_IMAGE,
    ApiServer,
    channel,
    fast_waiter,
    regression,
    training_request,
    write_csv,
)

pytestmark = pytest.mark.slow

NAMESPACE = "/aws/sagemaker/TrainingJobs"
JOB = "cw-xgb"
CUSTOM = {"Name": "custom:validation-rmse", "Regex": r"validation-rmse:([0-9.]+)"}
STATISTICS = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
JSON_TARGET = "GraniteServiceVersion20100801"


@pytest.fixture(scope="module")
def job(sm: Any, api_home: Path) -> dict[str, Any]:
    """A completed XGBoost job with one metric definition of the user's."""
    X, y = regression(160, seed=3)
    root = api_home.parent / "cw-data"
    write_csv(root / "train" / "t.csv", X[:120], y[:120])
    write_csv(root / "validation" / "v.csv", X[120:], y[120:])
    request = training_request(
        JOB,
        XGBOOST_IMAGE,
        [channel("train", str(root / "train")), channel("validation", str(root / "validation"))],
        str(root / "output"),
        {"num_round": "6", "objective": "reg:squarederror", "max_depth": "2"},
    )
    request["AlgorithmSpecification"]["MetricDefinitions"] = [CUSTOM]
    sm.create_training_job(**request)
    waiter, config = fast_waiter(sm, "training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=JOB, WaiterConfig=config)
    described = sm.describe_training_job(TrainingJobName=JOB)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    return described


@pytest.fixture(scope="module")
def cw(api: ApiServer) -> Any:
    """``boto3.client("cloudwatch")`` against the server."""
    return api.client("cloudwatch")


def series(metric: str) -> list[tuple[datetime, float]]:
    """The job's points as the store keeps them (the oracle)."""
    from openmaker.store import open_store

    with open_store() as store:
        points = store.training_jobs.metric_series(JOB, metric)
    return [(p.timestamp, p.value) for p in points if math.isfinite(p.value)]


def expected(metric: str, period: int) -> list[dict[str, Any]]:
    """CloudWatch's data points for ``metric``, computed here from the raw points."""
    buckets: dict[datetime, list[float]] = {}
    for stamp, value in series(metric):
        epoch = int(stamp.timestamp())
        start = datetime.fromtimestamp(epoch - epoch % period, UTC)
        buckets.setdefault(start, []).append(value)
    return [
        {
            "Timestamp": start,
            "SampleCount": float(len(v)),
            "Average": sum(v) / len(v),
            "Sum": sum(v),
            "Minimum": min(v),
            "Maximum": max(v),
            "Unit": "None",
        }
        for start, v in sorted(buckets.items())
    ]


def window(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartTime": job["TrainingStartTime"],
        "EndTime": job["TrainingEndTime"] + timedelta(minutes=1),
    }


def ask(cw: Any, job: dict[str, Any], metric: str, **overrides: Any) -> dict[str, Any]:
    request = {
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": [{"Name": "TrainingJobName", "Value": JOB}],
        "Period": 60,
        "Statistics": STATISTICS,
        **window(job),
        **overrides,
    }
    return dict(cw.get_metric_statistics(**{k: v for k, v in request.items() if v is not None}))


def close(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if g.keys() != w.keys() or g["Timestamp"] != w["Timestamp"] or g["Unit"] != w["Unit"]:
            return False
        if any(not math.isclose(g[k], w[k], rel_tol=1e-9) for k in STATISTICS):
            return False
    return True


# --- DescribeTrainingJob / DescribeAlgorithm ---------------------------------------------------


def test_describe_lists_the_algorithms_metric_definitions(sm: Any, job: dict[str, Any]) -> None:
    from openmaker.algorithms import registry

    spec = [{"Name": m.name, "Regex": m.regex} for m in registry.get("xgboost").metrics]
    assert len(spec) > 2
    assert job["AlgorithmSpecification"]["MetricDefinitions"] == [*spec, CUSTOM]
    algorithm = sm.describe_algorithm(AlgorithmName="xgboost")
    assert algorithm["TrainingSpecification"]["MetricDefinitions"] == spec
    # the definitions are what the log was parsed with: both kinds have points
    assert series("validation:rmse") and series(CUSTOM["Name"])
    assert [v for _, v in series(CUSTOM["Name"])] == [v for _, v in series("validation:rmse")]


# --- GetMetricStatistics / ListMetrics through boto3 ----------------------------------------


def test_get_metric_statistics(cw: Any, job: dict[str, Any]) -> None:
    assert cw.meta.service_model.resolved_protocol == "json"  # what this botocore sends
    for metric in ("validation:rmse", "train:rmse", CUSTOM["Name"]):
        for period in (60, 1):
            answer = ask(cw, job, metric, Period=period)
            assert answer["Label"] == metric
            assert close(answer["Datapoints"], expected(metric, period)), (metric, period)
    values = sorted(v for _, v in series("validation:rmse"))
    answer = ask(cw, job, "validation:rmse", Statistics=None, ExtendedStatistics=["p0", "p100"],
                 Period=3600)  # fmt: skip
    percentiles = [p["ExtendedStatistics"] for p in answer["Datapoints"]]
    assert min(p["p0"] for p in percentiles) == values[0]
    assert max(p["p100"] for p in percentiles) == values[-1]


def test_what_has_no_data_answers_no_datapoints(cw: Any, job: dict[str, Any]) -> None:
    assert ask(cw, job, "validation:nope")["Datapoints"] == []
    assert ask(cw, job, "validation:rmse", Namespace="AWS/EC2")["Datapoints"] == []
    other = [{"Name": "TrainingJobName", "Value": "ghost"}]
    assert ask(cw, job, "validation:rmse", Dimensions=other)["Datapoints"] == []
    assert ask(cw, job, "validation:rmse", Unit="Seconds")["Datapoints"] == []


def test_list_metrics(cw: Any, job: dict[str, Any]) -> None:
    found = cw.list_metrics(
        Namespace=NAMESPACE, Dimensions=[{"Name": "TrainingJobName", "Value": JOB}]
    )["Metrics"]
    names = {m["MetricName"] for m in found}
    assert {"validation:rmse", "train:rmse", CUSTOM["Name"]} <= names
    assert all(m["Dimensions"] == [{"Name": "TrainingJobName", "Value": JOB}] for m in found)
    assert all(series(name) for name in names)  # only metrics with data
    pages = list(cw.get_paginator("list_metrics").paginate(MetricName="validation:rmse"))
    assert [m["MetricName"] for p in pages for m in p["Metrics"]] == ["validation:rmse"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Period": 45}, "InvalidParameterValue"),
        ({"Period": 60 * 2**26}, "InvalidParameterValue"),  # beyond an integer: 32 bits
        ({"ExtendedStatistics": ["p50"]}, "InvalidParameterCombination"),
        ({"Statistics": None, "ExtendedStatistics": ["p500"]}, "InvalidParameterValue"),
        ({"Statistics": ["Median"]}, "InvalidParameterValue"),
        ({"Namespace": ":bad"}, "InvalidParameterValue"),
        ({"MetricName": "m" * 256}, "InvalidParameterValue"),
        ({"Unit": "Parsecs"}, "InvalidParameterValue"),
        ({"StartTime": datetime(2024, 1, 2), "EndTime": datetime(2024, 1, 1)},
         "InvalidParameterValue"),
        ({"StartTime": datetime(2020, 1, 1), "EndTime": datetime(2024, 1, 1)},
         "InvalidParameterCombination"),  # too many data points
    ],
)  # fmt: skip
def test_bad_requests_are_cloudwatch_400s(
    cw: Any, job: dict[str, Any], overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as caught:
        ask(cw, job, "validation:rmse", **overrides)
    error = caught.value.response
    assert error["Error"]["Code"] == code, error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"]
    exception = getattr(cw.exceptions, f"{code}Exception")
    assert isinstance(caught.value, exception)  # the modelled exception class


# --- the raw wire: what a decoder can choke on is a 400, never a 500 -----------------------


def post(api: ApiServer, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(api.url + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post_json(api: ApiServer, body: bytes, op: str = "GetMetricStatistics") -> tuple:
    headers = {"X-Amz-Target": f"{JSON_TARGET}.{op}",
               "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip
    status, out_headers, out = post(api, body, headers)
    lower = {k.lower(): v for k, v in out_headers.items()}
    return status, lower, json.loads(out)


def test_json_wire_errors(api: ApiServer, job: dict[str, Any]) -> None:
    good = {
        "Namespace": NAMESPACE,
        "MetricName": "validation:rmse",
        "Dimensions": [{"Name": "TrainingJobName", "Value": JOB}],
        "StartTime": job["TrainingStartTime"].timestamp(),
        "EndTime": job["TrainingEndTime"].timestamp() + 60,
        "Period": 60,
        "Statistics": ["Average"],
    }
    status, headers, out = post_json(api, json.dumps(good).encode())
    assert status == 200 and out["Label"] == "validation:rmse" and out["Datapoints"]
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-requestid"]

    status, headers, out = post_json(api, json.dumps({**good, "Period": None}).encode())
    assert (status, out["__type"]) == (400, "MissingRequiredParameterException")
    assert headers["x-amzn-query-error"] == "MissingParameter;Sender"
    assert "Period" in out["message"]
    cases = {
        b'{"Namespace": ': "SerializationException",
        b"[" * 5000 + b"]" * 5000: "SerializationException",
        b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}": "SerializationException",
        b'{"Namespace": "\xff\xfe"}': "SerializationException",
        b"[1, 2]": "SerializationException",
        b'{"x": 1e999}': "SerializationException",
        b"{}": "MissingRequiredParameterException",
        json.dumps({**good, "Statistics": "Average"}).encode(): "InvalidParameterValueException",
        json.dumps({**good, "Period": "60"}).encode(): "InvalidParameterValueException",
        json.dumps({**good, "StartTime": "yesterday"}).encode(): "InvalidParameterValueException",
        json.dumps({**good, "StartTime": 1e300}).encode(): "InvalidParameterValueException",
        json.dumps({**good, "Dimensions": [{"Name": "x"}]}).encode():
            "InvalidParameterValueException",
        json.dumps({**good, "Dimensions": [[[]]] * 40}).encode(): "InvalidParameterValueException",
        b" " * (1024 * 1024 + 1): "SerializationException",
    }  # fmt: skip
    for body, code in cases.items():
        status, _, out = post_json(api, body)
        assert (status, out["__type"]) == (400, code), (body[:40], out)
    status, _, out = post_json(api, b"{}", op="PutMetricAlarmz")
    assert (status, out["__type"]) == (400, "UnknownOperationException")
    status, _, out = post_json(api, b'{"NextToken": "garbage"}', op="ListMetrics")
    assert (status, out["__type"]) == (400, "InvalidParameterValueException")


def query(api: ApiServer, params: dict[str, str] | bytes, *, get: bool = False) -> tuple:
    body = params if isinstance(params, bytes) else urllib.parse.urlencode(params).encode()
    if get:
        request = urllib.request.Request(f"{api.url}/?{body.decode()}", method="GET")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, out = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, out = exc.code, exc.read()
    else:
        form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        status, _, out = post(api, body, form)
    return status, ElementTree.fromstring(out)


def xml_text(root: ElementTree.Element, path: str) -> str | None:
    ns = {"cw": "http://monitoring.amazonaws.com/doc/2010-08-01/"}
    found = root.find(path, ns)
    return None if found is None else found.text


def test_query_wire_and_its_errors(api: ApiServer, job: dict[str, Any]) -> None:
    def stamp(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    good = {
        "Action": "GetMetricStatistics",
        "Version": "2010-08-01",
        "Namespace": NAMESPACE,
        "MetricName": "validation:rmse",
        "Dimensions.member.1.Name": "TrainingJobName",
        "Dimensions.member.1.Value": JOB,
        "StartTime": stamp(job["TrainingStartTime"]),
        "EndTime": stamp(job["TrainingEndTime"] + timedelta(minutes=2)),
        "Period": "60",
        "Statistics.member.1": "SampleCount",
    }
    for get in (False, True):
        status, root = query(api, good, get=get)
        assert status == 200
        counts = root.findall(".//{*}Datapoints/{*}member/{*}SampleCount")
        assert sum(float(c.text or 0) for c in counts) == len(series("validation:rmse"))
    cases: list[tuple[dict[str, str] | bytes, str]] = [
        ({k: v for k, v in good.items() if k != "MetricName"}, "MissingParameter"),
        ({**good, "Period": "sixty"}, "InvalidParameterValue"),
        ({**good, "Period": "9" * 5000}, "InvalidParameterValue"),
        ({**good, "Statistics.member.1": "Median"}, "InvalidParameterValue"),
        ({**good, "ExtendedStatistics.member.1": "p50"}, "InvalidParameterCombination"),
        ({**good, "Action": "DeleteAlarms"}, "InvalidAction"),
        ({"Version": "2010-08-01"}, "MissingAction"),
        (b"Action=ListMetrics&Namespace=%ff%fe", "MalformedQueryString"),
        (b"Action=ListMetrics&Namespace=\xff", "MalformedQueryString"),
        (b"Action=ListMetrics&" + b"&".join(b"k%d=v" % i for i in range(2000)),
         "MalformedQueryString"),
        (b"Action=ListMetrics&Dimensions." + b"member.1." * 5000 + b"Name=x",
         "InvalidParameterValue"),
        (b"Action=ListMetrics&" + b"x" * (1024 * 1024), "MalformedQueryString"),
    ]  # fmt: skip
    for params, code in cases:
        status, root = query(api, params)
        assert (status, xml_text(root, "cw:Error/cw:Code")) == (400, code), params
        assert xml_text(root, "cw:Error/cw:Type") == "Sender"
        assert xml_text(root, "cw:RequestId")


@pytest.fixture(scope="module")
def query_cw(api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ``cloudwatch`` client of a botocore that sends AWS Query (the installed model, with
    the protocol it had before it listed AWS JSON)."""
    import botocore.session

    model = (
        botocore.session.get_session()
        .get_component("data_loader")
        .load_service_model("cloudwatch", "service-2")
    )
    model["metadata"]["protocol"] = "query"
    model["metadata"].pop("protocols", None)
    root = tmp_path_factory.mktemp("models")
    folder = root / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(root))
    return session.create_client(
        "cloudwatch",
        region_name=REGION,
        endpoint_url=api.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_an_older_botocore_speaking_aws_query(query_cw: Any, cw: Any, job: dict[str, Any]) -> None:
    assert query_cw.meta.service_model.resolved_protocol == "query"
    for metric in ("validation:rmse", CUSTOM["Name"]):
        got = ask(query_cw, job, metric)["Datapoints"]
        assert close(got, expected(metric, 60))
        assert got == ask(cw, job, metric)["Datapoints"]
    answer = ask(query_cw, job, "validation:rmse", Statistics=None, ExtendedStatistics=["p50"])
    assert all("p50" in p["ExtendedStatistics"] for p in answer["Datapoints"])
    listed = query_cw.list_metrics(Namespace=NAMESPACE, MetricName="validation:rmse")["Metrics"]
    assert {"Name": "TrainingJobName", "Value": JOB} in [m["Dimensions"][0] for m in listed]
    with pytest.raises(query_cw.exceptions.InvalidParameterValueException):
        ask(query_cw, job, "validation:rmse", Period=45)


def test_signatures_are_checked_and_refusals_are_cloudwatch_errors(api_home: Path) -> None:
    secured = ApiServer(credentials={"AKIDCLOUDWATCH": "s3cr3t"})
    try:
        good = secured.client(
            "cloudwatch", aws_access_key_id="AKIDCLOUDWATCH", aws_secret_access_key="s3cr3t"
        )
        assert good.list_metrics(Namespace="AWS/EC2")["Metrics"] == []
        with pytest.raises(ClientError) as caught:
            secured.client("cloudwatch").list_metrics()  # an unknown key
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
        assert caught.value.response["Error"]["Code"]
        status, root = query(secured, {"Action": "ListMetrics"})
        assert status in (400, 403) and xml_text(root, "cw:Error/cw:Code")
    finally:
        secured.close()


# --- the SageMaker Python SDK -------------------------------------------------------------


@pytest.fixture(scope="module")
def session(api: ApiServer, api_home: Path) -> Iterator[Any]:
    """A ``sagemaker.Session`` whose SageMaker and CloudWatch calls go to the server."""
    sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")
    import boto3

    from .test_api_sdk import SDK_CONFIG

    config = api_home.parent / "cw-sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
        mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER", api.url)
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", api.url)
        mp.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        boto_session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        yield sagemaker.Session(
            boto_session=boto_session,
            sagemaker_client=boto_session.client("sagemaker"),
            default_bucket="unused",
        )


def test_sdk_training_job_analytics(session: Any, job: dict[str, Any]) -> None:
    from sagemaker.analytics import TrainingJobAnalytics
    from sagemaker.estimator import Estimator

    frame = TrainingJobAnalytics(JOB, sagemaker_session=session).dataframe()
    with_data = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]
                 if series(d["Name"])}  # fmt: skip
    assert set(frame["metric_name"]) == with_data
    for metric in with_data:
        rows = frame[frame["metric_name"] == metric]
        averages = [p["Average"] for p in expected(metric, 60)]
        assert [round(v, 9) for v in rows["value"]] == [round(v, 9) for v in averages]
        assert rows["timestamp"].iloc[0] == 0.0  # seconds since the first data point

    estimator = Estimator.attach(JOB, sagemaker_session=session)
    analytics = estimator.training_job_analytics
    assert analytics.name == JOB
    again = analytics.dataframe()
    assert (
        again.sort_values(["metric_name", "timestamp"])
        .reset_index(drop=True)
        .equals(frame.sort_values(["metric_name", "timestamp"]).reset_index(drop=True))
    )
    one = TrainingJobAnalytics(
        JOB, metric_names=["validation:rmse"], sagemaker_session=session, period=1
    ).dataframe()
    averages = [p["Average"] for p in expected("validation:rmse", 1)]
    assert list(one["value"]) == pytest.approx(averages)


def test_mutated_bodies_never_get_a_5xx(api: ApiServer, job: dict[str, Any]) -> None:
    import random

    rng = random.Random(14)
    good_json = json.dumps(
        {
            "Namespace": NAMESPACE,
            "MetricName": "validation:rmse",
            "Dimensions": [{"Name": "TrainingJobName", "Value": JOB}],
            "StartTime": 1700000000,
            "EndTime": 1700003600,
            "Period": 60,
            "ExtendedStatistics": ["p50"],
        }
    ).encode()
    good_form = (
        b"Action=GetMetricStatistics&Version=2010-08-01&Namespace=%2Faws%2Fsagemaker%2FTraining"
        b"Jobs&MetricName=m&Dimensions.member.1.Name=TrainingJobName&Dimensions.member.1.Value="
        b"j&StartTime=2024-01-01T00%3A00%3A00Z&EndTime=2024-01-01T01%3A00%3A00Z&Period=60"
        b"&Statistics.member.1=Average"
    )
    json_headers = {"X-Amz-Target": f"{JSON_TARGET}.GetMetricStatistics",
                    "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for good, headers in ((good_json, json_headers), (good_form, form_headers)):
        for _ in range(120):
            body = bytearray(good)
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(body))
                action = rng.random()
                if action < 0.4:
                    body[at] = rng.randrange(256)
                elif action < 0.7:
                    del body[at]
                else:
                    body[at:at] = rng.choice([b"[", b"{", b'"', b"\\u", b"%", b"&", b"=", b"."])
            status, _, _ = post(api, bytes(body), headers)
            assert status < 500, bytes(body)
