"""A real ``openmaker serve`` process (2 workers) on a free port: routing, updates, capture."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from openmaker.hosting.endpoint_configs import EndpointConfigService
from openmaker.hosting.endpoints import EndpointService
from openmaker.hosting.models import ModelService

from .conftest import ServerProcess, deploy

CSV = {"content-type": "text/csv"}


def _wait_served(url: str, name: str, timeout: float = 20) -> None:
    """Until every worker serves ``name``: 12 answers in a row on fresh connections (each may
    land on any worker; all workers pick the endpoint up within a poll interval)."""
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while time.monotonic() < deadline:
        r = httpx.post(f"{url}/endpoints/{name}/invocations", headers=CSV, content=b"0,0,0,0")
        in_a_row = in_a_row + 1 if r.status_code == 200 else 0
        if in_a_row >= 12:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} not served")


def test_ping_and_weighted_split(server: ServerProcess, model_uri: str) -> None:
    deploy("split", [("A", model_uri, 1.0), ("B", model_uri, 3.0)])  # created while it runs
    _wait_served(server.url, "split")
    assert httpx.get(f"{server.url}/ping").status_code == 200
    counts = {"A": 0, "B": 0}
    with httpx.Client() as client:
        for _ in range(400):
            r = client.post(f"{server.url}/endpoints/split/invocations", headers=CSV,
                            content=b"1,2,3,4")  # fmt: skip
            assert r.status_code == 200
            counts[r.headers["x-amzn-invoked-production-variant"]] += 1
        targeted = client.post(
            f"{server.url}/endpoints/split/invocations",
            headers={**CSV, "X-Amzn-SageMaker-Target-Variant": "A", "Accept": "application/json"},
            content=b"1,2,3,4",
        )
    assert 0.65 < counts["B"] / 400 < 0.85, counts
    assert targeted.headers["x-amzn-invoked-production-variant"] == "A"
    assert "score" in targeted.json()["predictions"][0]


def test_update_swaps_models_without_failed_requests(
    server: ServerProcess, model_uri: str, shifted_model_uri: str
) -> None:
    deploy("upd", [("A", model_uri, 1.0)])
    _wait_served(server.url, "upd")
    ModelService().create(
        {"ModelName": "upd-new", "PrimaryContainer": {"Image": "xgboost",
                                                      "ModelDataUrl": shifted_model_uri}}
    )  # fmt: skip
    EndpointConfigService().create(
        {
            "EndpointConfigName": "upd-c2",
            "ProductionVariants": [{"VariantName": "A2", "ModelName": "upd-new"}],
        }
    )
    statuses: list[int] = []
    values: list[float] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                r = client.post(f"{server.url}/endpoints/upd/invocations", headers=CSV,
                                content=b"0,0,0,0")  # fmt: skip
                statuses.append(r.status_code)
                if r.status_code == 200:
                    values.append(float(r.text))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.3)
        service = EndpointService()
        service.update("upd", "upd-c2")
        assert service.wait("upd", timeout=60).status == "InService"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (values and values[-1] > 50):
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    assert statuses and set(statuses) == {200}, set(statuses)
    assert values[0] < 50 < values[-1]  # old model first, new model after the swap
    assert EndpointService().describe("upd")["EndpointConfigName"] == "upd-c2"


def test_data_capture_files(server: ServerProcess, model_uri: str, tmp_path: Path) -> None:
    dest = tmp_path / "capture"
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": str(dest),
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    deploy("cap", [("AllTraffic", model_uri, 1.0)], capture=capture)
    _wait_served(server.url, "cap")
    with httpx.Client() as client:
        for i in range(5):
            client.post(
                f"{server.url}/endpoints/cap/invocations",
                headers={**CSV, "X-Amzn-SageMaker-Inference-Id": f"id-{i}",
                         "X-Amzn-SageMaker-Custom-Attributes": "c=1"},
                content=b"1,2,3,4",
            )  # fmt: skip
        client.post(f"{server.url}/endpoints/cap/invocations",
                    headers={"content-type": "application/x-npy"},
                    content=_npy())  # fmt: skip
    deadline = time.monotonic() + 10
    records: list[dict] = []
    while time.monotonic() < deadline:
        files = sorted(dest.rglob("*.jsonl"))
        records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        ids = {r["eventMetadata"].get("inferenceId") for r in records}
        encodings = {r["captureData"]["endpointInput"]["encoding"] for r in records}
        if {f"id-{i}" for i in range(5)} <= ids and "BASE64" in encodings:
            break  # (_wait_served's probes are captured too)
        time.sleep(0.1)
    assert len(records) >= 6
    rel = files[0].relative_to(dest).parts
    assert rel[:2] == ("cap", "AllTraffic") and len(rel) == 7  # yyyy/mm/dd/hh/file
    tagged = next(r for r in records if r["eventMetadata"].get("inferenceId") == "id-0")
    data = tagged["captureData"]
    assert data["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                     "data": "1,2,3,4", "encoding": "CSV"}  # fmt: skip
    assert data["endpointOutput"]["mode"] == "OUTPUT"
    float(data["endpointOutput"]["data"])
    assert tagged["eventVersion"] == "0" and tagged["eventMetadata"]["customAttributes"] == ["c=1"]
    assert tagged["eventMetadata"]["inferenceTime"].endswith("Z")
    binary = [r for r in records if r["captureData"]["endpointInput"]["encoding"] == "BASE64"]
    assert binary, "payloads of other content types are captured base64-encoded"


def _npy() -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.ones((1, 4), dtype=np.float32))
    return buf.getvalue()


def test_deleted_endpoint_stops_being_served(server: ServerProcess, model_uri: str) -> None:
    deploy("gone", [("A", model_uri, 1.0)])
    _wait_served(server.url, "gone")
    EndpointService().delete("gone")
    deadline = time.monotonic() + 10
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = httpx.post(f"{server.url}/endpoints/gone/invocations", headers=CSV,
                            content=b"0,0,0,0").status_code  # fmt: skip
    assert status == 400


@pytest.mark.parametrize("n", [3])
def test_bad_requests_do_not_kill_workers(server: ServerProcess, model_uri: str, n: int) -> None:
    deploy("robust", [("A", model_uri, 1.0)])
    _wait_served(server.url, "robust")
    with httpx.Client() as client:
        for _ in range(n):
            r = client.post(f"{server.url}/endpoints/robust/invocations", headers=CSV,
                            content=b"\xff\xfe garbage")  # fmt: skip
            assert r.status_code == 400
        assert client.post(f"{server.url}/endpoints/robust/invocations", headers=CSV,
                           content=b"1,2,3,4").status_code == 200  # fmt: skip
    assert server.proc.poll() is None
