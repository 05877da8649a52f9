"""Endpoint throughput and latency vs. in-process predict and a bare uvicorn app.

Run: ``.venv/bin/python benchmarks/bench_endpoint.py [--seconds 10] [--clients 32] [--repeat 3]``

One run, same machine, same model (XGBoost, 50 trees of depth 6, 10 features), 1-row and
100-row CSV payloads:

* floor: ``model.predict`` called in this process, back to back, one request at a time
  (requests/s of one caller, no HTTP);
* bare: a raw ASGI app on uvicorn (same worker count) that answers a constant: the serving
  limit of the HTTP stack;
* endpoint: ``openmaker serve`` answering ``POST /endpoints/NAME/invocations`` (micro-batching
  on, its defaults).

The load comes from a second process on 127.0.0.1: ``--clients`` concurrent keep-alive
connections (raw asyncio HTTP/1.1, so the client costs little CPU), bounded by time. Bare and
endpoint runs alternate ``--repeat`` times so a change in the machine's load hits both; each
run prints requests/s, p50 and p99 latency and the server's CPU time per request (user + sys
of the server process: a figure that moves less than requests/s when other processes compete
for the cores). The summary gives the median of the runs and the ratios endpoint/bare and
endpoint/floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
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
    from openmaker.algorithms.xgboost._runtime import configure_openmp

    configure_openmp()  # as the serving process does, before xgboost loads
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
    warm: list[float] = []

    async def main() -> None:
        warm_deadline = time.perf_counter() + 1.0
        await asyncio.gather(*[_client(port, request, warm_deadline, warm) for _ in range(clients)])
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*[_client(port, request, deadline, lat) for _ in range(clients)])

    start = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - start - 1.0
    arr = np.array(lat) * 1000
    out.put(  # type: ignore[attr-defined]
        {
            "rps": len(lat) / elapsed,
            "p50": float(np.percentile(arr, 50)),
            "p99": float(np.percentile(arr, 99)),
            "n": len(lat),
            "total": len(lat) + len(warm),
        }
    )


def load(
    port: int, path: str, body: bytes, clients: int, seconds: float, server_pid: int
) -> dict[str, float]:
    """Run the load generator; add the server's CPU time per request (µs)."""
    import psutil

    server = psutil.Process(server_pid)

    def cpu() -> float:
        procs = [server, *server.children(recursive=True)]
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_load, args=(port, path, body, clients, seconds, q))
    before = cpu()
    p.start()
    result = q.get(timeout=seconds + 60)
    p.join()
    result["cpu_us"] = (cpu() - before) / result["total"] * 1e6
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


def serve_once(cmd: list[str], env: dict[str, str], path: str, body: bytes, args: object) -> dict:
    from openmaker.hosting.server import free_port

    port = free_port()
    proc = start([*cmd, "--port", str(port)], env)
    try:
        wait_ping(port)
        return load(port, path, body, args.clients, args.seconds, proc.pid)  # type: ignore[attr-defined]
    finally:
        stop(proc)


def fmt(r: dict[str, float]) -> str:
    return (
        f"{r['rps']:7.0f} req/s p50 {r['p50']:6.2f} ms p99 {r['p99']:7.2f} ms "
        f"cpu {r['cpu_us']:5.0f} µs/req"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
    os.environ["OPENMAKER_HOME"] = str(tmp / "home")
    from openmaker.hosting.endpoint_configs import EndpointConfigService
    from openmaker.hosting.endpoints import EndpointService
    from openmaker.hosting.models import ModelService
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
    bare_cmd = [sys.executable, "-m", "uvicorn", "bare:app", "--workers", str(args.workers),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
    ep_cmd = [sys.executable, "-m", "openmaker", "serve", "--workers", str(args.workers)]
    # the in-process floor with the thread count the serving worker gets
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    model = load_model(uri)
    summary = {}
    for rows in args.rows:
        body = payload(rows)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 3:
            model.predict(body, "text/csv")
            n += 1
        floor = n / (time.perf_counter() - t0)
        print(f"{rows:>3}-row CSV | in-process predict {floor:8.0f} req/s", flush=True)
        runs: dict[str, list[dict]] = {"bare": [], "endpoint": []}
        for _ in range(args.repeat):
            r = serve_once(bare_cmd, env, "/invocations", body, args)
            runs["bare"].append(r)
            print(f"{rows:>3}-row CSV | bare uvicorn     {fmt(r)}", flush=True)
            r = serve_once(ep_cmd, env, "/endpoints/bench/invocations", body, args)
            runs["endpoint"].append(r)
            print(f"{rows:>3}-row CSV | endpoint         {fmt(r)}", flush=True)
        med = {
            kind: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu_us")}
            for kind, rs in runs.items()
        }
        bare, ep = med["bare"], med["endpoint"]
        print(
            f"{rows:>3}-row CSV | median of {args.repeat}: bare {bare['rps']:.0f} req/s, endpoint "
            f"{ep['rps']:.0f} req/s (p50 {ep['p50']:.2f} ms, p99 {ep['p99']:.2f} ms) | "
            f"endpoint/bare {ep['rps'] / bare['rps']:.2f} | endpoint/in-process "
            f"{ep['rps'] / floor:.2f} | server CPU per request: bare {bare['cpu_us']:.0f} µs, "
            f"endpoint {ep['cpu_us']:.0f} µs (bare/endpoint {bare['cpu_us'] / ep['cpu_us']:.2f})",
            flush=True,
        )
        summary[rows] = {"floor_rps": floor, "runs": runs, "median": med}
    print(
        json.dumps(
            {
                "workers": args.workers,
                "clients": args.clients,
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "results": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
