"""CLI output a script or a narrow terminal can use: ``--output json|text|table``.

The CLI runs as a user runs it (a subprocess whose stdout is a pipe or a pseudo-terminal, with
a narrow ``COLUMNS``); ``--output json`` is compared with what boto3 gets from ``openmaker
server`` for the same operation.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shlex
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openmaker.cli.main import cli
from openmaker.cli.render import CLIP, WHOLE, WORDS, fit_widths

from ..conftest import make_regression, write_csv

OPENMAKER = [sys.executable, "-m", "openmaker.cli"]
OK_JOB = "cli-output-job-with-a-name-long-enough-to-be-split-by-rich"
BAD_JOB = "cli-output-failing-job-with-a-long-name-and-a-long-path"
MODEL = "cli-output-model-with-a-rather-long-name-for-narrow-terminals"
CONFIG = "cli-output-endpoint-config-with-a-rather-long-name"
ENDPOINT = "cli-output-endpoint-with-a-rather-long-name-for-tests"
TRANSFORM = "cli-output-transform-job-with-a-rather-long-name"
TUNING = "cli-output-tuning-long-name"  # at most 32 characters
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class Shown:
    """What a command printed."""

    returncode: int
    stdout: str
    stderr: str


def openmaker(*args: str, columns: int | None = 60, **env: str) -> Shown:
    """``openmaker ARGS`` in-process (stdout is not a terminal), ``COLUMNS`` set unless None."""
    environ: dict[str, str | None] = {"COLUMNS": None if columns is None else str(columns)}
    environ.update(FORCE_COLOR=None, TTY_COMPATIBLE=None, **env)
    result = CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)
    return Shown(result.exit_code, result.stdout, result.stderr)


def piped(*args: str) -> subprocess.CompletedProcess:
    """``openmaker ARGS`` as a process whose stdout is a pipe, ``COLUMNS=60``."""
    environ = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    environ["COLUMNS"] = "60"
    return subprocess.run(
        [*OPENMAKER, *args], capture_output=True, text=True, env=environ, timeout=300
    )


def in_terminal(*args: str, columns: int = 60) -> str:
    """``openmaker ARGS`` in a pseudo-terminal ``columns`` wide (no ``COLUMNS``): what the user
    sees, escape sequences removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environ["TERM"] = "xterm"
    proc = subprocess.Popen([*OPENMAKER, *args], stdout=slave, stderr=slave, env=environ)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError("the CLI did not finish")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


def whole(identifier: str, output: str) -> bool:
    """``identifier`` is on one line of ``output`` (not broken, not cut)."""
    return any(identifier in line for line in output.splitlines())


# --- the world the tests look at ---------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One OPENMAKER_HOME with a completed and a failed training job, a model, an endpoint
    config, an endpoint, a transform job and a tuning job, all with long names and paths."""
    root = tmp_path_factory.mktemp("cli-output") / "a-directory-with-a-long-name-for-the-paths"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENMAKER_HOME", str(root / "home"))
        mp.delenv("OPENMAKER_DATABASE_URL", raising=False)
        mp.delenv("OPENMAKER_ARTIFACTS_URI", raising=False)
        mp.delenv("OPENMAKER_DEFAULT_OUTPUT", raising=False)
        mp.setenv("OPENMAKER_STOP_GRACE", "3")
        X, y = make_regression(n=120, d=4)
        train = write_csv(root / "data" / "train.csv", X[:90], y[:90])
        val = write_csv(root / "data" / "validation.csv", X[90:], y[90:])
        features = write_csv(root / "data" / "features.csv", X[:5], None)
        broken = root / "data" / "a-second-rather-long-folder-name" / "broken.csv"
        broken.parent.mkdir(parents=True)
        broken.write_text("not,numbers,at,all\n")

        def run(*args: str) -> str:
            result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return result.output

        run("train", "xgboost", "-c", f"train={train}", "-c", f"validation={val}",
            "--content-type", "text/csv", "--hp", "num_round=3", "--job-name", OK_JOB,
            "--no-logs")  # fmt: skip
        failed = piped("train", "xgboost", "-c", f"train={broken}", "--content-type",
                        "text/csv", "--hp", "num_round=3", "--job-name", BAD_JOB)  # fmt: skip
        from openmaker.jobs.service import TrainingJobService

        model_data = TrainingJobService().get(OK_JOB).model_artifacts or ""
        run("models", "create", MODEL, "--model-data", model_data, "--image", "xgboost")
        run("endpoint-configs", "create", CONFIG, "--variant", f"model={MODEL},name=Variant-1")
        run("endpoints", "create", ENDPOINT, "--config", CONFIG)
        run("transform", "start", TRANSFORM, "--model", MODEL, "--input", str(features),
            "--output", str(root / "transform-output"))  # fmt: skip
        run("tune", "xgboost", "-c", f"train={train}", "-c", f"validation={val}",
            "--content-type", "text/csv", "--objective", "validation:rmse",
            "--range", "eta=0.1:0.5", "--static", "num_round=2", "--max-jobs", "1",
            "--strategy", "Random", "--job-name", TUNING)  # fmt: skip
        from ..api.conftest import ApiServer

        server = ApiServer()
        try:
            yield {
                "sm": server.client("sagemaker"),
                "url": server.url,
                "failed": failed,
                "broken": str(broken),
                "model_data": model_data,
                "failure": TrainingJobService().get(BAD_JOB).failure_reason,
                "trial": TrainingJobService().list(name_contains=TUNING)[0][0].name,
            }
        finally:
            run("endpoints", "delete", ENDPOINT)
            server.close()


# --- the issue's own reproduction --------------------------------------------------------------
def test_grep_finds_an_algorithm_in_the_piped_list() -> None:
    proc = subprocess.run(
        f"{shlex.join(OPENMAKER)} algorithms list | grep factorization-machines",
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "60"},
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    name, _title, channels, types = line.split("\t")
    assert (name, channels, types) == (
        "factorization-machines",
        "train*, test",
        "application/x-recordio-protobuf",
    )


def test_narrow_terminal_truncates_descriptions_and_keeps_identifiers() -> None:
    from openmaker.algorithms import registry

    shown = in_terminal("algorithms", "list", columns=60)  # no --output: a table, on a terminal
    assert "┃ name" in shown and "…" in shown
    assert all(whole(name, shown) for name in registry.names())
    assert whole("application/x-recordio-protobuf", shown)
    assert "Factorization Machines" not in shown  # the title column gave up its width

    from openmaker.spec.hyperparameters import describe_table

    spec = registry.get("xgboost")
    table = openmaker("algorithms", "describe", "xgboost", "--output", "table").stdout
    shown_names = [h["name"] for h in describe_table(spec.hyperparameters)]
    assert len(shown_names) > 40 and all(whole(name, table) for name in shown_names)
    cut = [line for line in table.splitlines() if line.startswith("│ num_round ")]
    assert cut and cut[0].rstrip(" │").endswith("…")  # the description, cut
    assert all(whole(m.regex, table) for m in spec.metrics if m.tunable)


def test_tables_fit_the_terminal_when_the_identifiers_allow_it() -> None:
    table = openmaker("algorithms", "describe", "xgboost", "--output", "table", columns=100)
    lines = table.stdout.splitlines()
    start = lines.index("Hyperparameters") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    assert end - start > 40 and {len(line) for line in lines[start : end + 1]} == {100}
    natural = openmaker("algorithms", "describe", "xgboost", "--output", "table", columns=None)
    assert "…" not in natural.stdout  # a pipe without COLUMNS: natural width, nothing cut


def test_fit_widths_shrinks_descriptions_first_and_never_identifiers() -> None:
    fits = [WHOLE, CLIP, WORDS]
    assert fit_widths([10, 30, 20], [10, 8, 12], fits, None) == [10, 30, 20]
    assert fit_widths([10, 30, 20], [10, 8, 12], fits, 60) == [10, 30, 20]
    assert fit_widths([10, 30, 20], [10, 8, 12], fits, 40) == [10, 10, 20]
    assert fit_widths([10, 30, 20], [10, 8, 12], fits, 30) == [10, 8, 12]
    assert fit_widths([10, 30, 20], [10, 8, 12], fits, 5) == [10, 8, 12]


def test_train_prints_the_failure_reason_whole(world: dict[str, Any]) -> None:
    failed = world["failed"]
    assert failed.returncode == 1
    assert whole(world["failure"], failed.stdout)
    assert "broken.csv" in world["failure"] and len(world["failure"]) > 100


# --- --output json is the API's response -------------------------------------------------------
LISTS = [
    (["algorithms", "list"], "list_algorithms", {"SortBy": "Name", "SortOrder": "Ascending"}),
    (["jobs", "list"], "list_training_jobs", {}),
    (["models", "list"], "list_models", {}),
    (["endpoint-configs", "list"], "list_endpoint_configs", {}),
    (["endpoints", "list"], "list_endpoints", {}),
    (["transform", "list"], "list_transform_jobs", {}),
    (["tuning", "list"], "list_hyper_parameter_tuning_jobs", {}),
    (
        ["tuning", "trials", TUNING],
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": TUNING, "SortBy": "Name"},
    ),
]
NEWEST_FIRST = {"SortBy": "CreationTime", "SortOrder": "Descending"}
DESCRIBES = [
    (["algorithms", "describe", "xgboost"], "describe_algorithm", {"AlgorithmName": "xgboost"}),
    (["jobs", "describe", BAD_JOB], "describe_training_job", {"TrainingJobName": BAD_JOB}),
    (["models", "describe", MODEL], "describe_model", {"ModelName": MODEL}),
    (
        ["endpoint-configs", "describe", CONFIG],
        "describe_endpoint_config",
        {"EndpointConfigName": CONFIG},
    ),
    (["endpoints", "describe", ENDPOINT], "describe_endpoint", {"EndpointName": ENDPOINT}),
    (
        ["transform", "describe", TRANSFORM],
        "describe_transform_job",
        {"TransformJobName": TRANSFORM},
    ),
    (
        ["tuning", "describe", TUNING],
        "describe_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": TUNING},
    ),
]


def assert_same(
    cli_value: Any,
    api_value: Any,
    path: str = "",
    *,
    timestamps: str = "datetime",
    extra_allowed: bool = False,
) -> None:
    """The CLI's JSON equals the API's response (timestamps: the CLI's ISO 8601 against
    boto3's datetimes or the wire's epoch seconds, to 1 ms). ``extra_allowed``: the CLI may have
    members boto3 does not read."""
    if isinstance(cli_value, str) and ISO.match(cli_value) and not isinstance(api_value, str):
        expected = api_value if timestamps == "epoch" else api_value.timestamp()
        assert abs(datetime.fromisoformat(cli_value).timestamp() - expected) < 0.002, path
    elif isinstance(api_value, dict):
        assert isinstance(cli_value, dict), path
        if extra_allowed:
            assert set(api_value) <= set(cli_value), path
        else:
            assert set(cli_value) == set(api_value), path
        for key in api_value:
            assert_same(cli_value[key], api_value[key], f"{path}.{key}",
                        timestamps=timestamps, extra_allowed=extra_allowed)  # fmt: skip
    elif isinstance(api_value, list):
        assert isinstance(cli_value, list) and len(cli_value) == len(api_value), path
        for i, (a, b) in enumerate(zip(cli_value, api_value, strict=True)):
            assert_same(a, b, f"{path}[{i}]", timestamps=timestamps, extra_allowed=extra_allowed)
    else:
        assert cli_value == api_value, path


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def wire(url: str, method: str, request: dict[str, Any]) -> dict[str, Any]:
    """The API's response body for a boto3 method's operation, as the server sends it; for a
    List operation every page, merged as the AWS CLI (and ours) shows them."""
    import httpx

    operation = "".join(part.title() for part in method.split("_"))
    merged: dict[str, Any] | None = None
    while True:
        answer = httpx.post(
            url,
            content=json.dumps(request),
            headers={
                "X-Amz-Target": f"SageMaker.{OPERATIONS.get(method, operation)}",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert answer.status_code == 200, answer.text
        page = dict(answer.json())
        token = page.pop("NextToken", None)
        if merged is None:
            merged = page
        else:
            for key, value in page.items():
                if isinstance(value, list):
                    merged[key].extend(value)
        if not (method.startswith("list_") and token):
            return merged
        request = {**request, "NextToken": token}


#: boto3 method -> operation, where title-casing the method's name does not give it.
OPERATIONS = {
    "list_hyper_parameter_tuning_jobs": "ListHyperParameterTuningJobs",
    "list_training_jobs_for_hyper_parameter_tuning_job": (
        "ListTrainingJobsForHyperParameterTuningJob"
    ),
    "describe_hyper_parameter_tuning_job": "DescribeHyperParameterTuningJob",
}


@pytest.mark.parametrize(("args", "method", "request_"), LISTS + DESCRIBES)
def test_json_is_the_api_response(world: dict[str, Any], args, method, request_) -> None:
    shown = openmaker(*args, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    cli_json = json.loads(shown.stdout)
    if method.startswith("list_") and not request_:
        request_ = NEWEST_FIRST
    # exactly what the server sends ...
    assert_same(cli_json, wire(world["url"], method, request_), timestamps="epoch")
    # ... and what boto3 reads from it (botocore drops members its model lacks), all pages
    if method.startswith("list_"):
        answer = {}
        for page in world["sm"].get_paginator(method).paginate(**request_):
            for key, value in page.items():
                if isinstance(value, list):
                    answer.setdefault(key, []).extend(value)
    else:
        answer = getattr(world["sm"], method)(**request_)
        answer.pop("ResponseMetadata")
    assert_same(cli_json, answer, extra_allowed=True)
    if method.startswith("describe_"):  # a describe's default on a pipe
        assert json.loads(openmaker(*args).stdout) == json.loads(shown.stdout)


# --- --output text: tab-separated records ------------------------------------------------------
def test_text_lists_are_tab_separated_records(world: dict[str, Any]) -> None:
    expected = {
        ("jobs", "list"): (6, {OK_JOB, BAD_JOB, world["trial"]}),
        ("models", "list"): (4, {MODEL}),
        ("endpoint-configs", "list"): (3, {CONFIG}),
        ("endpoints", "list"): (5, {ENDPOINT}),
        ("transform", "list"): (5, {TRANSFORM}),
        ("tuning", "list"): (7, {TUNING}),
        ("tuning", "trials", TUNING): (7, {world["trial"]}),
        ("tuning", "trials", TUNING, "--sort-by-objective"): (4, {world["trial"]}),
        ("jobs", "metrics", OK_JOB): (4, {"train:rmse", "validation:rmse"}),
    }
    for args, (fields, firsts) in expected.items():
        piped = openmaker(*args)  # a list's default on a pipe is text
        assert piped.stdout == openmaker(*args, "--output", "text").stdout
        records = [line.split("\t") for line in piped.stdout.splitlines()]
        assert records and {len(r) for r in records} == {fields}, args
        if args[1] == "trials":
            assert {r[1 if len(args) == 3 else 0] for r in records} == firsts
        else:
            assert {r[0] for r in records} == firsts, args
    models = [line.split("\t") for line in openmaker("models", "list").stdout.splitlines()]
    assert models[0][:3] == [MODEL, "xgboost", world["model_data"]]
    listed = openmaker("jobs", "list").stdout.splitlines()
    jobs = {fields[0]: fields for fields in (line.split("\t") for line in listed)}
    assert jobs[BAD_JOB][2] == "Failed"
    datetime.fromisoformat(jobs[BAD_JOB][4])  # ISO 8601 times for scripts


def test_text_describe_is_path_tab_value(world: dict[str, Any]) -> None:
    shown = openmaker("jobs", "describe", BAD_JOB, "--output", "text").stdout
    records = [line.split("\t") for line in shown.splitlines()]
    assert {len(r) for r in records} == {2}
    fields = dict(records)
    assert fields["TrainingJobName"] == BAD_JOB
    assert fields["TrainingJobStatus"] == "Failed"
    assert fields["FailureReason"] == world["failure"]
    assert fields["InputDataConfig[0].DataSource.S3DataSource.S3Uri"] == world["broken"]
    assert fields["HyperParameters.num_round"] == "3"
    assert fields["EnableNetworkIsolation"] == "false"


# --- identifiers stay whole in every mode ------------------------------------------------------
def test_names_paths_and_uris_are_never_split(world: dict[str, Any]) -> None:
    paths = [word for word in world["failure"].split() if "/" in word]
    identifiers = [BAD_JOB, world["broken"], *paths]
    assert paths and max(map(len, paths)) > 60
    for output in ("json", "text", "table"):
        described = openmaker("jobs", "describe", BAD_JOB, "--output", output).stdout
        assert all(whole(i, described) for i in identifiers), output
        # a table wraps the message between words, where json and text keep it one line
        assert output == "table" or whole(world["failure"], described)
        listed = openmaker("jobs", "list", "--output", output).stdout
        assert whole(BAD_JOB, listed) and whole(OK_JOB, listed), output
        models = openmaker("models", "list", "--output", output).stdout
        assert whole(MODEL, models), output
        assert output == "json" or whole(world["model_data"], models)  # not in ListModels
        model = openmaker("models", "describe", MODEL, "--output", output).stdout
        assert whole(world["model_data"], model), output
        for args in (["endpoints", "list"], ["transform", "list"], ["tuning", "list"]):
            assert whole({"endpoints": ENDPOINT, "transform": TRANSFORM}.get(args[0], TUNING),
                         openmaker(*args, "--output", output).stdout), (args, output)  # fmt: skip
    terminal = in_terminal("jobs", "describe", BAD_JOB, columns=60)  # a table on a terminal
    assert "TrainingJobStatus" in terminal and "Failed" in terminal
    assert whole(BAD_JOB, terminal) and whole(world["broken"], terminal)


def test_default_output_from_the_environment(world: dict[str, Any]) -> None:
    listed = openmaker("models", "list", OPENMAKER_DEFAULT_OUTPUT="json")
    assert json.loads(listed.stdout)["Models"][0]["ModelName"] == MODEL
    described = openmaker("models", "describe", MODEL, OPENMAKER_DEFAULT_OUTPUT="text")
    assert f"ModelName\t{MODEL}" in described.stdout.splitlines()
    flag_wins = openmaker("models", "list", "--output", "text", OPENMAKER_DEFAULT_OUTPUT="json")
    assert flag_wins.stdout.startswith(MODEL + "\t")
    bad = openmaker("models", "list", OPENMAKER_DEFAULT_OUTPUT="yaml")
    assert bad.returncode == 2 and "OPENMAKER_DEFAULT_OUTPUT" in bad.stderr
    assert "json, text or table" in bad.stderr


# --- the quickstart's command can be pasted ----------------------------------------------------
def test_quickstart_prints_a_command_that_runs(home: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "quick start" / "a-directory-name-long-enough-to-wrap-at-eighty"
    proc = piped("quickstart", "--workdir", str(workdir), "--num-round", "10")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Test accuracy" in proc.stdout and "validation:auc" in proc.stdout
    lines = proc.stdout.splitlines()
    command = shlex.split(lines[lines.index("Try it yourself:") + 1])
    assert command[:2] == ["openmaker", "predict"]
    assert command[command.index("--input") + 1] == str(workdir / "test-features.csv")
    ran = subprocess.run([*OPENMAKER, *command[1:]], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    test_rows = len((workdir / "test-features.csv").read_text().splitlines())
    assert len(json.loads(ran.stdout)["predictions"]) == test_rows
