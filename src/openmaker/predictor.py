"""``openmaker.Predictor``: call an endpoint the way the SageMaker SDK's ``Predictor`` does.

>>> predictor = estimator.deploy()                                  # doctest: +SKIP
>>> predictor.predict(np.array([[1.0, 2.0, 3.0]]))                  # doctest: +SKIP
array([0.4312...])

Serializers turn Python data into a request body, deserializers turn the answer back, with the
SDK's class names: :class:`CSVSerializer`, :class:`JSONSerializer`,
:class:`JSONLinesSerializer`, :class:`NumpySerializer`, :class:`RecordIOProtobufSerializer`,
:class:`IdentitySerializer`; :class:`CSVDeserializer`, :class:`JSONDeserializer`,
:class:`JSONLinesDeserializer`, :class:`NumpyDeserializer`,
:class:`RecordIOProtobufDeserializer`, :class:`BytesDeserializer`,
:class:`StringDeserializer`.

Asynchronous inference (an endpoint deployed with an ``AsyncInferenceConfig``):
:meth:`Predictor.predict_async` queues a request and returns an
:class:`AsyncInferenceResponse` at once; its :meth:`~AsyncInferenceResponse.get_result` reads
the answer from the output location when it is there (waiting if asked to), or raises the
error written to the failure location.

>>> response = predictor.predict_async(rows)                         # doctest: +SKIP
>>> response.get_result(WaiterConfig(max_attempts=60, delay=1))      # doctest: +SKIP
array([0.4312...])

Where the endpoint is served: ``url=`` if given, else ``$OPENMAKER_ENDPOINT_URL``, else the
local background server (started on first use; see :mod:`openmaker.hosting.server`). Error
answers raise the matching :mod:`openmaker.errors` class (``ValidationError``,
``UnsupportedContentTypeError``, ``PayloadTooLargeError``, ``ModelInvocationError``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.errors import (
    ModelInvocationError,
    OpenmakerError,
    PayloadTooLargeError,
    PlatformError,
    ResourceNotFoundError,
    UnsupportedContentTypeError,
    ValidationError,
)

# --- serializers ---------------------------------------------------------------------------


class BaseSerializer:
    """Turns data into a request body of :attr:`CONTENT_TYPE`."""

    CONTENT_TYPE = "application/octet-stream"

    def __init__(self, content_type: str | None = None) -> None:
        self.content_type = content_type or self.CONTENT_TYPE

    def serialize(self, data: Any) -> bytes:
        """The request body for ``data``."""
        raise NotImplementedError


class IdentitySerializer(BaseSerializer):
    """Bytes (or str) pass through unchanged."""

    def serialize(self, data: Any) -> bytes:
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _rows(data: Any) -> list[list[Any]]:
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    if isinstance(data, np.ndarray):
        return data.reshape(1, -1).tolist() if data.ndim == 1 else data.tolist()
    if isinstance(data, Sequence) and data and not isinstance(data[0], Sequence | np.ndarray):
        return [list(data)]
    return [list(row) for row in data]


class CSVSerializer(BaseSerializer):
    """Rows (numpy, pandas, lists; a 1-D array is one row) to ``text/csv``; strings as is."""

    CONTENT_TYPE = "text/csv"

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, str | bytes):
            return data.encode("utf-8") if isinstance(data, str) else data
        return "\n".join(",".join(_cell(v) for v in row) for row in _rows(data)).encode()


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


class JSONSerializer(BaseSerializer):
    """Python / numpy data to ``application/json`` (arrays become lists)."""

    CONTENT_TYPE = "application/json"

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, str | bytes):
            return data.encode("utf-8") if isinstance(data, str) else data
        return json.dumps(_jsonable(data)).encode("utf-8")


class JSONLinesSerializer(BaseSerializer):
    """A sequence of objects to ``application/jsonlines`` (one JSON value per line)."""

    CONTENT_TYPE = "application/jsonlines"

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, str | bytes):
            return data.encode("utf-8") if isinstance(data, str) else data
        return "\n".join(json.dumps(_jsonable(item)) for item in data).encode("utf-8")


def _jsonable(data: Any) -> Any:
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    if isinstance(data, np.ndarray):
        return data.tolist()
    if isinstance(data, np.generic):
        return data.item()
    if isinstance(data, Mapping):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    return data


class NumpySerializer(BaseSerializer):
    """An array to ``application/x-npy``."""

    CONTENT_TYPE = "application/x-npy"

    def __init__(self, dtype: str | None = None, content_type: str | None = None) -> None:
        super().__init__(content_type)
        self.dtype = dtype

    def serialize(self, data: Any) -> bytes:
        buf = io.BytesIO()
        np.save(buf, np.asarray(data, dtype=self.dtype), allow_pickle=False)
        return buf.getvalue()


class RecordIOProtobufSerializer(BaseSerializer):
    """A 2-D (or 1-D: one row) numeric array to dense ``application/x-recordio-protobuf``."""

    CONTENT_TYPE = "application/x-recordio-protobuf"

    def serialize(self, data: Any) -> bytes:
        from openmaker.data.recordio import encode_dense

        arr = np.asarray(data, dtype=np.float32)
        return encode_dense(arr.reshape(1, -1) if arr.ndim == 1 else arr)


# --- deserializers -------------------------------------------------------------------------


class BaseDeserializer:
    """Turns a response body back into data; :attr:`ACCEPT` is what it asks for."""

    ACCEPT: tuple[str, ...] = ("*/*",)

    def __init__(self, accept: str | Iterable[str] | None = None) -> None:
        if isinstance(accept, str):
            accept = (accept,)
        self.accept = tuple(accept) if accept else self.ACCEPT

    def deserialize(self, body: bytes, content_type: str) -> Any:
        """The data in ``body``."""
        raise NotImplementedError


class BytesDeserializer(BaseDeserializer):
    """The raw bytes."""

    def deserialize(self, body: bytes, content_type: str) -> bytes:
        return body


class StringDeserializer(BaseDeserializer):
    """The body decoded as UTF-8."""

    ACCEPT = ("application/json",)

    def deserialize(self, body: bytes, content_type: str) -> str:
        return body.decode("utf-8")


class CSVDeserializer(BaseDeserializer):
    """``text/csv`` to a list of rows of strings (as the SDK)."""

    ACCEPT = ("text/csv",)

    def deserialize(self, body: bytes, content_type: str) -> list[list[str]]:
        return [row for row in csv.reader(io.StringIO(body.decode("utf-8"))) if row]


class JSONDeserializer(BaseDeserializer):
    """``application/json`` to Python objects."""

    ACCEPT = ("application/json",)

    def deserialize(self, body: bytes, content_type: str) -> Any:
        return json.loads(body)


class JSONLinesDeserializer(BaseDeserializer):
    """``application/jsonlines`` to a list of Python objects."""

    ACCEPT = ("application/jsonlines",)

    def deserialize(self, body: bytes, content_type: str) -> list[Any]:
        return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]


class NumpyDeserializer(BaseDeserializer):
    """``text/csv`` / ``application/json`` / ``application/x-npy`` to a numpy array."""

    ACCEPT = ("application/x-npy",)

    def __init__(self, dtype: str | None = None, accept: str | Iterable[str] | None = None) -> None:
        super().__init__(accept or ("text/csv",))
        self.dtype = dtype

    def deserialize(self, body: bytes, content_type: str) -> np.ndarray:
        media = content_type.split(";")[0].strip().lower()
        if media == "application/x-npy":
            return np.load(io.BytesIO(body), allow_pickle=False)
        if media == "application/json":
            data = json.loads(body)
            if isinstance(data, dict) and "predictions" in data:
                data = [
                    p.get("score", p) if isinstance(p, dict) else p for p in data["predictions"]
                ]
            return np.asarray(data, dtype=self.dtype)
        rows = [r for r in csv.reader(io.StringIO(body.decode("utf-8"))) if r]
        arr = np.asarray(rows, dtype=self.dtype or np.float64)
        return arr[:, 0] if arr.ndim == 2 and arr.shape[1] == 1 else arr


class RecordIOProtobufDeserializer(BaseDeserializer):
    """``application/x-recordio-protobuf`` to a list of records (``{"label": {...}}`` dicts)."""

    ACCEPT = ("application/x-recordio-protobuf",)

    def deserialize(self, body: bytes, content_type: str) -> list[dict[str, Any]]:
        from openmaker.data import read_records

        return list(read_records(body))


# --- asynchronous inference ------------------------------------------------------------------


class AsyncResultNotReadyError(ResourceNotFoundError):
    """Neither the output nor the failure of an asynchronous inference is there (yet).

    (The SageMaker SDK's ``ObjectNotExistedError`` / ``PollingTimeoutError``.)
    """


@dataclass(frozen=True)
class WaiterConfig:
    """How :meth:`AsyncInferenceResponse.get_result` polls (the SDK's ``WaiterConfig``).

    Attributes:
        max_attempts: looks at the output and failure locations at most this many times.
        delay: seconds between two looks.
    """

    max_attempts: int = 60
    delay: float = 15.0


class AsyncInferenceResponse:
    """Where the answer of an InvokeEndpointAsync request will appear.

    Attributes:
        inference_id: the request's ``InferenceId``.
        output_path: the URI the answer is written to.
        failure_path: the URI the error is written to instead when the request fails.
    """

    def __init__(
        self,
        predictor: Predictor,
        output_path: str,
        failure_path: str,
        inference_id: str,
        content_type: str | None = None,
    ) -> None:
        self.predictor = predictor
        self.output_path = output_path
        self.failure_path = failure_path
        self.inference_id = inference_id
        self._content_type = content_type

    def done(self) -> bool:
        """Whether the request finished (its output or its failure is written)."""
        return _exists(self.output_path) or _exists(self.failure_path)

    def get_result(
        self, waiter_config: WaiterConfig | None = None, *, timeout: float | None = None
    ) -> Any:
        """The answer, deserialized with the predictor's deserializer.

        Args:
            waiter_config: poll this way until the request finishes (default: look once).
            timeout: or poll (every 0.2 s) for at most this many seconds.

        Raises:
            AsyncResultNotReadyError: the request has not finished (within the wait).
            OpenmakerError: the request failed: the error written to the failure location
                (``ModelInvocationError`` when the model raised, ``ValidationError`` for bad
                input, ...).
        """
        if waiter_config is not None:
            attempts, delay = max(1, waiter_config.max_attempts), waiter_config.delay
        elif timeout is not None:
            delay = 0.2
            attempts = max(1, int(timeout / delay) + 1)
        else:
            attempts, delay = 1, 0.0
        for attempt in range(attempts):
            if attempt:
                time.sleep(delay)
            body = _read_if_there(self.output_path)
            if body is not None:
                return self.predictor.deserializer.deserialize(body, self._result_type())
            failure = _read_if_there(self.failure_path)
            if failure is not None:
                raise _error_from_failure(failure)
        raise AsyncResultNotReadyError(
            f"The result of inference {self.inference_id} is not at {self.output_path} (nor a "
            f"failure at {self.failure_path}) yet"
        )

    def _result_type(self) -> str:
        from openmaker import uris

        if not uris.is_local(self.output_path):  # object stores keep the answer's content type
            fs, path = uris.filesystem(self.output_path)
            try:
                found = fs.info(path).get("ContentType")
            except OSError:
                found = None
            if found:
                return str(found)
        return self._content_type or "application/octet-stream"


def _exists(uri: str) -> bool:
    from openmaker import uris

    fs, path = uris.filesystem(uri)
    try:
        return bool(fs.exists(path))
    except OSError:
        return False


def _read_if_there(uri: str) -> bytes | None:
    from openmaker import uris

    fs, path = uris.filesystem(uri)
    try:
        data: bytes = fs.cat_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PlatformError(f"Cannot read {uri!r}: {exc}") from exc
    return data


def _error_from_failure(document: bytes) -> OpenmakerError:
    try:
        status = int(json.loads(document).get("StatusCode", 500))
    except (ValueError, TypeError, AttributeError):
        status = 500
    return error_from_response(status, document)


# --- the predictor -------------------------------------------------------------------------


class Predictor:
    """Sends requests to a deployed endpoint.

    Args:
        endpoint_name: the endpoint.
        serializer: turns ``predict``'s data into a body (default :class:`CSVSerializer`).
        deserializer: turns the answer into data (default :class:`NumpyDeserializer` on CSV).
        url: the serving process (default: ``$OPENMAKER_ENDPOINT_URL`` or the local background
            server, started when needed).
        timeout: seconds per request.
    """

    def __init__(
        self,
        endpoint_name: str,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        *,
        url: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.serializer = serializer or CSVSerializer()
        self.deserializer = deserializer or NumpyDeserializer()
        self._url = url or os.environ.get("OPENMAKER_ENDPOINT_URL") or None
        self.timeout = timeout
        self._client: Any = None

    @property
    def url(self) -> str:
        """The serving process's base URL."""
        if self._url is None:
            from openmaker.hosting.server import start_background_server

            self._url = start_background_server()
        return self._url

    @property
    def content_type(self) -> str:
        """The request content type (the serializer's)."""
        return self.serializer.content_type

    @property
    def accept(self) -> tuple[str, ...]:
        """The accepted response types (the deserializer's)."""
        return self.deserializer.accept

    def predict(
        self,
        data: Any,
        *,
        target_variant: str | None = None,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> Any:
        """Serialize ``data``, invoke the endpoint, deserialize the answer."""
        body, content_type, _ = self.invoke(
            self.serializer.serialize(data),
            content_type=self.content_type,
            accept=", ".join(self.accept),
            target_variant=target_variant,
            custom_attributes=custom_attributes,
            inference_id=inference_id,
        )
        return self.deserializer.deserialize(body, content_type)

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        target_variant: str | None = None,
        custom_attributes: str | None = None,
        inference_id: str | None = None,
    ) -> tuple[bytes, str, str]:
        """InvokeEndpoint with a raw body: ``(body, content type, invoked variant)``.

        Raises:
            OpenmakerError: the error the endpoint answered with.
        """
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        if target_variant:
            headers["X-Amzn-SageMaker-Target-Variant"] = target_variant
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
        resp = self._post("invocations", body, headers)
        if resp.status_code != 200:
            raise error_from_response(resp.status_code, resp.content)
        return (
            resp.content,
            resp.headers.get("content-type", ""),
            resp.headers.get("x-amzn-invoked-production-variant", ""),
        )

    def predict_async(
        self,
        data: Any = None,
        input_path: str | None = None,
        *,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
    ) -> AsyncInferenceResponse:
        """Queue an asynchronous inference; returns where its answer will be, at once.

        Give ``data`` (serialized with the predictor's serializer: sent as the request body
        when it is at most 128,000 bytes, else written under
        ``<artifacts URI>/async-endpoint-inputs/<endpoint>/`` first, a location the serving
        process must be able to read) or ``input_path`` (the URI of a payload already in
        storage, sent as ``X-Amzn-SageMaker-InputLocation``; its content type is the
        serializer's).

        Raises:
            ValidationError: neither or both of ``data`` and ``input_path``; the endpoint has
                no ``AsyncInferenceConfig`` (or does not exist).
        """
        from openmaker.hosting.async_inference import MAX_INLINE_BODY_BYTES

        if (data is None) == (input_path is None):
            raise ValidationError("predict_async needs either data or input_path (not both)")
        body = None
        if data is not None:
            body = self.serializer.serialize(data)
            if len(body) > MAX_INLINE_BODY_BYTES:
                input_path = self._upload_input(body)
                body = None
        answer = self.invoke_async(
            input_location=input_path,
            body=body,
            content_type=self.content_type,
            accept=", ".join(self.accept),
            inference_id=inference_id,
            custom_attributes=custom_attributes,
        )
        concrete = [a for a in self.accept if "*" not in a]
        return AsyncInferenceResponse(
            self,
            answer["OutputLocation"],
            answer["FailureLocation"],
            answer["InferenceId"],
            concrete[0] if len(concrete) == 1 else None,
        )

    def invoke_async(
        self,
        *,
        input_location: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
        request_ttl_seconds: int | None = None,
        invocation_timeout_seconds: int | None = None,
    ) -> dict[str, str]:
        """InvokeEndpointAsync: ``{"InferenceId", "OutputLocation", "FailureLocation"}``.

        Args:
            input_location: URI of the payload (``X-Amzn-SageMaker-InputLocation``).
            body: or the payload itself (at most 128,000 bytes).
            content_type: the payload's content type.
            accept: the answer's wanted content type.
            inference_id: the request's id (default: generated by the server).
            custom_attributes: ``X-Amzn-SageMaker-Custom-Attributes``.
            request_ttl_seconds: how long the request may wait in the queue (60-21600).
            invocation_timeout_seconds: how long the prediction may take (1-3600).

        Raises:
            OpenmakerError: the error the endpoint answered with (``ValidationError`` for a
                missing input, an endpoint without ``AsyncInferenceConfig``, ...).
        """
        headers = {}
        if input_location:
            headers["X-Amzn-SageMaker-InputLocation"] = input_location
        if content_type:
            headers["X-Amzn-SageMaker-Content-Type"] = content_type
        if accept:
            headers["X-Amzn-SageMaker-Accept"] = accept
        if inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if request_ttl_seconds is not None:
            headers["X-Amzn-SageMaker-RequestTTLSeconds"] = str(request_ttl_seconds)
        if invocation_timeout_seconds is not None:
            headers["X-Amzn-SageMaker-InvocationTimeoutSeconds"] = str(invocation_timeout_seconds)
        resp = self._post("async-invocations", body or b"", headers)
        if resp.status_code != 202:
            raise error_from_response(resp.status_code, resp.content)
        answer: dict[str, str] = resp.json()
        return answer

    def _upload_input(self, body: bytes) -> str:
        from openmaker import uris
        from openmaker.hosting.async_inference import write_output
        from openmaker.settings import get_settings

        uri = uris.join(
            get_settings().artifacts_uri,
            "async-endpoint-inputs",
            self.endpoint_name,
            f"{uuid.uuid4()}.in",
        )
        write_output(uri, body, self.content_type)
        return uri

    def _post(self, route: str, body: bytes, headers: dict[str, str]) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        try:
            return self._client.post(
                f"{self.url}/endpoints/{self.endpoint_name}/{route}", content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise PlatformError(f"Cannot reach the serving process at {self.url}: {exc}") from exc

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Delete the endpoint (and, by default, its endpoint config)."""
        from openmaker.hosting.endpoint_configs import EndpointConfigService
        from openmaker.hosting.endpoints import EndpointService

        service = EndpointService()
        rec = service.get(self.endpoint_name)
        self._model_names = [v["ModelName"] for v in rec.production_variants]
        service.delete(self.endpoint_name)
        config = rec.config_name
        if delete_endpoint_config:
            configs = EndpointConfigService(service.store)
            if configs.store.endpoint_configs.exists(config):
                configs.delete(config)

    def delete_model(self) -> None:
        """Delete the models of the endpoint's variants."""
        from openmaker.hosting.endpoints import EndpointService
        from openmaker.hosting.models import ModelService

        names = getattr(self, "_model_names", None)
        if names is None:
            rec = EndpointService().get(self.endpoint_name)
            names = [v["ModelName"] for v in rec.production_variants]
        models = ModelService()
        for name in names:
            if models.store.models.exists(name):
                models.delete(name)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


def error_from_response(status: int, body: bytes) -> OpenmakerError:
    """The openmaker error for an error answer of the serving process."""
    try:
        data = json.loads(body)
    except ValueError:
        data = {"message": body.decode("utf-8", "replace")}
    message = str(data.get("message") or data.get("Message") or f"HTTP {status}")
    if status == 415:
        supported = data.get("SupportedContentTypes", [])
        return _with_message(UnsupportedContentTypeError("?", supported), message)
    if status == 413:
        return _with_message(PayloadTooLargeError(0, int(data.get("Limit", 0))), message)
    if status == 424:
        return ModelInvocationError(
            message,
            original_status=int(data.get("OriginalStatusCode", 500)),
            original_message=str(data.get("OriginalMessage", "")),
        )
    if 400 <= status < 500:
        return ValidationError(message)
    return PlatformError(message)


def _with_message(err: OpenmakerError, message: str) -> OpenmakerError:
    err.message = message
    err.args = (message,)
    return err
