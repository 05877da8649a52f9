"""S3 throughput through boto3: openmaker's S3 app vs moto's standalone server, same files.

Run: ``.venv/bin/python benchmarks/bench_s3.py [--size-mb 256] [--small 200] [--repeat 2]``

Each server runs in its own process on 127.0.0.1 (openmaker: ``create_s3_app`` under uvicorn,
objects on disk in a temporary ``OPENMAKER_HOME``; moto: ``moto.server``, objects in memory),
and the client is ``boto3`` in this process with its defaults (``upload_file`` /
``download_file``: 8 MiB multipart parts, 10 threads, CRC32 checksums). Measured, best of
``--repeat``:

* large upload and download: one ``--size-mb`` file (multipart both ways), MB/s;
* small objects: ``--small`` PutObject + GetObject of 64 KiB each, objects/s.

Prints each figure and the ratio openmaker / moto (above 1: openmaker is faster).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPENMAKER_SERVER = """
import sys, uvicorn
from openmaker.api.s3 import create_s3_app
uvicorn.run(create_s3_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def _start(kind: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    if kind == "openmaker":
        cmd = [sys.executable, "-c", OPENMAKER_SERVER, str(workdir / "s3"), str(port)]
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "OPENMAKER_HOME": str(workdir / "home")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def _measure(endpoint: str, big: Path, workdir: Path, small: int, repeat: int) -> dict[str, float]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    s3.create_bucket(Bucket="bench")
    size_mb = big.stat().st_size / 1e6
    payload = os.urandom(64 * 1024)
    best: dict[str, float] = {}
    for attempt in range(repeat):
        t = time.perf_counter()
        s3.upload_file(str(big), "bench", f"big-{attempt}")
        up = size_mb / (time.perf_counter() - t)
        target = workdir / f"download-{attempt}"
        t = time.perf_counter()
        s3.download_file("bench", f"big-{attempt}", str(target))
        down = size_mb / (time.perf_counter() - t)
        assert target.stat().st_size == big.stat().st_size
        target.unlink()
        s3.delete_object(Bucket="bench", Key=f"big-{attempt}")
        t = time.perf_counter()
        for i in range(small):
            s3.put_object(Bucket="bench", Key=f"small/{attempt}/{i}", Body=payload)
        for i in range(small):
            s3.get_object(Bucket="bench", Key=f"small/{attempt}/{i}")["Body"].read()
        ops = 2 * small / (time.perf_counter() - t)
        for name, value in (
            ("upload MB/s", up),
            ("download MB/s", down),
            ("small put+get obj/s", ops),
        ):
            best[name] = max(best.get(name, 0.0), value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        workdir = Path(tmp)
        big = workdir / "big.bin"
        with open(big, "wb") as fh:
            for _ in range(args.size_mb):
                fh.write(os.urandom(1024 * 1024))
        results = {}
        for kind in ("openmaker", "moto"):
            proc, endpoint = _start(kind, workdir / kind)
            try:
                results[kind] = _measure(endpoint, big, workdir, args.small, args.repeat)
            finally:
                proc.terminate()
                proc.wait(30)
    print(f"{args.size_mb} MiB file, {args.small} x 64 KiB objects, best of {args.repeat}")
    print(f"{'':24s}{'openmaker':>12s}{'moto':>12s}{'ratio':>8s}")
    for name in results["openmaker"]:
        ours, theirs = results["openmaker"][name], results["moto"][name]
        print(f"{name:24s}{ours:12.1f}{theirs:12.1f}{ours / theirs:8.2f}")


if __name__ == "__main__":
    main()
