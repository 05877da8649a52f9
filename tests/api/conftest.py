"""API fixtures: the API server in-process on a free 127.0.0.1 port (one per test module, with
its own OPENMAKER_HOME), boto3 clients pointed at it, and moto's standalone S3 server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/openmaker-test"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LINEAR_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """``openmaker.api.server.create_app()`` on uvicorn in a background thread."""

    def __init__(self, credentials: Mapping[str, str] | None = None) -> None:
        import uvicorn

        from openmaker.api.server import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(credentials=credentials)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` talking to this server (dummy credentials)."""
        import boto3
        from botocore.config import Config

        kwargs.setdefault("aws_access_key_id", "testing")
        kwargs.setdefault("aws_secret_access_key", "testing")
        kwargs.setdefault("endpoint_url", self.url)
        return boto3.client(
            service,
            region_name=REGION,
            config=Config(retries={"max_attempts": 1}),
            **kwargs,
        )

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An OPENMAKER_HOME (and test-friendly timings) shared by one module's tests."""
    root = tmp_path_factory.mktemp("api-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENMAKER_HOME", str(root))
        mp.delenv("OPENMAKER_DATABASE_URL", raising=False)
        mp.delenv("OPENMAKER_ARTIFACTS_URI", raising=False)
        mp.delenv("OPENMAKER_S3_ENDPOINT_URL", raising=False)
        mp.setenv("OPENMAKER_STOP_GRACE", "3")
        mp.setenv("OPENMAKER_SERVE_POLL_SECONDS", "0.1")
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        yield root


@pytest.fixture(scope="module")
def api(api_home: Path) -> Iterator[ApiServer]:
    """The API server for one module."""
    pytest.importorskip("boto3")
    server = ApiServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def sm(api: ApiServer) -> Any:
    """``boto3.client("sagemaker")`` against the module's server."""
    return api.client("sagemaker")


@pytest.fixture(scope="module")
def moto_s3(api_home: Path) -> Iterator[str]:
    """moto's standalone S3 server; ``OPENMAKER_S3_ENDPOINT_URL`` points at it (module-wide)."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENMAKER_S3_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        try:
            yield endpoint
        finally:
            server.stop()


def regression(n: int = 200, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``y = sum(x) + noise``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype("float32")
    return X, (X.sum(axis=1) + 0.05 * rng.normal(size=n)).astype("float32")


def write_csv(path: Path, X: np.ndarray, y: np.ndarray | None = None) -> Path:
    """SageMaker CSV (label first, no header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = X if y is None else np.column_stack([y, X])
    np.savetxt(path, rows, delimiter=",", fmt="%.6g")
    return path


def channel(name: str, uri: str, content_type: str = "text/csv") -> dict[str, Any]:
    """One ``InputDataConfig`` entry."""
    return {
        "ChannelName": name,
        "ContentType": content_type,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
    }


def training_request(
    name: str,
    image: str,
    channels: list[dict[str, Any]],
    output: str,
    hyperparameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A complete CreateTrainingJob request."""
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters or {},
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def fast_waiter(client: Any, name: str) -> tuple[Any, dict[str, int]]:
    """A boto3 waiter and a WaiterConfig that polls every half second."""
    return client.get_waiter(name), {"Delay": 1, "MaxAttempts": 120}
