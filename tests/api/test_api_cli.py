"""``openmaker server``: the command starts the API on its port and boto3 talks to it."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import REGION, free_port


def test_openmaker_server_serves_the_api(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    env = dict(os.environ, OPENMAKER_HOME=str(tmp_path / "home"))
    env.pop("OPENMAKER_DATABASE_URL", None)
    env.pop("OPENMAKER_S3_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "openmaker", "server", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/ping", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "openmaker server did not start"
            time.sleep(0.1)
        sm = boto3.client(
            "sagemaker", endpoint_url=url, region_name=REGION,
            aws_access_key_id="any", aws_secret_access_key="any",
        )  # fmt: skip
        names = [a["AlgorithmName"] for a in sm.list_algorithms(MaxResults=100)[
            "AlgorithmSummaryList"]]  # fmt: skip
        assert {"xgboost", "linear-learner"} <= set(names)
        if importlib.util.find_spec("openmaker.api.s3") is not None:
            s3 = boto3.client(
                "s3", endpoint_url=f"{url}/s3", region_name=REGION,
                aws_access_key_id="any", aws_secret_access_key="any",
            )  # fmt: skip
            s3.create_bucket(Bucket="from-cli")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert f"openmaker API on http://127.0.0.1:{port}" in output


def test_server_is_a_registered_command() -> None:
    from click.testing import CliRunner

    from openmaker.cli.main import cli

    result = CliRunner().invoke(cli, ["server", "--help"])
    assert result.exit_code == 0
    assert "--auth" in result.output and "--credentials" in result.output
