"""Endpoint throughput and latency vs. in-process predict and a bare uvicorn app.

Run: ``.venv/bin/python benchmarks/bench_endpoint.py [--seconds 10] [--clients 32]``

One run, same machine, same model (XGBoost, 50 trees of depth 6, 10 features), 1-row and
100-row CSV payloads:

* floor: ``model.predict`` called in this process, back to back (requests/s of one core);
* bare: a raw ASGI app on uvicorn (same worker count) that answers a constant;
* endpoint: ``openmaker serve`` answering ``POST /endpoints/NAME/invocations``.

The load comes from a second process on 127.0.0.1: ``--clients`` concurrent keep-alive
connections (raw asyncio HTTP/1.1, so the client costs little CPU), bounded by time. Prints
requests/s, p50 and p99 latency, and the ratios endpoint/bare and endpoint/floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/csv"), (b"content-length", b"18")]})
    await send({"type": "http.response.body", "body": b"0.4312345678901234"})
"""


def make_model(folder: Path) -> str:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 10)).astype("float32")
    y = X @ rng.normal(size=10) + rng.normal(size=5000)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 6}, xgb.DMatrix(X, y), 50)
    booster.save_model(str(folder / "xgboost-model.ubj"))
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(folder / "xgboost-model.ubj", arcname="xgboost-model")
    return str(folder / "model.tar.gz")


def payload(rows: int) -> bytes:
    rng = np.random.default_rng(1)
    return "\n".join(",".join(f"{v:.4f}" for v in r) for r in rng.normal(size=(rows, 10))).encode()


# --- load generator (second process) -----------------------------------------------------------
async def _client(port: int, request: bytes, deadline: float, lat: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
    finally:
        writer.close()


def _load(port: int, path: str, body: bytes, clients: int, seconds: float, out: object) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    lat: list[float] = []

    async def main() -> None:
        warm_deadline = time.perf_counter() + 1.0
        await asyncio.gather(*[_client(port, request, warm_deadline, []) for _ in range(clients)])
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*[_client(port, request, deadline, lat) for _ in range(clients)])

    start = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - start - 1.0
    arr = np.array(lat) * 1000
    out.put(
        {
            "rps": len(lat) / elapsed,
            "p50": float(np.percentile(arr, 50)),  # type: ignore[attr-defined]
            "p99": float(np.percentile(arr, 99)),
            "n": len(lat),
        }
    )


def load(port: int, path: str, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_load, args=(port, path, body, clients, seconds, q))
    p.start()
    result = q.get(timeout=seconds + 60)
    p.join()
    return result


def wait_ping(port: int) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
    os.environ["OPENMAKER_HOME"] = str(tmp / "home")
    from openmaker.hosting.endpoint_configs import EndpointConfigService
    from openmaker.hosting.endpoints import EndpointService
    from openmaker.hosting.models import ModelService
    from openmaker.hosting.server import free_port
    from openmaker.serving import load_model

    uri = make_model(tmp)
    ModelService().create(
        {"ModelName": "bench", "PrimaryContainer": {"Image": "xgboost", "ModelDataUrl": uri}}
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
    (tmp / "bare.py").write_text(BARE_APP)
    env = dict(os.environ, PYTHONPATH=str(tmp))
    model = load_model(uri)
    results = {}
    for rows in (1, 100):
        body = payload(rows)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 3:
            model.predict(body, "text/csv")
            n += 1
        floor = n / (time.perf_counter() - t0)
        port = free_port()
        bare = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare:app",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env,
        )
        try:
            wait_ping(port)
            bare_r = load(port, "/invocations", body, args.clients, args.seconds)
        finally:
            stop(bare)
        port = free_port()
        ep = start(
            [
                sys.executable,
                "-m",
                "openmaker",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env,
        )
        try:
            wait_ping(port)
            ep_r = load(port, "/endpoints/bench/invocations", body, args.clients, args.seconds)
        finally:
            stop(ep)
        results[rows] = {"floor_rps": floor, "bare": bare_r, "endpoint": ep_r}
        print(
            f"{rows:>3}-row CSV | in-process predict {floor:8.0f} req/s | bare uvicorn "
            f"{bare_r['rps']:7.0f} req/s p50 {bare_r['p50']:.2f} ms p99 {bare_r['p99']:.2f} ms "
            f"| endpoint {ep_r['rps']:7.0f} req/s p50 {ep_r['p50']:.2f} ms p99 "
            f"{ep_r['p99']:.2f} ms | endpoint/bare {ep_r['rps'] / bare_r['rps']:.2f} "
            f"endpoint/in-process {ep_r['rps'] / floor:.2f}",
            flush=True,
        )
    print(
        json.dumps(
            {
                "workers": args.workers,
                "clients": args.clients,
                "cpus": os.cpu_count(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
