"""Bad input gets AWS-shaped errors with SageMaker's codes, never a 500 (raw HTTP and boto3)."""

from __future__ import annotations

import json
import re
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


# --- SageMaker's codes and words for missing and duplicate resources ---------------------------

_ARN = r'"arn:aws:sagemaker:us-east-1:\d{12}:'
_TRAINING = ("ValidationException", r"Requested resource not found\.")
_TUNING = (
    "ResourceNotFound",
    r"Amazon SageMaker can't find a tuning job called Gone-1\. Type another name\.",
)
_TRANSFORM = ("ValidationException", r"Could not find requested job with name Gone-1")
_MODEL = ("ValidationException", rf'Could not find model {_ARN}model/gone-1"\.')
_CONFIG = (
    "ValidationException",
    rf'Could not find endpoint configuration {_ARN}endpoint-config/gone-1"\.',
)
_ENDPOINT = ("ValidationException", rf'Could not find endpoint {_ARN}endpoint/gone-1"\.')
_WEIGHTS = [{"VariantName": "AllTraffic", "DesiredWeight": 1.0}]

#: Every operation on one named resource, asked about a missing one (``Gone-1``: the ARN carries
#: the name lower-cased, as real ARNs do).
MISSING = [
    ("describe_training_job", {"TrainingJobName": "Gone-1"}, _TRAINING),
    ("stop_training_job", {"TrainingJobName": "Gone-1"}, _TRAINING),
    ("delete_training_job", {"TrainingJobName": "Gone-1"}, _TRAINING),
    ("describe_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "Gone-1"}, _TUNING),
    ("stop_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "Gone-1"}, _TUNING),
    ("delete_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "Gone-1"}, _TUNING),
    (
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": "Gone-1"},
        _TUNING,
    ),
    ("describe_transform_job", {"TransformJobName": "Gone-1"}, _TRANSFORM),
    ("stop_transform_job", {"TransformJobName": "Gone-1"}, _TRANSFORM),
    ("describe_model", {"ModelName": "Gone-1"}, _MODEL),
    ("delete_model", {"ModelName": "Gone-1"}, _MODEL),
    ("describe_endpoint_config", {"EndpointConfigName": "Gone-1"}, _CONFIG),
    ("delete_endpoint_config", {"EndpointConfigName": "Gone-1"}, _CONFIG),
    ("describe_endpoint", {"EndpointName": "Gone-1"}, _ENDPOINT),
    ("delete_endpoint", {"EndpointName": "Gone-1"}, _ENDPOINT),
    ("update_endpoint", {"EndpointName": "Gone-1", "EndpointConfigName": "cfg"}, _ENDPOINT),
    (
        "update_endpoint_weights_and_capacities",
        {"EndpointName": "Gone-1", "DesiredWeightsAndCapacities": _WEIGHTS},
        _ENDPOINT,
    ),
]


@pytest.mark.parametrize(("call", "kwargs", "expected"), MISSING, ids=[m[0] for m in MISSING])
def test_a_missing_resource_gets_sagemakers_code_and_text(
    sm: Any, call: str, kwargs: dict[str, Any], expected: tuple[str, str]
) -> None:
    code, text = expected
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(**kwargs)
    assert code_of(exc) == code
    assert re.fullmatch(text, exc.value.response["Error"]["Message"]), exc.value.response
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if code == "ResourceNotFound":  # modelled: boto3 raises the typed exception
        assert isinstance(exc.value, sm.exceptions.ResourceNotFound)


def test_every_operation_on_a_named_resource_is_covered() -> None:
    """A new Describe/Stop/Delete/Update/List*For* operation must join MISSING."""
    from openmaker.api.operations import operations

    covered = {"".join(w.title() for w in call.split("_")) for call, _, _ in MISSING}
    verbs = ("Describe", "Stop", "Delete", "Update")
    named = {
        target.split(".", 1)[1]
        for target in operations()
        if target.startswith("SageMaker.")
        and (target.split(".", 1)[1].startswith(verbs) or "For" in target)
        and target.split(".", 1)[1] not in ("DeleteTags", "DescribeAlgorithm")
    }
    assert named <= covered, sorted(named - covered)


def test_describe_algorithm_of_a_missing_algorithm(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.describe_algorithm(AlgorithmName="no-such-algo")
    assert code_of(exc) == "ValidationException"
    assert "no-such-algo" in exc.value.response["Error"]["Message"]


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

    # A value the algorithm refuses is its business, as on SageMaker: the job fails.
    request = training_request(
        "bad-hp", XGBOOST_IMAGE, [channel("train", str(data))], str(tmp_path / "out"),
        {"num_round": "ten"},
    )  # fmt: skip
    sm.create_training_job(**request)
    described = sm.describe_training_job(TrainingJobName="bad-hp")
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("ClientError: Hyperparameter 'num_round'")


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
    assert exc.value.response["Error"]["Message"] == "The specified log group does not exist."
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="nope/algo-1-1"
        )
    assert code_of(exc) == "ResourceNotFoundException"
    assert exc.value.response["Error"]["Message"] == "The specified log stream does not exist."
