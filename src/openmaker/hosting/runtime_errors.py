"""Error answers of the serving process, in the SageMaker runtime's shapes.

Runtime path (``/endpoints/{name}/invocations``), rest-json errors that boto3 parses
(``x-amzn-ErrorType`` header, JSON body with ``message``/``Message``):

* unknown endpoint or variant, or no variant with traffic: 400, ``ValidationError``
  (``Endpoint X of account Y not found.``);
* malformed body: 400, ``ValidationError`` (the decoder's message: line, column...);
* payload over 6 MB: 413, ``ValidationError``;
* unsupported Content-Type / Accept: 415, ``ValidationError`` (the body lists
  ``SupportedContentTypes``);
* the model raised: 424, ``ModelError``, body ``{"ErrorCode": "SERVER_ERROR_FROM_MODEL"
  (or CLIENT_...), "Message", "OriginalStatusCode", "OriginalMessage", "LogStreamArn"}``.

Real SageMaker turns every container 4xx into a 424 ``ModelError``; openmaker answers the
client errors it can name (400/413/415) directly, so callers see the precise status, and keeps
424 for the model failing. The container path (``/invocations``) answers like a container:
the same statuses with a plain ``{"message": ...}`` body.
"""

from __future__ import annotations

import json
from typing import Any

from openmaker.errors import (
    ModelInvocationError,
    OpenmakerError,
    PayloadTooLargeError,
    UnsupportedContentTypeError,
)
from openmaker.settings import Settings


def log_stream_arn(settings: Settings, endpoint: str) -> str:
    """The CloudWatch-like log group ARN named in ModelError answers."""
    return (
        f"arn:aws:logs:{settings.region}:{settings.account_id}:log-group:"
        f"/aws/sagemaker/Endpoints/{endpoint}"
    )


def model_error(
    exc: BaseException, endpoint: str, variant: str, settings: Settings
) -> ModelInvocationError:
    """Wrap an unexpected exception from ``predict`` as SageMaker's ``ModelError``."""
    original = f"{type(exc).__name__}: {exc}"
    message = (
        f'Received server error (500) from {variant} with message "{original}". See '
        f"https://{settings.region}.console.aws.amazon.com/cloudwatch/home?region="
        f"{settings.region}#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint} in "
        f"account {settings.account_id} for more information."
    )
    return ModelInvocationError(message, original_status=500, original_message=original)


def error_answer(
    exc: OpenmakerError, *, runtime: bool, endpoint: str | None, settings: Settings
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` for an error."""
    status = exc.http_status
    body: dict[str, Any] = {"message": exc.message}
    if isinstance(exc, UnsupportedContentTypeError):
        body["SupportedContentTypes"] = list(exc.supported)
    if isinstance(exc, PayloadTooLargeError):
        body["Limit"] = exc.limit
    headers = {"content-type": "application/json"}
    if runtime:
        if isinstance(exc, ModelInvocationError):
            error_type = "ModelError"
            body.update(
                ErrorCode=(
                    "CLIENT_ERROR_FROM_MODEL"
                    if 400 <= exc.original_status < 500
                    else "SERVER_ERROR_FROM_MODEL"
                ),
                OriginalStatusCode=exc.original_status,
                OriginalMessage=exc.original_message,
                LogStreamArn=log_stream_arn(settings, endpoint or ""),
            )
        elif exc.kind == "user":
            error_type = "ValidationError"
        else:
            error_type = "InternalFailure"
        body["Message"] = body["message"]
        headers["x-amzn-errortype"] = error_type
    return status, headers, json.dumps(body).encode("utf-8")
