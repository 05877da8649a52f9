"""Hosting fixtures: tiny XGBoost models trained in-process, and real servers on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

N_FEATURES = 4


def make_model(folder: Path, *, shift: float = 0.0, rounds: int = 5) -> str:
    """Train a tiny regression booster in-process and pack it as model.tar.gz."""
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, N_FEATURES)).astype("float32")
    y = X.sum(axis=1) + shift
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(X, y),
        rounds,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model_file = folder / "xgboost-model.ubj"
    booster.save_model(str(model_file))
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_file, arcname="xgboost-model")
    return str(archive)


@pytest.fixture(scope="session")
def model_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model.tar.gz predicting about sum(features)."""
    return make_model(tmp_path_factory.mktemp("model-a"))


@pytest.fixture(scope="session")
def shifted_model_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model.tar.gz predicting about sum(features) + 100 (tells two models apart)."""
    return make_model(tmp_path_factory.mktemp("model-b"), shift=100.0, rounds=30)


def wait_for_ping(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Block until the server answers /ping (or fail with its output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/ping", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


class ServerProcess:
    """``openmaker serve`` on a free 127.0.0.1 port, stopped (with its workers) on close."""

    def __init__(self, workers: int = 1, env: dict[str, str] | None = None) -> None:
        from openmaker.hosting.server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ)
        full_env.update(OPENMAKER_SERVE_POLL_SECONDS="0.1", OPENMAKER_CAPTURE_FLUSH_SECONDS="0.2")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openmaker", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            env=full_env,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for_ping(self.url, self.proc)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An OPENMAKER_HOME shared by a module's tests (they share one server)."""
    root = tmp_path_factory.mktemp("om-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENMAKER_HOME", str(root))
        mp.delenv("OPENMAKER_DATABASE_URL", raising=False)
        mp.delenv("OPENMAKER_ARTIFACTS_URI", raising=False)
        mp.delenv("OPENMAKER_ENDPOINT_URL", raising=False)
        yield root


@pytest.fixture(scope="module")
def server(module_home: Path) -> Iterator[ServerProcess]:
    """A real serving process (2 workers) for the module."""
    proc = ServerProcess(workers=2)
    try:
        yield proc
    finally:
        proc.close()


def deploy(
    name: str,
    variants: list[tuple[str, str, float]],
    *,
    capture: dict[str, object] | None = None,
    async_config: dict[str, object] | None = None,
) -> None:
    """Create models, a config and an endpoint (inline deployer): variants (name, uri, weight).

    ``capture`` is the DataCaptureConfig, ``async_config`` the AsyncInferenceConfig.
    """
    from openmaker.hosting.endpoint_configs import EndpointConfigService
    from openmaker.hosting.endpoints import EndpointService
    from openmaker.hosting.models import ModelService

    models = ModelService()
    production = []
    for variant, uri, weight in variants:
        model = f"{name}-{variant}"
        models.create(
            {"ModelName": model, "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": uri}}
        )
        production.append(
            {"VariantName": variant, "ModelName": model, "InitialVariantWeight": weight}
        )
    config: dict[str, object] = {
        "EndpointConfigName": f"{name}-c",
        "ProductionVariants": production,
    }
    if capture:
        config["DataCaptureConfig"] = capture
    if async_config:
        config["AsyncInferenceConfig"] = async_config
    EndpointConfigService(models.store).create(config)
    rec = EndpointService(models.store, deploy="inline").create(
        {"EndpointName": name, "EndpointConfigName": f"{name}-c"}
    )
    assert rec.status == "InService", rec.failure_reason
