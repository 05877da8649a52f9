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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from openmaker.errors import (
    ModelInvocationError,
    OpenmakerError,
    PayloadTooLargeError,
    PlatformError,
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
        import httpx

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
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout)
        try:
            resp = self._client.post(
                f"{self.url}/endpoints/{self.endpoint_name}/invocations",
                content=body,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise PlatformError(f"Cannot reach the serving process at {self.url}: {exc}") from exc
        if resp.status_code != 200:
            raise error_from_response(resp.status_code, resp.content)
        return (
            resp.content,
            resp.headers.get("content-type", ""),
            resp.headers.get("x-amzn-invoked-production-variant", ""),
        )

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
