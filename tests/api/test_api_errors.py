"""Bad input gets AWS-shaped errors with SageMaker's codes, never a 500 (raw HTTP and boto3)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from .conftest import ROLE, XGBOOST_IMAGE, ApiServer, channel, training_request

KNOWN_CODES = {
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
    "ResourceNotFound",
    "ResourceInUse",
    "ResourceLimitExceeded",
    "ResourceNotFoundException",
    "InvalidParameterException",
}


_CLIENTS: dict[str, httpx.Client] = {}


def post(api: ApiServer, target: str | None, body: bytes | str) -> httpx.Response:
    """A raw AWS JSON request over a keep-alive connection."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    client = _CLIENTS.get(api.url)
    if client is None:
        client = _CLIENTS[api.url] = httpx.Client(base_url=api.url, timeout=30)
    return client.post("/", content=body, headers=headers)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    payload = response.json()
    return response.status_code, payload["__type"], payload["message"]


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --- protocol -----------------------------------------------------------------------------------


def test_malformed_json_is_a_serialization_exception(api: ApiServer) -> None:
    status, code, message = error_of(post(api, "SageMaker.ListTrainingJobs", b"{not json"))
    assert (status, code) == (400, "SerializationException")
    assert "not valid JSON" in message


def test_a_body_that_is_not_an_object_is_a_serialization_exception(api: ApiServer) -> None:
    status, code, _ = error_of(post(api, "SageMaker.ListTrainingJobs", b"[1, 2]"))
    assert (status, code) == (400, "SerializationException")


def test_an_empty_body_reads_as_an_empty_request(api: ApiServer) -> None:
    response = post(api, "SageMaker.ListModels", b"")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.json() == {"Models": []}


@pytest.mark.parametrize("target", ["SageMaker.CreateSpaceship", "Nope.ListModels", "", None])
def test_unknown_operation(api: ApiServer, target: str | None) -> None:
    status, code, _ = error_of(post(api, target, b"{}"))
    assert (status, code) == (400, "UnknownOperationException")


def test_unknown_path_is_a_404_in_aws_shape(api: ApiServer) -> None:
    response = httpx.get(api.url + "/no/such/thing", timeout=10)
    assert response.status_code == 404
    assert response.json()["__type"] == "UnknownOperationException"


# --- request shapes (what botocore does not check on the client) --------------------------------


def test_missing_required_members_are_listed(api: ApiServer) -> None:
    status, code, message = error_of(
        post(api, "SageMaker.CreateTrainingJob", json.dumps({"TrainingJobName": "j"}))
    )
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("5 validation errors detected:")
    expected = "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    assert expected in message
    assert "'algorithmSpecification'" in message


def test_wrong_types_are_validation_errors(api: ApiServer) -> None:
    status, code, message = error_of(
        post(
            api,
            "SageMaker.ListTrainingJobs",
            json.dumps({"MaxResults": "ten", "CreationTimeAfter": {"a": 1}}),
        )
    )
    assert (status, code) == (400, "ValidationException")
    assert "Value 'ten' at 'maxResults'" in message and "be of type integer" in message
    assert "'creationTimeAfter'" in message


def test_nested_member_paths_are_named(api: ApiServer) -> None:
    request = training_request("nested", XGBOOST_IMAGE, [channel("train", "/tmp/x")], "/tmp/o")
    request["InputDataConfig"][0]["ChannelName"] = "bad channel!"
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Streaming"
    _, code, message = error_of(post(api, "SageMaker.CreateTrainingJob", json.dumps(request)))
    assert code == "ValidationException"
    assert "'inputDataConfig.1.member.channelName'" in message
    assert "satisfy enum value set: [Pipe, File, FastFile]" in message


def test_over_long_names_are_refused(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.describe_training_job(TrainingJobName="a" * 64)
    assert code_of(exc) == "ValidationException"
    assert "length less than or equal to 63" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="t" * 33)
    assert "length less than or equal to 32" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize("name", ["under_score", "-leading", "trailing-", "spa ce", "dot.ted"])
def test_names_that_break_the_pattern_are_refused(sm: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint(EndpointName=name, EndpointConfigName="cfg")
    assert code_of(exc) == "ValidationException"
    message = exc.value.response["Error"]["Message"]
    assert "at 'endpointName'" in message and "regular expression pattern" in message


def test_enums_and_bounds_are_enforced(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.list_endpoints(SortBy="Colour")
    assert "satisfy enum value set" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sm.list_models(MaxResults=101)
    assert "less than or equal to 100" in exc.value.response["Error"]["Message"]


def test_a_bad_next_token_is_a_validation_error(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.list_training_jobs(NextToken="garbage")
    assert code_of(exc) == "ValidationException"


def _wrong(shape: Any) -> Any:
    from openmaker.api import shapes as s

    return 12345 if isinstance(shape, s.String) else "wrong"


def test_no_operation_answers_500_to_wrong_types(api: ApiServer) -> None:
    """Every declared member of every operation, given a value of the wrong type."""
    from openmaker.api import shapes as s
    from openmaker.api.operations import operations

    for target, op in operations().items():
        for member, shape in op.input.members.items():
            if isinstance(shape, s.Anything):
                continue
            response = post(api, target, json.dumps({member: _wrong(shape)}))
            assert response.status_code == 400, (target, member, response.text)
            assert response.json()["__type"] in KNOWN_CODES, (target, member)


def test_no_operation_answers_500_to_an_empty_request(api: ApiServer) -> None:
    from openmaker.api.operations import operations

    for target, op in operations().items():
        response = post(api, target, b"{}")
        if target.startswith("Logs_"):  # CloudWatch Logs' code for bad arguments
            assert response.status_code == 400, target
            assert response.json()["__type"] == "InvalidParameterException", target
        elif op.input.required:
            assert response.status_code == 400, target
            assert response.json()["__type"] == "ValidationException", target
        else:
            assert response.status_code == 200, (target, response.text)


# --- SageMaker's codes for missing and duplicate resources --------------------------------------


@pytest.mark.parametrize(
    ("call", "kwargs", "code"),
    [
        ("describe_training_job", {"TrainingJobName": "missing"}, "ValidationException"),
        ("describe_model", {"ModelName": "missing"}, "ValidationException"),
        ("describe_endpoint_config", {"EndpointConfigName": "missing"}, "ValidationException"),
        ("describe_endpoint", {"EndpointName": "missing"}, "ValidationException"),
        ("delete_endpoint", {"EndpointName": "missing"}, "ValidationException"),
        ("describe_transform_job", {"TransformJobName": "missing"}, "ValidationException"),
        ("describe_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "m"}, None),
        ("stop_training_job", {"TrainingJobName": "missing"}, "ResourceNotFound"),
        ("stop_transform_job", {"TransformJobName": "missing"}, "ResourceNotFound"),
        ("describe_algorithm", {"AlgorithmName": "no-such-algo"}, "ValidationException"),
    ],
)
def test_missing_resources(sm: Any, call: str, kwargs: dict[str, str], code: str | None) -> None:
    if code is None:  # modelled: boto3 raises the typed exception
        with pytest.raises(sm.exceptions.ResourceNotFound):
            getattr(sm, call)(**kwargs)
        return
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(**kwargs)
    assert code_of(exc) == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_sdk_message_shapes_for_missing_hosting_resources(sm: Any) -> None:
    """The SDK tells "does not exist" by "Could not find" in a ValidationException."""
    for call, kwargs in [
        ("describe_model", {"ModelName": "gone"}),
        ("describe_endpoint_config", {"EndpointConfigName": "gone"}),
        ("describe_endpoint", {"EndpointName": "gone"}),
    ]:
        with pytest.raises(ClientError) as exc:
            getattr(sm, call)(**kwargs)
        assert "Could not find" in exc.value.response["Error"]["Message"]


def test_unknown_image_and_bad_hyperparameter(sm: Any, tmp_path: Any) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,2,3\n")
    request = training_request(
        "bad-image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-own:latest",
        [channel("train", str(data))], str(tmp_path / "out"),
    )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        sm.create_training_job(**request)
    assert code_of(exc) == "ValidationException"
    assert "my-own" in exc.value.response["Error"]["Message"]

    request = training_request(
        "bad-hp", XGBOOST_IMAGE, [channel("train", str(data))], str(tmp_path / "out"),
        {"num_round": "ten"},
    )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        sm.create_training_job(**request)
    assert code_of(exc) == "ValidationException"
    assert "num_round" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName="bad-hp")  # nothing was recorded


def test_endpoint_config_for_a_missing_model(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="cfg",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "ghost"}],
        )
    assert code_of(exc) == "ValidationException"
    assert "ghost" in exc.value.response["Error"]["Message"]


def test_shadow_variants_are_refused_not_ignored(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="shadow",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m"}],
            ShadowProductionVariants=[{"VariantName": "Shadow", "ModelName": "m"}],
        )
    assert code_of(exc) == "ValidationException"
    assert "ShadowProductionVariants is not supported" in exc.value.response["Error"]["Message"]


def test_tags_on_unknown_arns(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:000000000000:model/nothing")
    assert code_of(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sm.add_tags(
            ResourceArn="arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/x",
            Tags=[{"Key": "k", "Value": "v"}],
        )
    assert code_of(exc) == "ValidationException"


def test_role_arn_pattern(api: ApiServer, tmp_path: Any) -> None:
    request = training_request("role", XGBOOST_IMAGE, [channel("train", "/x")], "/o")
    request["RoleArn"] = "arn:aws:iam::123:role/too-short-account"
    _, code, message = error_of(post(api, "SageMaker.CreateTrainingJob", json.dumps(request)))
    assert code == "ValidationException" and "'roleArn'" in message
    assert ROLE  # the valid form used everywhere else


def test_logs_errors_use_the_logs_codes(api: ApiServer) -> None:
    logs = api.client("logs")
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(logGroupName="/aws/lambda/whatever")
    assert code_of(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="nope/algo-1-1"
        )
    assert code_of(exc) == "ResourceNotFoundException"
