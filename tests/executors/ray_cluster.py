"""A throwaway Ray cluster on this machine for the tests: ``ray start`` nodes we can kill.

Each node is ``ray start ... --block`` in its own session (process group), so a test can kill
a whole node (raylet, its workers, its actors) with one signal, and teardown ends exactly the
processes it started. Token authentication is off (loopback-only test cluster), and the head
declares nodes dead after ~3 missed 1-second health checks, so a killed node is noticed fast.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAST_HEALTH_CHECKS = (
    '{"health_check_period_ms": 1000, "health_check_failure_threshold": 3, '
    '"health_check_initial_delay_ms": 1000}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


class RayCluster:
    """Nodes started with ``ray start``; :meth:`stop` ends them all."""

    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="omray")  # short: Ray's socket paths are limited
        self.nodes: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self.env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")

    def _start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.temp) / f"{name}.log", "wb")  # noqa: SIM115 - kept for the node's life
        proc = subprocess.Popen(
            # 127.0.0.1 everywhere: the machine's own address may not be reachable (sandboxes, CI)
            [
                _ray_cli(),
                "start",
                *args,
                "--node-ip-address=127.0.0.1",
                "--disable-usage-stats",
                "--block",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
        )
        self.nodes.append(proc)
        return proc

    def start_head(self, num_cpus: int) -> str:
        port = free_port()
        self._start(
            [
                "--head",
                f"--port={port}",
                f"--num-cpus={num_cpus}",
                "--num-gpus=0",
                "--include-dashboard=false",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--temp-dir={self.temp}",
                f"--system-config={FAST_HEALTH_CHECKS}",
            ],
            "head",
        )
        self.address = f"127.0.0.1:{port}"
        self.wait_for_nodes(1)
        return self.address

    def add_node(self, num_cpus: int) -> subprocess.Popen[bytes]:
        proc = self._start(
            [
                f"--address={self.address}",
                f"--num-cpus={num_cpus}",
                "--num-gpus=0",
                f"--dashboard-agent-listen-port={free_port()}",
            ],
            f"node{len(self.nodes)}",
        )
        self.wait_for_nodes(len(self.nodes))
        return proc

    def wait_for_nodes(self, count: int, timeout: float = 90.0) -> None:
        """Wait until ``count`` nodes are alive (asked through ``ray status``'s Python API)."""
        code = (
            "import ray,sys;ray.init(address=sys.argv[1],logging_level='ERROR');"
            "print(sum(n['Alive'] for n in ray.nodes()))"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                [sys.executable, "-c", code, self.address],
                capture_output=True,
                text=True,
                env=self.env,
                timeout=60,
                check=False,
            )
            lines = out.stdout.strip().splitlines()
            if lines and lines[-1].isdigit() and int(lines[-1]) >= count:
                return
            time.sleep(1.0)
        raise RuntimeError(f"Ray cluster did not reach {count} node(s); see {self.temp}")

    @staticmethod
    def kill_node(proc: subprocess.Popen[bytes]) -> None:
        """Kill a node at once: raylet, workers and actors (its whole process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in reversed(self.nodes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.nodes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(self.temp, ignore_errors=True)


def ray_env(monkeypatch: object, address: str, cpus_per_host: float = 1) -> None:
    """Point openmaker at the cluster: executor ``ray``, small instance types."""
    import json

    set_env = monkeypatch.setenv  # type: ignore[attr-defined]
    set_env("OPENMAKER_EXECUTOR", "ray")
    set_env("RAY_ADDRESS", address)
    set_env("RAY_AUTH_MODE", "disabled")
    set_env("OPENMAKER_RAY_PLACEMENT_TIMEOUT", "120")
    set_env(
        "OPENMAKER_RAY_INSTANCE_TYPES",
        json.dumps({"ml.m5.large": {"cpus": cpus_per_host}, "ml.m5.xlarge": {"cpus": 2}}),
    )
