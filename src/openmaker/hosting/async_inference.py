"""Asynchronous inference: ``POST /endpoints/{name}/async-invocations`` (InvokeEndpointAsync).

The endpoint's config needs an ``AsyncInferenceConfig``::

    {"OutputConfig": {"S3OutputPath": "s3://bucket/async/out",      # required
                      "S3FailurePath": "s3://bucket/async/failed"},  # default: S3OutputPath
     "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}      # 1-1000, default 4

A request names its input with ``X-Amzn-SageMaker-InputLocation`` (any URI openmaker reads:
``s3://``, ``file://``, a local path) or, as newer SDKs allow, carries it as the body (at most
128,000 bytes; one of the two, not both). ``X-Amzn-SageMaker-Content-Type`` and
``X-Amzn-SageMaker-Accept`` play the roles of Content-Type and Accept (plain ``Content-Type``
and ``Accept`` are used when they are absent); ``X-Amzn-SageMaker-Inference-Id``,
``X-Amzn-SageMaker-Custom-Attributes``, ``X-Amzn-SageMaker-S3OutputPathExtension`` (a sub-path
of the output and failure paths), ``X-Amzn-SageMaker-Filename`` (the output file's name),
``X-Amzn-SageMaker-RequestTTLSeconds`` (60-21600, default 21600: a request still queued after
that fails) and ``X-Amzn-SageMaker-InvocationTimeoutSeconds`` (1-3600, default 900: a
prediction still running after that is reported failed) are honoured.

The answer is ``202 Accepted`` at once, with ``{"InferenceId", "OutputLocation",
"FailureLocation"}`` in the body and the two locations in the ``X-Amzn-SageMaker-OutputLocation``
and ``X-Amzn-SageMaker-FailureLocation`` headers (where boto3 reads them). The request is queued
in the worker that received it and processed off the request path, at most
``MaxConcurrentInvocationsPerInstance`` at a time per worker: the input is read, predicted by the
endpoint's variants (weights apply; micro-batched with the real-time requests) and the answer
written to ``<S3OutputPath>[/<extension>]/<uuid>.out`` (or the given file name; a fresh uuid
per request, which is also the ``InferenceId`` when the caller gives none). On any failure
(unreadable input, bad payload, model error, TTL or timeout) the error, as the JSON body the
real-time path would answer with plus ``InferenceId`` and ``StatusCode``, is written to
``<S3FailurePath>[/<extension>]/<uuid>-error.out``. Exactly one of the two files appears.

Not like SageMaker: the queue lives in the worker's memory, so requests still queued when the
server stops are lost (SageMaker's queue is durable); ``NotificationConfig`` is stored and
described but no SNS notification is sent (poll the output and failure locations, as
:meth:`openmaker.predictor.AsyncInferenceResponse.get_result` does).

The config travels inside each production variant of the endpoint config and endpoint records
(key ``AsyncInferenceConfig``), so it needs no table column; the describe calls show it at the
top level, as SageMaker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from openmaker.errors import DataSourceError, OpenmakerError, PlatformError, ValidationError

log = logging.getLogger("openmaker.serve")

#: Where the config is kept inside each stored production variant.
ASYNC_KEY = "AsyncInferenceConfig"
DEFAULT_MAX_CONCURRENT = 4
DEFAULT_TTL_SECONDS = 21600
DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900
#: The largest inline body (``Body``) InvokeEndpointAsync takes.
MAX_INLINE_BODY_BYTES = 128000
#: The largest input object read from ``InputLocation`` (SageMaker's async limit, 1 GB).
MAX_INPUT_BYTES = 1024**3


# --- the config ------------------------------------------------------------------------------
def normalize_async_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An ``AsyncInferenceConfig`` checked and with defaults, or None when absent.

    Raises:
        ValidationError: no ``OutputConfig.S3OutputPath``, a path that is not a string, or
            ``MaxConcurrentInvocationsPerInstance`` outside 1-1000.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ValidationError("AsyncInferenceConfig must be an object")
    c = json.loads(json.dumps(dict(config)))  # a plain, independent copy
    output = c.get("OutputConfig")
    if not isinstance(output, dict) or not output.get("S3OutputPath"):
        raise ValidationError("AsyncInferenceConfig.OutputConfig.S3OutputPath is required")
    for key in ("S3OutputPath", "S3FailurePath"):
        if key in output and not isinstance(output[key], str):
            raise ValidationError(f"AsyncInferenceConfig.OutputConfig.{key} must be a URI string")
    client = c.setdefault("ClientConfig", {})
    if not isinstance(client, dict):
        raise ValidationError("AsyncInferenceConfig.ClientConfig must be an object")
    limit = client.setdefault("MaxConcurrentInvocationsPerInstance", DEFAULT_MAX_CONCURRENT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError(
            "AsyncInferenceConfig.ClientConfig.MaxConcurrentInvocationsPerInstance must be an "
            f"integer 1-1000; got {limit!r}"
        )
    return c


def with_async_config(
    variants: Iterable[Mapping[str, Any]], config: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Variant dicts carrying ``config`` (removed when None), for storage."""
    out = []
    for variant in variants:
        v = {k: val for k, val in variant.items() if k != ASYNC_KEY}
        if config is not None:
            v[ASYNC_KEY] = dict(config)
        out.append(v)
    return out


def without_async_config(variants: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Variant dicts as the API shows them (the stored config taken out)."""
    return with_async_config(variants, None)


def stored_async_config(variants: Iterable[Mapping[str, Any]] | None) -> dict[str, Any] | None:
    """The ``AsyncInferenceConfig`` stored with the variants, or None."""
    for variant in variants or ():
        config = variant.get(ASYNC_KEY)
        if config:
            return dict(config)
    return None


# --- one request ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AsyncRequest:
    """An accepted InvokeEndpointAsync request, waiting to be processed."""

    inference_id: str
    endpoint: str
    input_location: str | None
    body: bytes | None
    content_type: str
    accept: str | None
    custom_attributes: str | None
    output_location: str
    failure_location: str
    deadline: float  # time.monotonic() after which a still-queued request fails
    timeout: float  # seconds the prediction may take

    def accepted(self) -> dict[str, str]:
        """The 202 answer's body."""
        return {
            "InferenceId": self.inference_id,
            "OutputLocation": self.output_location,
            "FailureLocation": self.failure_location,
        }


def _int_header(headers: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = headers.get(name.lower())
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError(f"{name} must be an integer {low}-{high}; got {raw!r}")
    return value


def _path_part(headers: Mapping[str, str], name: str, longest: int) -> str | None:
    value = headers.get(name.lower())
    if value is None:
        return None
    parts = value.strip("/").split("/")
    if not value or len(value) > longest or any(p in ("", ".", "..") for p in parts):
        raise ValidationError(
            f"{name} must be 1-{longest} characters of path segments (no empty, '.' or '..' "
            f"segment); got {value!r}"
        )
    return value.strip("/")


def parse_request(
    endpoint: str,
    config: Mapping[str, Any],
    headers: Mapping[str, str],
    body: bytes,
) -> AsyncRequest:
    """Check an InvokeEndpointAsync request and name its output and failure locations.

    Args:
        endpoint: the endpoint's name.
        config: the endpoint's ``AsyncInferenceConfig``.
        headers: the request headers, names in lower case.
        body: the request body (the inline input, or empty).

    Raises:
        ValidationError: neither or both of an input location and a body, a body over 128,000
            bytes, or a header out of its range.
    """
    from openmaker import uris

    location = headers.get("x-amzn-sagemaker-inputlocation") or None
    if location is None and not body:
        raise ValidationError(
            "InvokeEndpointAsync needs the input: give its URI in the "
            "X-Amzn-SageMaker-InputLocation header (or send it as the body, at most "
            f"{MAX_INLINE_BODY_BYTES} bytes)"
        )
    if location is not None and body:
        raise ValidationError(
            "Give either X-Amzn-SageMaker-InputLocation or a body for InvokeEndpointAsync, not both"
        )
    if len(body) > MAX_INLINE_BODY_BYTES:
        raise ValidationError(
            f"The InvokeEndpointAsync body is {len(body)} bytes; at most "
            f"{MAX_INLINE_BODY_BYTES} are allowed inline: put the input in storage and give "
            "its URI in X-Amzn-SageMaker-InputLocation"
        )
    stem = str(uuid.uuid4())  # every request gets fresh files, as in SageMaker
    inference_id = headers.get("x-amzn-sagemaker-inference-id") or stem
    if len(inference_id) > 64:
        raise ValidationError(
            f"X-Amzn-SageMaker-Inference-Id must be 1-64 characters; got {len(inference_id)}"
        )
    ttl = _int_header(headers, "X-Amzn-SageMaker-RequestTTLSeconds", 60, 21600, DEFAULT_TTL_SECONDS)
    timeout = _int_header(
        headers,
        "X-Amzn-SageMaker-InvocationTimeoutSeconds",
        1,
        3600,
        DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    )
    extension = _path_part(headers, "X-Amzn-SageMaker-S3OutputPathExtension", 512)
    filename = _path_part(headers, "X-Amzn-SageMaker-Filename", 32)
    if filename is not None and "/" in filename:
        raise ValidationError(f"X-Amzn-SageMaker-Filename must be a file name; got {filename!r}")
    output = config["OutputConfig"]
    out_root = str(output["S3OutputPath"])
    fail_root = str(output.get("S3FailurePath") or out_root)
    extra = extension.split("/") if extension else []
    content_type = headers.get("x-amzn-sagemaker-content-type") or headers.get("content-type") or ""
    return AsyncRequest(
        inference_id=inference_id,
        endpoint=endpoint,
        input_location=location,
        body=body or None,
        content_type=content_type,
        accept=headers.get("x-amzn-sagemaker-accept") or headers.get("accept") or None,
        custom_attributes=headers.get("x-amzn-sagemaker-custom-attributes"),
        output_location=uris.join(out_root, *extra, filename or f"{stem}.out"),
        failure_location=uris.join(fail_root, *extra, f"{stem}-error.out"),
        deadline=time.monotonic() + ttl,
        timeout=float(timeout),
    )


# --- storage -----------------------------------------------------------------------------------
def read_input(uri: str) -> bytes:
    """The input object at ``uri`` (at most 1 GB).

    Raises:
        DataSourceError: it cannot be read.
        PayloadTooLargeError: it is larger than 1 GB.
    """
    from openmaker import uris
    from openmaker.errors import PayloadTooLargeError

    fs, path = uris.filesystem(uri)
    try:
        size = fs.size(path)
        if size is not None and size > MAX_INPUT_BYTES:
            raise PayloadTooLargeError(int(size), MAX_INPUT_BYTES)
        data: bytes = fs.cat_file(path)
    except (OSError, FileNotFoundError) as exc:
        raise DataSourceError(f"Cannot read the input location {uri!r}: {exc}", uri=uri) from exc
    return data


def write_output(uri: str, data: bytes, content_type: str | None = None) -> None:
    """Write ``data`` to ``uri`` so that it appears whole (local: temporary name, then rename).

    Raises:
        DataSourceError: it cannot be written.
    """
    from openmaker import uris

    fs, path = uris.filesystem(uri)
    try:
        if uris.is_local(uri):
            folder = os.path.dirname(path)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        elif content_type:
            try:
                fs.pipe_file(path, data, ContentType=content_type)
            except TypeError:  # a file system without object metadata
                fs.pipe_file(path, data)
        else:
            fs.pipe_file(path, data)
    except OSError as exc:
        raise DataSourceError(f"Cannot write {uri!r}: {exc}", uri=uri) from exc


# --- the worker's queue --------------------------------------------------------------------
Predict = Callable[[AsyncRequest, bytes], Any]  # async: (request, input) -> (body, type)
FailureBody = Callable[[AsyncRequest, BaseException], tuple[int, bytes]]


class AsyncInvoker:
    """One worker's queue of async requests and the tasks that process them.

    Args:
        predict: ``async (request, input bytes) -> (answer, content type)``; raises on failure.
        failure_body: ``(request, error) -> (status, JSON body)`` for the failure file.
    """

    def __init__(self, predict: Predict, failure_body: FailureBody) -> None:
        self._predict = predict
        self._failure_body = failure_body
        self._limits: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.completed = 0
        self.failed = 0

    def submit(self, request: AsyncRequest, config: Mapping[str, Any]) -> None:
        """Queue an accepted request (returns at once)."""
        limit = int(config["ClientConfig"]["MaxConcurrentInvocationsPerInstance"])
        known = self._limits.get(request.endpoint)
        if known is None or known[0] != limit:
            known = self._limits[request.endpoint] = (limit, asyncio.Semaphore(limit))
        task = asyncio.get_running_loop().create_task(self._run(request, known[1]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def queued(self) -> int:
        """Requests accepted and not finished yet."""
        return len(self._tasks)

    async def _run(self, request: AsyncRequest, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                if time.monotonic() > request.deadline:
                    raise ValidationError(
                        f"The request waited in the queue longer than its RequestTTLSeconds "
                        f"(inference {request.inference_id})"
                    )
                data = request.body
                if data is None:
                    assert request.input_location is not None
                    data = await asyncio.to_thread(read_input, request.input_location)
                try:
                    out, out_type = await asyncio.wait_for(
                        self._predict(request, data), request.timeout
                    )
                except TimeoutError:
                    raise PlatformError(
                        f"The prediction did not finish within InvocationTimeoutSeconds "
                        f"({request.timeout:.0f} s)"
                    ) from None
                await asyncio.to_thread(write_output, request.output_location, out, out_type)
                self.completed += 1
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self.failed += 1
                await self._fail(request, exc)

    async def _fail(self, request: AsyncRequest, exc: BaseException) -> None:
        if not isinstance(exc, OpenmakerError) or exc.kind != "user":
            log.warning(
                "async inference %s on endpoint %s failed: %s",
                request.inference_id,
                request.endpoint,
                exc,
            )
        status, body = self._failure_body(request, exc)
        try:
            document = json.loads(body)
        except ValueError:
            document = {"message": body.decode("utf-8", "replace")}
        document.update(InferenceId=request.inference_id, StatusCode=status)
        try:
            await asyncio.to_thread(
                write_output,
                request.failure_location,
                json.dumps(document).encode("utf-8"),
                "application/json",
            )
        except Exception:  # nowhere left to report it but the log
            log.exception("async inference %s: cannot write the failure", request.inference_id)

    async def close(self, grace: float = 5.0) -> None:
        """Let running requests finish for up to ``grace`` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
