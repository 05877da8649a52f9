"""Malformed input at every route of ``openmaker server``: zero 5xx, AWS-shaped errors.

Generated deterministically by :mod:`openmaker.testing.malformed` and sent over HTTP to the
real server (uvicorn): every control-plane operation (SageMaker and CloudWatch Logs) gets
undecodable bodies and its request shape with a wrong type at every level; the runtime gets
malformed model input for an XGBoost and a K-Means endpoint; the S3 subset gets XML bombs and
broken XML for DeleteObjects and CompleteMultipartUpload, and broken checksum, chunked-encoding
and range headers; raw sockets send broken HTTP framing; ``--auth`` gets broken signatures.
After each batch the server still answers a good request.
"""

from __future__ import annotations

import re
import socket
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from openmaker.api import shapes as s
from openmaker.api.operations import operations
from openmaker.testing.malformed import (
    Case,
    json_bodies,
    model_bodies,
    mutations,
    raw_http,
    xml_bodies,
)
from openmaker.testing.problems import encode_request

from .conftest import ROLE, XGBOOST_IMAGE, ApiServer

KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
#: Every code a control-plane error may carry (never InternalFailure).
CONTROL_CODES = {
    "ValidationException",
    "SerializationException",
    "ResourceNotFound",
    "ResourceInUse",
    "ResourceLimitExceeded",
    "ResourceNotFoundException",
    "InvalidParameterException",
}
OPERATIONS = operations()


@pytest.fixture(scope="module")
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=60) as client:
        yield client


def _control(http: httpx.Client, target: str, body: bytes) -> httpx.Response:
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return http.post("/", content=body, headers=headers)


def _control_error(response: httpx.Response) -> str | None:
    """What is wrong with a control-plane answer (None: a 2xx, or a well-formed 4xx)."""
    if response.status_code < 300:
        return None
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:200]}"
    try:
        payload = response.json()
    except ValueError:
        return f"{response.status_code} with a body that is not JSON: {response.text[:100]}"
    code = payload.get("__type")
    if code not in CONTROL_CODES or not isinstance(payload.get("message"), str):
        return f"{response.status_code} with code {code!r}: {response.text[:200]}"
    if response.headers.get("x-amzn-errortype") != code:
        return f"x-amzn-errortype {response.headers.get('x-amzn-errortype')!r} != {code!r}"
    return None


def _still_serves(http: httpx.Client) -> None:
    response = _control(http, "SageMaker.ListModels", b"{}")
    assert response.status_code == 200, response.text
    assert "Models" in response.json()


# --- the control plane: undecodable bodies --------------------------------------------------


def test_the_issue_case_is_a_serialization_exception(http: httpx.Client) -> None:
    response = _control(http, "SageMaker.ListTrainingJobs", b"[" * 5000)
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"
    assert "nested more than 64 levels" in response.json()["message"]
    _still_serves(http)


def test_a_body_over_the_limit_is_a_serialization_exception(api: ApiServer) -> None:
    from openmaker.api.server import MAX_CONTROL_BODY

    body = b'{"NameContains": "' + b"a" * MAX_CONTROL_BODY + b'"}'
    headers = {"X-Amz-Target": "SageMaker.ListModels", "Connection": "close"}
    response = httpx.post(api.url + "/", content=body, headers=headers, timeout=60)
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"


#: Big bodies are sent to a few operations only (the decoder does not depend on the target).
BIG = 64 * 1024
ALL_CASES = json_bodies({"NameContains": "abc", "MaxResults": 10, "SortOrder": "Ascending"})


@pytest.mark.parametrize("target", sorted(OPERATIONS))
def test_undecodable_bodies_at_every_operation(http: httpx.Client, target: str) -> None:
    few = target in (
        "SageMaker.ListModels",
        "SageMaker.CreateTrainingJob",
        "Logs_20140328.GetLogEvents",
    )
    failures = []
    for case in ALL_CASES:
        if len(case.body) > BIG and not few:
            continue
        response = _control(http, target, case.body)
        problem = _control_error(response)
        refused = response.status_code == 400 and "SerializationException" in response.text
        if problem is None and not case.decodable and not refused:
            problem = f"expected a SerializationException, got {response.text[:200]}"
        if problem is not None:
            failures.append(f"{case.name}: {problem}")
    assert not failures, "\n".join(failures)
    _still_serves(http)


# --- the control plane: every level of every request shape -----------------------------------


def _skeleton(shape: s.Shape) -> Any:
    """A value with every member of ``shape`` present (not necessarily valid)."""
    if isinstance(shape, s.Structure):
        return {name: _skeleton(member) for name, member in shape.members.items()}
    if isinstance(shape, s.ListOf):
        return [_skeleton(shape.member)]
    if isinstance(shape, s.MapOf):
        return {"key": _skeleton(shape.value)}
    if isinstance(shape, s.String):
        return shape.enum[0] if shape.enum else "a" * max(shape.min, 1)
    if isinstance(shape, s.Integer):
        return shape.min if shape.min is not None else 1
    if isinstance(shape, s.Float):
        return shape.min if shape.min is not None else 1.0
    if isinstance(shape, s.Boolean):
        return True
    if isinstance(shape, s.Timestamp):
        return 1_700_000_000
    return "x"


#: Strings tried, in order, for a member with a pattern (the first it accepts is used).
CANDIDATES = ("fuzz-x", ROLE, "s3://bucket/key", "arn:aws:sagemaker:us-east-1:000000000000:model/x",
              "ml.m5.large", "1", "a")  # fmt: skip


def _plausible(shape: s.Shape) -> Any:
    """Like :func:`_skeleton`, with strings that satisfy their member's pattern when one of
    :data:`CANDIDATES` does: the request then passes validation and reaches the handler."""
    if isinstance(shape, s.Structure):
        return {name: _plausible(member) for name, member in shape.members.items()}
    if isinstance(shape, s.ListOf):
        return [_plausible(shape.member)] * max(shape.min, 1)
    if isinstance(shape, s.MapOf):
        return {"key": _plausible(shape.value)}
    if isinstance(shape, s.String) and not shape.enum:
        for text in CANDIDATES:
            errors: list[str] = []
            shape.load(text, "", errors)
            if not errors:
                return text
    return _skeleton(shape)


#: Operations that only read, or change what does not exist (no resource is named "fuzz-x"):
#: a valid request is harmless.
READS = ("SageMaker.List", "SageMaker.Describe", "SageMaker.Delete", "SageMaker.Stop",
         "SageMaker.Update")  # fmt: skip

MODEL_DATA = "file:///nonexistent/model.tar.gz"
#: Valid requests of cheap operations (no job or deployment starts), so mutations that stay
#: valid reach the handlers; the other operations get their shape's skeleton.
VALID: dict[str, dict[str, Any]] = {
    "SageMaker.CreateModel": {
        "ModelName": "fuzz-model",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": MODEL_DATA,
            "Environment": {"A": "b"},
        },
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    "SageMaker.CreateEndpointConfig": {
        "EndpointConfigName": "fuzz-config",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "no-such-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 50,
            "DestinationS3Uri": "file:///nonexistent/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
    },
    "SageMaker.CreateEndpoint": {"EndpointName": "fuzz-ep", "EndpointConfigName": "no-such-config"},
    "SageMaker.ListTrainingJobs": {
        "NameContains": "abc",
        "MaxResults": 10,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "StatusEquals": "Completed",
        "CreationTimeAfter": 1_600_000_000,
        "NextToken": "abc",
    },
    "SageMaker.DescribeTrainingJob": {"TrainingJobName": "no-such-job"},
    "SageMaker.DescribeEndpoint": {"EndpointName": "no-such-endpoint"},
    "SageMaker.AddTags": {
        "ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:model/no-such-model",
        "Tags": [{"Key": "k", "Value": "v"}],
    },
    "Logs_20140328.GetLogEvents": {
        "logGroupName": "/aws/sagemaker/TrainingJobs",
        "logStreamName": "no-such-job/algo-1-1",
        "startTime": 0,
        "endTime": 10,
        "nextToken": "f/0/0",
        "limit": 10,
        "startFromHead": True,
    },
    "Logs_20140328.DescribeLogStreams": {
        "logGroupName": "/aws/sagemaker/TrainingJobs",
        "logStreamNamePrefix": "no-such-job",
        "limit": 5,
        "descending": True,
    },
}


@pytest.mark.parametrize("target", sorted(OPERATIONS))
def test_wrong_types_at_every_level_of_every_shape(http: httpx.Client, target: str) -> None:
    import json

    shape = OPERATIONS[target].input
    base = VALID.get(target) or (
        _plausible(shape) if target.startswith(READS) else _skeleton(shape)
    )
    failures = []
    count = 0
    for what, request in mutations(base):
        count += 1
        problem = _control_error(_control(http, target, json.dumps(request).encode()))
        if problem is not None:
            failures.append(f"{what}: {problem}")
    assert count or not base, target
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:30])
    _still_serves(http)


def test_a_type_error_deep_inside_a_shape_names_its_path(http: httpx.Client) -> None:
    import json

    request = json.loads(json.dumps(VALID["SageMaker.CreateEndpointConfig"]))
    request["DataCaptureConfig"]["CaptureOptions"][0]["CaptureMode"] = ["Input"]
    response = _control(http, "SageMaker.CreateEndpointConfig", json.dumps(request).encode())
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
    assert "dataCaptureConfig.captureOptions.1.member.captureMode" in response.json()["message"]


def test_integers_beyond_the_models_range_are_refused(http: httpx.Client) -> None:
    for value in (2**31, 10**30):
        body = b'{"MaxResults": 1, "CreationTimeAfter": 0, "NameContains": "a"}'
        response = _control(http, "SageMaker.ListModels", body)
        assert response.status_code == 200
        request = {"EndpointConfigName": "c", "ProductionVariants": [
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": value}]}  # fmt: skip
        import json

        response = _control(http, "SageMaker.CreateEndpointConfig", json.dumps(request).encode())
        assert response.status_code == 400
        assert "less than or equal to 2147483647" in response.json()["message"]


# --- CloudWatch (GetMetricStatistics, ListMetrics): AWS JSON 1.0 and AWS Query ----------------

CLOUDWATCH = "GraniteServiceVersion20100801"
CLOUDWATCH_VALID = {
    "Namespace": "/aws/sagemaker/TrainingJobs",
    "MetricName": "train:loss",
    "Dimensions": [{"Name": "TrainingJobName", "Value": "no-such-job"}],
    "StartTime": 1_700_000_000,
    "EndTime": 1_700_003_600,
    "Period": 60,
    "Statistics": ["Average", "Maximum"],
    "Unit": "None",
}
#: CloudWatch's Query codes, and the error shapes its JSON 1.0 bodies name.
CLOUDWATCH_CODES = {
    "SerializationException", "UnknownOperationException", "InvalidParameterValueException",
    "MissingRequiredParameterException", "InvalidParameterCombinationException",
    "MalformedQueryString", "InvalidParameterValue", "MissingParameter",
    "InvalidParameterCombination", "InvalidAction", "MissingAction", "ResourceNotFound",
}  # fmt: skip


def _cloudwatch_error(response: httpx.Response) -> str | None:
    """What is wrong with a CloudWatch answer (None: a 2xx, or a 4xx in its protocol's shape)."""
    status = response.status_code
    if status < 300:
        return None
    if status >= 500:
        return f"{status}: {response.text[:200]}"
    if response.headers.get("content-type", "").startswith("text/xml"):
        found = re.search(r"<Code>([^<]+)</Code>", response.text)
        code = found.group(1) if found else None
    else:
        try:
            code = response.json().get("__type")
        except ValueError:
            return f"{status} with a body that is neither XML nor JSON: {response.text[:100]}"
    if code not in CLOUDWATCH_CODES:
        return f"{status} with code {code!r}: {response.text[:200]}"
    return None


@pytest.mark.parametrize("operation", ["GetMetricStatistics", "ListMetrics"])
def test_cloudwatch_json_bodies(http: httpx.Client, operation: str) -> None:
    import json

    headers = {"X-Amz-Target": f"{CLOUDWATCH}.{operation}",
               "Content-Type": "application/x-amz-json-1.0"}  # fmt: skip
    baseline = http.post("/", content=json.dumps(CLOUDWATCH_VALID).encode(), headers=headers)
    assert baseline.status_code == 200, baseline.text  # the mutations start from a valid request
    failures = []
    for case in json_bodies(CLOUDWATCH_VALID):
        response = http.post("/", content=case.body, headers=headers)
        problem = _cloudwatch_error(response)
        refused = response.status_code == 400 and "SerializationException" in response.text
        if problem is None and not case.decodable and not refused:
            problem = f"expected a SerializationException, got {response.text[:200]}"
        if problem is not None:
            failures.append(f"{case.name}: {problem}")
    for what, request in mutations(CLOUDWATCH_VALID):
        response = http.post("/", content=json.dumps(request).encode(), headers=headers)
        if (problem := _cloudwatch_error(response)) is not None:
            failures.append(f"{what}: {problem}")
    assert not failures, "\n".join(failures[:40])
    _still_serves(http)


def test_cloudwatch_query_parameters(http: httpx.Client) -> None:
    from urllib.parse import urlencode

    form = {"Action": "GetMetricStatistics", "Version": "2010-08-01",
            "Namespace": "/aws/sagemaker/TrainingJobs", "MetricName": "train:loss",
            "Dimensions.member.1.Name": "TrainingJobName",
            "Dimensions.member.1.Value": "no-such-job",
            "StartTime": "2024-01-01T00:00:00Z", "EndTime": "2024-01-01T01:00:00Z",
            "Period": "60", "Statistics.member.1": "Average"}  # fmt: skip
    values = ["", "x" * 20_000, "\x00", "-1", "0", "9" * 5000, "NaN", "inf", "1e999", "true",
              "2024-13-45T99:99:99Z", "\u202e\U0001f600", "%zz", "Dimensions.member.1"]  # fmt: skip
    bodies: list[tuple[str, bytes]] = []
    for name in form:
        for value in values:
            bodies.append((f"{name}={value[:20]!r}", urlencode({**form, name: value}).encode()))
    extra_keys = ["Dimensions.member.99999999999.Name", "Dimensions.member.-1.Name",
                  "Dimensions.member.x.Name", "Statistics.member.1.Deeper", "Dimensions.member.",
                  "Statistics.member." + "9" * 5000, ".", "Dimensions..Name"]  # fmt: skip
    for key in extra_keys:
        bodies.append((f"key {key[:30]!r}", urlencode({**form, key: "v"}).encode()))
    bodies += [
        ("invalid UTF-8", urlencode(form).encode() + b"&Namespace=%ff%fe\xff"),
        ("raw invalid UTF-8", b"Action=ListMetrics&Namespace=\xff\xfe"),
        ("2,000 parameters", "&".join(f"p{i}=v" for i in range(2000)).encode()),
        ("no Action", b"Version=2010-08-01"),
        ("unknown Action", b"Action=DeleteEverything"),
        ("an Action of 100,000 characters", b"Action=" + b"A" * 100_000),
        ("random bytes", bytes(range(256)) * 4),
        ("a 2 MiB body", b"Action=ListMetrics&Namespace=" + b"a" * (2 << 20)),
    ]
    failures = []
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for what, body in bodies:
        if problem := _cloudwatch_error(http.post("/", content=body, headers=form_type)):
            failures.append(f"POST {what}: {problem}")
    for query in (
        "Action=ListMetrics&Namespace=%ff",
        "Action=GetMetricStatistics&Period=x",
        "Action=" + "A" * 5000,
        "Action=ListMetrics&" + "&".join(["a=b"] * 2000),
    ):
        if (problem := _cloudwatch_error(http.get(f"/?{query}"))) is not None:
            failures.append(f"GET ?{query[:40]}: {problem}")
    assert not failures, "\n".join(failures[:40])
    _still_serves(http)


# --- the runtime ---------------------------------------------------------------------------


def _xgboost_model(folder: Path) -> str:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4)).astype("float32")
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(X, X.sum(axis=1)),
        3,
    )
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / "xgboost-model.ubj"))
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(folder / "xgboost-model.ubj", arcname="xgboost-model")
    return str(folder / "model.tar.gz")


def _kmeans_model(folder: Path) -> str:
    from openmaker.algorithms import registry
    from openmaker.testing.conformance import train_once
    from openmaker.testing.problems import make_problem

    spec = registry.get("kmeans")
    problem = make_problem("unsupervised", n=60, d=4)
    hyperparameters = {"k": "2", "feature_dim": "4", "mini_batch_size": "20"}
    content_type = spec.channel("train").content_types[0]
    model_dir, _ = train_once(spec, problem, content_type, "File", folder, hyperparameters)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        for path in Path(model_dir).iterdir():
            tar.add(path, arcname=path.name)
    return str(folder / "model.tar.gz")


@pytest.fixture(scope="module")
def endpoints(api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Endpoints in service: ``fz-xgb`` (XGBoost), ``fz-km`` (K-Means) and ``fz-async``
    (the XGBoost model with an AsyncInferenceConfig)."""
    sm = api.client("sagemaker")
    uris = {
        "fz-xgb": (XGBOOST_IMAGE, _xgboost_model(tmp_path_factory.mktemp("xgb"))),
        "fz-km": (KMEANS_IMAGE, _kmeans_model(tmp_path_factory.mktemp("km"))),
    }
    for name, (image, uri) in uris.items():
        sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": image, "ModelDataUrl": uri},
        )  # fmt: skip
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name,
                                 "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        )  # fmt: skip
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    output = tmp_path_factory.mktemp("async-out")
    sm.create_endpoint_config(
        EndpointConfigName="fz-async",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "fz-xgb",
                             "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": output.as_uri()}},
    )  # fmt: skip
    sm.create_endpoint(EndpointName="fz-async", EndpointConfigName="fz-async")
    deadline = time.monotonic() + 120
    for name in [*uris, "fz-async"]:
        while (status := sm.describe_endpoint(EndpointName=name)["EndpointStatus"]) != "InService":
            assert status == "Creating" and time.monotonic() < deadline, status
            time.sleep(0.1)
    yield {name: image for name, (image, _) in uris.items()}
    for name in [*uris, "fz-async"]:
        sm.delete_endpoint(EndpointName=name)


def _runtime_error(response: httpx.Response) -> str | None:
    """What is wrong with a runtime answer to bad input (None: a 2xx or a documented 4xx)."""
    status = response.status_code
    if status < 300:
        return None
    if status not in (400, 413, 415):
        return f"{status}: {response.text[:200]}"
    if response.headers.get("x-amzn-errortype") != "ValidationError":
        return f"{status} with x-amzn-errortype {response.headers.get('x-amzn-errortype')!r}"
    payload = response.json()
    if not isinstance(payload.get("message"), str) or payload.get("Message") != payload["message"]:
        return f"{status} with a malformed error body: {response.text[:200]}"
    return None


def _good_invocation(http: httpx.Client, name: str) -> None:
    response = http.post(
        f"/endpoints/{name}/invocations", content=b"0.5,1,2,3", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", ["fz-xgb", "fz-km"])
def test_malformed_model_input(http: httpx.Client, endpoints: dict[str, str], name: str) -> None:
    X = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    types = ["text/csv", "application/json", "application/jsonlines",
             "application/x-recordio-protobuf", "application/x-npy"]  # fmt: skip
    if name == "fz-xgb":
        types.append("text/libsvm")
    valid = {ct: encode_request(X, ct) for ct in types}
    cases = model_bodies(valid)
    cases += [("image/png", Case("an unsupported type", b"\x89PNG")), ("", Case("none", b"1,2"))]
    failures = []
    for content_type, case in cases:
        response = http.post(
            f"/endpoints/{name}/invocations",
            content=case.body,
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        problem = _runtime_error(response)
        if problem is not None:
            failures.append(f"{content_type} / {case.name}: {problem}")
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures)
    _good_invocation(http, name)


def test_bad_runtime_headers(http: httpx.Client, endpoints: dict[str, str]) -> None:
    path = "/endpoints/fz-xgb/invocations"
    headers_list = [
        {"Content-Type": "text/csv", "Accept": "image/png"},
        {"Content-Type": "text/csv", "Accept": ",,;;"},
        {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "NoSuchVariant"},
        {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "x" * 10_000},
        {"Content-Type": "text/csv", "X-Amzn-SageMaker-Custom-Attributes": b"\xff" * 2000},
    ]
    failures = []
    for headers in headers_list:
        response = http.post(path, content=b"1,2,3,4", headers=headers)
        problem = _runtime_error(response)
        if problem is not None:
            failures.append(f"{headers}: {problem}")
    for name in ("no-such-endpoint", "%00", "a" * 5000, "..%2F..%2Fetc"):
        problem = _runtime_error(http.post(f"/endpoints/{name}/invocations", content=b"1,2"))
        if problem is not None:
            failures.append(f"endpoint {name[:20]!r}: {problem}")
    response = http.post("/endpoints/fz-xgb/async-invocations", content=b"1,2,3,4")
    if (problem := _runtime_error(response)) is not None:
        failures.append(f"async on a real-time endpoint: {problem}")
    assert not failures, "\n".join(failures)
    _good_invocation(http, "fz-xgb")


def test_bad_async_invocation_headers(http: httpx.Client, endpoints: dict[str, str]) -> None:
    path = "/endpoints/fz-async/async-invocations"
    base = {"X-Amzn-SageMaker-Content-Type": "text/csv"}
    cases: list[tuple[dict[str, str], bytes]] = [
        ({}, b""),
        ({"X-Amzn-SageMaker-InputLocation": "file:///nonexistent/in.csv"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-RequestTTLSeconds": "abc"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-RequestTTLSeconds": "9" * 5000}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-InvocationTimeoutSeconds": "-1"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-S3OutputPathExtension": "../../etc"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-S3OutputPathExtension": "a//b"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-Filename": "a/b"}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-Filename": ".."}, b"1,2,3,4"),
        ({"X-Amzn-SageMaker-Inference-Id": "x" * 65}, b"1,2,3,4"),
        ({}, b"1" * 200_000),
        # accepted (202): the failure is written to the failure location, not answered
        ({"X-Amzn-SageMaker-InputLocation": "\xff\xfe://\xa0"}, b""),
        ({}, b"[" * 5000),
    ]
    failures = []
    for headers, body in cases:
        response = http.post(path, content=body, headers=_latin1({**base, **headers}))
        if response.status_code != 202 and (problem := _runtime_error(response)) is not None:
            failures.append(f"{headers} / {len(body)} bytes: {problem}")
    assert not failures, "\n".join(failures)
    _good_invocation(http, "fz-xgb")


# --- the S3 subset -------------------------------------------------------------------------


def _s3_error(response: httpx.Response, expected: str | None = None) -> str | None:
    """What is wrong with an S3 answer (None: a 2xx, or a 4xx with S3's error XML)."""
    status = response.status_code
    if status < 300:
        return None if expected is None else f"accepted ({status}), expected {expected}"
    if status >= 500:
        return f"{status}: {response.text[:200]}"
    found = re.search(r"<Code>([^<]+)</Code>", response.text)
    if not found or "<RequestId>" not in response.text:
        return f"{status} without S3 error XML: {response.text[:200]}"
    if expected is not None and found.group(1) != expected:
        return f"{status} {found.group(1)}, expected {expected}: {response.text[:200]}"
    return None


def _latin1(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as bytes (httpx sends str values as ASCII only)."""
    return {name: value.encode("latin-1") for name, value in headers.items()}


@pytest.fixture(scope="module")
def bucket(http: httpx.Client) -> str:
    assert http.put("/s3/fuzz-bucket").status_code == 200
    assert http.put("/s3/fuzz-bucket/key", content=b"data").status_code == 200
    return "/s3/fuzz-bucket"


def test_xml_bodies_are_malformed_xml(http: httpx.Client, bucket: str) -> None:
    delete = b"<Delete><Object><Key>key</Key></Object><Quiet>true</Quiet></Delete>"
    created = http.post(f"{bucket}/upload?uploads")
    assert created.status_code == 200, created.text
    found = re.search(r"<UploadId>([^<]+)</UploadId>", created.text)
    assert found is not None, created.text
    upload_id = found.group(1)
    complete = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
        b"</CompleteMultipartUpload>"
    )
    failures = []
    for url, root, valid in (
        (f"{bucket}?delete", "Delete", delete),
        (f"{bucket}/upload?uploadId={upload_id}", "CompleteMultipartUpload", complete),
    ):
        for case in xml_bodies(root, valid):
            started = time.monotonic()
            response = http.post(url, content=case.body)
            # a well-formed document may be refused for its content (InvalidPart...)
            problem = _s3_error(response, None if case.decodable else "MalformedXML")
            if problem is None and time.monotonic() - started > 5:
                problem = f"took {time.monotonic() - started:.1f} s"
            if problem is not None:
                failures.append(f"{root} / {case.name}: {problem}")
    assert not failures, "\n".join(failures)
    assert http.get(f"{bucket}/key").content == b"data"


LAST = b"0\r\n\r\n"


def _chunked(**headers: str) -> dict[str, str]:
    return {"Content-Encoding": "aws-chunked", **headers}


def test_bad_integrity_and_range_headers(http: httpx.Client, bucket: str) -> None:
    put = [
        ({"Content-MD5": "not base64!"}, b"x", "InvalidDigest"),
        ({"Content-MD5": "AAAA"}, b"x", "InvalidDigest"),
        ({"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, b"x", "BadDigest"),
        ({"x-amz-checksum-crc32": "%%%"}, b"x", "InvalidDigest"),
        ({"x-amz-checksum-sha256": "AAAA"}, b"x", "InvalidDigest"),
        ({"x-amz-content-sha256": "0" * 64}, b"x", "XAmzContentSHA256Mismatch"),
        (_chunked(), b"zz\r\nxx\r\n", "IncompleteBody"),
        (_chunked(), b"ffffffffffffffffffffff\r\nx", "IncompleteBody"),
        (_chunked(), b"1\r\nxyz\r\n0\r\n\r\n", "IncompleteBody"),
        (_chunked(), b"1" * 10_000, "IncompleteBody"),
        (_chunked(), b"1\r\nx\r\n", "IncompleteBody"),
        (_chunked(**{"x-amz-decoded-content-length": "-1"}), LAST, "InvalidArgument"),
        (_chunked(**{"x-amz-decoded-content-length": "9" * 5000}), LAST, "InvalidArgument"),
        (_chunked(**{"x-amz-decoded-content-length": "5"}), LAST, "IncompleteBody"),
        (_chunked(**{"x-amz-trailer": "x-amz-checksum-nope"}), LAST, "InvalidArgument"),
        (_chunked(**{"x-amz-trailer": "x-amz-checksum-crc32"}), LAST, "IncompleteBody"),
        (_chunked(**{"x-amz-trailer": "x-amz-checksum-crc32"}),
         b"0\r\nx-amz-checksum-crc32:%%%\r\n\r\n", "InvalidDigest"),
        (_chunked(), b"0\r\nno colon here\r\n\r\n", "IncompleteBody"),
        ({"x-amz-copy-source": "%zz"}, b"", None),
        ({"x-amz-copy-source": "/fuzz-bucket"}, b"", None),
        ({"x-amz-copy-source": "/fuzz-bucket/no-such-key"}, b"", None),
        ({"x-amz-copy-source": "/fuzz-bucket/key", "x-amz-copy-source-range": "bytes=9-1"},
         b"", None),
        ({"x-amz-copy-source": "/fuzz-bucket/key",
          "x-amz-copy-source-if-modified-since": "\xff"}, b"", None),
    ]  # fmt: skip
    failures = []
    for headers, body, code in put:
        response = http.put(f"{bucket}/target", content=body, headers=_latin1(headers))
        problem = _s3_error(response, code)
        if problem is not None:
            failures.append(f"PUT {headers}: {problem}")
    part_queries = (
        "uploadId=nope&partNumber=abc",
        "uploadId=nope&partNumber=" + "9" * 20,
        "uploadId=nope&partNumber=" + "9" * 5000,
        "partNumber=-1&uploadId=%00",
    )
    for query in part_queries:
        problem = _s3_error(http.put(f"{bucket}/target?{query}", content=b"x"))
        if problem is not None:
            failures.append(f"PUT ?{query[:40]}: {problem}")
    for value in ("bytes=", "bytes=abc", "bytes=5-1", "bytes=99999999999999999999-",
                  "bytes=-" + "9" * 5000, "lines=0-1", "bytes=0-1,2-3", "\xff"):  # fmt: skip
        problem = _s3_error(http.get(f"{bucket}/key", headers=_latin1({"Range": value})))
        if problem is not None:
            failures.append(f"Range {value[:30]!r}: {problem}")
    for headers in ({"If-Modified-Since": "garbage"}, {"If-Unmodified-Since": "\xfe\xff"},
                    {"If-Match": ""}, {"If-None-Match": '"' * 1000}):  # fmt: skip
        problem = _s3_error(http.get(f"{bucket}/key", headers=_latin1(headers)))
        if problem is not None:
            failures.append(f"GET {headers}: {problem}")
    for query in ("list-type=2&max-keys=abc", "list-type=2&max-keys=-1",
                  "list-type=2&max-keys=" + "9" * 5000, "list-type=2&continuation-token=%%%",
                  "list-type=2&continuation-token=" + "A" * 5000, "list-type=2&start-after=%00",
                  "list-type=2&prefix=%ff%fe&delimiter=%00", "max-keys=1&marker=" + "\u202e" * 10,
                  "uploads&max-uploads=abc", "list-type=2&encoding-type=klingon"):  # fmt: skip
        problem = _s3_error(http.get(f"{bucket}?{query}"))
        if problem is not None:
            failures.append(f"GET ?{query[:40]}: {problem}")
    for key in ("%00", "a" * 2000, "%2E%2E/%2E%2E/etc/passwd", "%ff%fe", "a/" * 600):
        problem = _s3_error(http.put(f"{bucket}/{key}", content=b"x"))
        if problem is not None:
            failures.append(f"PUT key {key[:20]!r}: {problem}")
    assert not failures, "\n".join(failures)
    assert http.get(f"{bucket}/key").content == b"data"


# --- HTTP framing --------------------------------------------------------------------------


def _raw(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, and read what the server answers (b"" when it hangs up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server closed the connection first
            pass
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/", {"X-Amz-Target": "SageMaker.ListModels"}, b"{}"),
        ("/endpoints/fz-xgb/invocations", {"Content-Type": "text/csv"}, b"1,2,3,4"),
        ("/s3/fuzz-bucket?delete", {}, b"<Delete><Object><Key>k</Key></Object></Delete>"),
    ],
    ids=["control", "runtime", "s3"],
)
def test_broken_http_framing(
    api: ApiServer, http: httpx.Client, endpoints: dict[str, str], bucket: str,
    path: str, headers: dict[str, str], body: bytes,
) -> None:  # fmt: skip
    failures = []
    for case in raw_http(path, headers, body):
        answer = _raw(api.port, case.body)
        for status in re.findall(rb"^HTTP/1\.[01] (\d{3})", answer, flags=re.M):
            if int(status) >= 500:
                failures.append(f"{case.name}: {answer[:300]!r}")
    assert not failures, "\n".join(failures)
    _still_serves(http)
    _good_invocation(http, "fz-xgb")


# --- --auth ---------------------------------------------------------------------------------


def test_sigv4_verification_raises_only_auth_errors() -> None:
    from datetime import UTC, datetime

    from openmaker.api import auth

    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    date = "20240501T120000Z"
    good_credential = "AKID/20240501/us-east-1/sagemaker/aws4_request"
    authorizations = [
        "", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 garbage",
        f"AWS4-HMAC-SHA256 Credential={good_credential}",
        f"AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=host, Signature=",
        f"AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=host, Signature=zz",
        f"AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=, Signature=00",
        f"AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=x-amz-date, Signature=00",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=////aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=" + "/" * 5000 + ", SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKID/\xff\xfe/us/s/aws4_request, SignedHeaders=host, "
        "Signature=0",
        "AWS4-HMAC-SHA256 Credential==,SignedHeaders==,Signature==",
        "AWS4-HMAC-SHA256 " + "Credential=x, " * 5000,
    ]  # fmt: skip
    dates = [
        date,
        "",
        "garbage",
        "20240501",
        "99999999T999999Z",
        "2024050\x00T120000Z",
        "\xff" * 20,
    ]
    failures = []
    for authorization in authorizations:
        for amz_date in dates:
            headers = {"Authorization": authorization, "X-Amz-Date": amz_date, "Host": "h"}
            for extra in ({}, {"x-amz-content-sha256": "zz"}, {"Date": "\x00garbage"}):
                try:
                    auth.verify(
                        "POST", "/", "", {**headers, **extra}, b"{}", {"AKID": "s"}, now=now
                    )
                except auth.AuthError:
                    continue
                except Exception as exc:
                    failures.append(f"{authorization[:60]!r} / {amz_date!r}: {type(exc).__name__}")
                else:
                    failures.append(f"{authorization[:60]!r} / {amz_date!r}: accepted")
    presign = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={}&X-Amz-Expires={}"
    presign += "&X-Amz-SignedHeaders=host&X-Amz-Signature=0"
    for query in ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Signature=00",
                  presign.format("a%2Fb", "x", "1"),
                  presign.format(good_credential, date, "9" * 5000),
                  presign.format(good_credential, date, "-5"),
                  presign.format(good_credential, "2024\xff", "10"),
                  "X-Amz-Algorithm=%ff%fe&X-Amz-Signature=%00",
                  "&&&==&X-Amz-Signature"):  # fmt: skip
        try:
            auth.verify("GET", "/s3/b/k", query, {"Host": "h"}, None, {"AKID": "s"}, now=now)
        except auth.AuthError:
            continue
        except Exception as exc:
            failures.append(f"query {query[:60]!r}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def secured(api_home: Path) -> Iterator[ApiServer]:
    server = ApiServer(credentials={"AKIDFUZZ": "fuzz-secret"})
    try:
        yield server
    finally:
        server.close()


def test_auth_mode_answers_broken_signatures_with_4xx(secured: ApiServer) -> None:
    authorizations = [
        "garbage", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/x/y/z/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20240501/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=\xff\xfe, SignedHeaders=\xe9, Signature=\xa0",
    ]  # fmt: skip
    failures = []
    with httpx.Client(base_url=secured.url, timeout=30) as client:
        for authorization in authorizations:
            for date in ("20240501T120000Z", "garbage", ""):
                headers = {"Authorization": authorization, "X-Amz-Date": date}
                for path, extra in (
                    ("/", {"X-Amz-Target": "SageMaker.ListModels"}),
                    ("/endpoints/fz/invocations", {"Content-Type": "text/csv"}),
                    ("/s3/fuzz-bucket?delete", {}),
                ):
                    sent = _latin1({**headers, **extra})
                    response = client.post(path, content=b"{}", headers=sent)
                    if not 400 <= response.status_code < 500:
                        failures.append(f"{path} {authorization[:40]!r}: {response.status_code}")
        response = client.get(
            "/s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=" + "9" * 5000
        )
        if not 400 <= response.status_code < 500:
            failures.append(f"presigned: {response.status_code} {response.text[:100]}")
    assert not failures, "\n".join(failures)
