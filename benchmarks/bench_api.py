"""The SageMaker-compatible API: control-plane calls/s against moto, and the latency the API
server adds to InvokeEndpoint over the hosting app alone.

Run: ``.venv/bin/python benchmarks/bench_api.py [--jobs 10000] [--seconds 5] [--clients 4]``

One run, same machine:

* control plane: ``--jobs`` training jobs in the store (inserted through the store, as
  completed jobs), then ``DescribeTrainingJob`` (random names) and ``ListTrainingJobs``
  (default page of 10, and ``MaxResults=100``) against ``openmaker server`` and against
  moto's standalone server (the best open peer: it implements these calls but runs nothing)
  holding as many jobs (created through its API). Requests are AWS JSON 1.1 sent over
  keep-alive HTTP connections by ``--clients`` threads (a fixed SigV4 header: neither server
  checks it), so the client costs the same for both. Prints calls/s, p50 latency and the
  ratio openmaker / moto.
* runtime: one XGBoost endpoint, 1-row CSV ``POST /endpoints/NAME/invocations`` sent one at a
  time to ``openmaker server`` (the API's router in front of the hosting app) and to
  ``openmaker serve --workers 1`` (the hosting app alone); prints p50 / mean latency of each
  and the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/sagemaker/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], path: str = "/ping") -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --- load generation -----------------------------------------------------------------------------


def measure(
    url: str, request: Callable[[], tuple[str, bytes, dict[str, str]]], seconds: float, clients: int
) -> tuple[float, float]:
    """``(calls/s, p50 ms)`` of ``clients`` threads sending ``request()`` for ``seconds``."""
    import httpx

    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = 0.0

    def worker(slot: list[float]) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.monotonic() < stop_at:
                path, body, headers = request()
                t0 = time.perf_counter()
                response = client.post(path, content=body, headers=headers)
                slot.append(time.perf_counter() - t0)
                if response.status_code != 200 and not errors:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    # warm-up (connections, caches)
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(20):
            path, body, headers = request()
            client.post(path, content=body, headers=headers)
    threads = [threading.Thread(target=worker, args=(slot,)) for slot in latencies]
    started = time.monotonic()
    stop_at = started + seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"{url}: {errors[0]}")
    flat = [x for slot in latencies for x in slot]
    return len(flat) / elapsed, statistics.median(flat) * 1000


def control(target: str, payload: dict[str, object]) -> tuple[str, bytes, dict[str, str]]:
    return (
        "/",
        json.dumps(payload).encode(),
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"SageMaker.{target}",
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": AUTH,
        },
    )


# --- fixtures ---------------------------------------------------------------------------------


def populate_store(jobs: int) -> list[str]:
    """``jobs`` completed training jobs, inserted through the store."""
    from openmaker.settings import get_settings
    from openmaker.store import StatusTransition, TrainingJobRecord, open_store

    settings = get_settings()
    names = [f"bench-job-{i:05d}" for i in range(jobs)]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    with open_store() as store:
        for i, name in enumerate(names):
            created = base + timedelta(seconds=i)
            store.training_jobs.create(
                TrainingJobRecord(
                    name=name,
                    arn=settings.arn("training-job", name),
                    algorithm="xgboost",
                    status="Completed",
                    secondary_status="Completed",
                    failure_reason=None,
                    hyperparameters={"num_round": "10", "objective": "reg:squarederror"},
                    algorithm_specification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                    input_data_config=[],
                    output_data_config={"S3OutputPath": "s3://bucket/out"},
                    resource_config={
                        "InstanceType": "ml.m5.large",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 30,
                    },
                    stopping_condition={"MaxRuntimeInSeconds": 86400},
                    checkpoint_config=None,
                    environment={},
                    tags=[],
                    role_arn="arn:aws:iam::123456789012:role/bench",
                    creation_time=created,
                    last_modified_time=created + timedelta(seconds=30),
                    training_start_time=created + timedelta(seconds=1),
                    training_end_time=created + timedelta(seconds=30),
                    model_artifacts=f"s3://bucket/out/{name}/output/model.tar.gz",
                    secondary_status_transitions=(
                        StatusTransition("Starting", created, created, "Starting the job"),
                        StatusTransition("Completed", created, created, "Training job completed"),
                    ),
                    final_metrics=(),
                    executor="local",
                    executor_handle=None,
                    job_dir=None,
                )
            )
    return names


def populate_moto(url: str, jobs: int) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client(
        "sagemaker", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIDBENCH", aws_secret_access_key="x",
    )  # fmt: skip
    names = [f"bench-job-{i:05d}" for i in range(jobs)]

    def create(name: str) -> None:
        client.create_training_job(
            TrainingJobName=name,
            RoleArn="arn:aws:iam::123456789012:role/bench",
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            HyperParameters={"num_round": "10", "objective": "reg:squarederror"},
            OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1,
                            "VolumeSizeInGB": 30},
            StoppingCondition={"MaxRuntimeInSeconds": 86400},
        )  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, names))
    return names


def make_model(folder: Path) -> str:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 10)).astype("float32")
    y = X @ rng.normal(size=10)
    booster = xgb.train({"max_depth": 6, "nthread": 1}, xgb.DMatrix(X, y), 50)
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / "xgboost-model.ubj"))
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "xgboost-model.ubj", arcname="xgboost-model")
    return str(archive)


def deploy(model: str) -> None:
    from openmaker.hosting.endpoint_configs import EndpointConfigService
    from openmaker.hosting.endpoints import EndpointService
    from openmaker.hosting.models import ModelService

    ModelService().create(
        {"ModelName": "bench", "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": model}}
    )
    EndpointConfigService().create(
        {
            "EndpointConfigName": "bench",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "bench"}],
        }
    )
    EndpointService(deploy="inline").create(
        {"EndpointName": "bench", "EndpointConfigName": "bench"}
    )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--no-moto", action="store_true", help="skip the moto comparison")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-api-"))
    os.environ["OPENMAKER_HOME"] = str(home)
    os.environ.pop("OPENMAKER_DATABASE_URL", None)
    os.environ["OPENMAKER_SERVE_POLL_SECONDS"] = "0.5"
    env = dict(os.environ, OMP_NUM_THREADS="1")

    t0 = time.monotonic()
    names = populate_store(args.jobs)
    print(f"{args.jobs} training jobs inserted through the store in {time.monotonic() - t0:.1f} s")
    deploy(make_model(home / "model"))

    api_port, serve_port = free_port(), free_port()
    api = start(["-m", "openmaker", "server", "--port", str(api_port)], env)
    serve = start(["-m", "openmaker", "serve", "--port", str(serve_port), "--workers", "1"], env)
    moto = None
    results: dict[str, dict[str, tuple[float, float]]] = {}
    try:
        api_url, serve_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{serve_port}"
        wait_until_up(api_url, api)
        wait_until_up(serve_url, serve)
        servers = {"openmaker": (api_url, names)}
        if not args.no_moto:
            moto_port = free_port()
            moto = start(["-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)], env)
            moto_url = f"http://127.0.0.1:{moto_port}"
            wait_until_up(moto_url, moto, path="/moto-api/")
            t0 = time.monotonic()
            servers["moto"] = (moto_url, populate_moto(moto_url, args.jobs))
            print(f"{args.jobs} training jobs created in moto in {time.monotonic() - t0:.1f} s")

        for label, (url, job_names) in servers.items():
            calls = {
                "DescribeTrainingJob": lambda n=job_names: control(
                    "DescribeTrainingJob", {"TrainingJobName": random.choice(n)}
                ),
                "ListTrainingJobs (10)": lambda: control("ListTrainingJobs", {}),
                "ListTrainingJobs (100)": lambda: control("ListTrainingJobs", {"MaxResults": 100}),
            }
            results[label] = {
                call: measure(url, make, args.seconds, args.clients) for call, make in calls.items()
            }

        print(f"\ncontrol plane, {args.jobs} jobs, {args.clients} client threads, keep-alive")
        print(f"{'call':<26}{'openmaker calls/s':>18}{'p50 ms':>9}", end="")
        print(f"{'moto calls/s':>14}{'p50 ms':>9}{'ratio':>8}" if "moto" in results else "")
        for call, (rate, p50) in results["openmaker"].items():
            line = f"{call:<26}{rate:>18.0f}{p50:>9.2f}"
            if "moto" in results:
                m_rate, m_p50 = results["moto"][call]
                line += f"{m_rate:>14.0f}{m_p50:>9.2f}{rate / m_rate:>8.2f}"
            print(line)

        body = b",".join(f"{v:.4f}".encode() for v in np.random.default_rng(1).normal(size=10))
        invoke = (
            "/endpoints/bench/invocations",
            body,
            {"Content-Type": "text/csv", "Accept": "text/csv"},
        )
        latency: dict[str, list[float]] = {}
        import httpx

        for label, url in (("hosting app alone", serve_url), ("API server", api_url)):
            with httpx.Client(base_url=url, timeout=30) as client:
                deadline = time.monotonic() + 60
                while (
                    client.post(invoke[0], content=invoke[1], headers=invoke[2]).status_code != 200
                ):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{label}: the endpoint is not served")
                    time.sleep(0.2)
                for _ in range(100):
                    client.post(invoke[0], content=invoke[1], headers=invoke[2])
                samples = []
                for _ in range(args.invocations):
                    t = time.perf_counter()
                    client.post(invoke[0], content=invoke[1], headers=invoke[2])
                    samples.append((time.perf_counter() - t) * 1000)
            latency[label] = samples
        print(
            f"\nInvokeEndpoint, 1-row CSV, XGBoost (50 trees), {args.invocations} sequential calls"
        )
        for label, samples in latency.items():
            print(
                f"{label:<20} p50 {statistics.median(samples):6.3f} ms   "
                f"mean {statistics.fmean(samples):6.3f} ms"
            )
        added = statistics.median(latency["API server"]) - statistics.median(
            latency["hosting app alone"]
        )
        print(f"added by the API server: {added * 1000:+.0f} us at p50")
    finally:
        for proc in (api, serve, moto):
            if proc is not None:
                stop(proc)


if __name__ == "__main__":
    main()
