"""Multi-host training jobs (InstanceCount > 1) on the local executor: N processes, one job.

The hosts split the data by ``S3DataDistributionType`` and meet through the job's coordinator;
``algo-1`` writes the model. PCA matches one host exactly (up to float summation order),
XGBoost trains one model on all rows, K-Means lands within a documented margin.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from openmaker.errors import ValidationError
from openmaker.jobs.service import TrainingJobService

from .multihost import model_arrays, request, write_parts, xgboost_predictions

REPLICATED, SHARDED = "FullyReplicated", "ShardedByS3Key"
#: (name, hosts, S3DataDistributionType) of the runs compared with one host
RUNS = (("one", 1, REPLICATED), ("shard", 2, SHARDED), ("repl", 2, REPLICATED))


@pytest.fixture()
def service(home: Path) -> TrainingJobService:
    from openmaker.executors.local import LocalExecutor

    return TrainingJobService(executor=LocalExecutor())


def _run(service: TrainingJobService, req: dict) -> object:
    service.create(req)
    return service.wait(req["TrainingJobName"], timeout=120)


def test_pca_on_two_hosts_equals_one_host(service, tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    data = write_parts(tmp_path / "pca", X, 4)
    hp = {"feature_dim": "6", "num_components": "3", "mini_batch_size": "50"}
    models = {}
    for name, count, dist in (
        ("one", 1, REPLICATED),
        ("shard", 2, SHARDED),
        ("repl", 2, REPLICATED),
    ):
        chans = {"train": (data, dist), "test": (data, dist)}
        rec = _run(service, request(f"pca-{name}", "pca", hp, chans, count))
        assert rec.status == "Completed", rec.failure_reason
        models[name] = (model_arrays(rec.model_artifacts, tmp_path / name), rec)
    one, one_rec = models["one"]
    for name in ("shard", "repl"):
        arrays, rec = models[name]
        np.testing.assert_allclose(arrays["mean"], one["mean"], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(arrays["s"], one["s"], rtol=1e-5)
        # components up to sign (flip_signs makes them deterministic, but be tolerant)
        np.testing.assert_allclose(np.abs(arrays["v"]), np.abs(one["v"]), atol=1e-5)
        metrics = {m.name: m.value for m in rec.final_metrics}
        one_metrics = {m.name: m.value for m in one_rec.final_metrics}
        assert metrics["test:reconstruction_error"] == pytest.approx(
            one_metrics["test:reconstruction_error"], rel=1e-6
        )
    # algo-2's lines are in the job's log, prefixed; metrics came from algo-1 only
    lines = list(service.logs("pca-shard"))
    assert any(line.startswith("[algo-2] ") for line in lines)
    assert any("host=algo-1" in line and "#quality_metric" in line for line in lines)
    assert not any("#quality_metric: host=algo-2" in line for line in lines)


def test_xgboost_on_two_hosts_trains_one_model_on_all_rows(service, tmp_path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1200, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=1200)
    data = write_parts(tmp_path / "xgb", np.column_stack([y, X]), 4)
    hp = {"num_round": "15", "max_depth": "3", "objective": "reg:squarederror"}
    preds = {}
    for name, count, dist in (
        ("one", 1, REPLICATED),
        ("shard", 2, SHARDED),
        ("repl", 2, REPLICATED),
    ):
        rec = _run(service, request(f"xgb-{name}", "xgboost", hp, {"train": (data, dist)}, count))
        assert rec.status == "Completed", rec.failure_reason
        preds[name] = xgboost_predictions(rec.model_artifacts, X[:50])
        series = service.metrics(rec.name, "train:rmse")
        assert [p.step for p in series] == list(range(15))  # algo-1's lines only
    scale = float(np.abs(preds["one"]).max())
    for name in ("shard", "repl"):
        assert np.abs(preds[name] - preds["one"]).max() < 1e-3 * scale


def test_kmeans_on_two_hosts_is_close_to_one_host(service, tmp_path) -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 5)) * 6
    X = centres[rng.integers(0, 4, 1200)] + rng.normal(size=(1200, 5))
    data = write_parts(tmp_path / "km", X, 4)
    hp = {"feature_dim": "5", "k": "4", "mini_batch_size": "100", "epochs": "2"}
    msd = {}
    for name, count, dist in (("one", 1, REPLICATED), ("shard", 2, SHARDED)):
        chans = {"train": (data, dist), "test": (data, dist)}
        rec = _run(service, request(f"km-{name}", "kmeans", hp, chans, count))
        assert rec.status == "Completed", rec.failure_reason
        msd[name] = {m.name: m.value for m in rec.final_metrics}["test:msd"]
        arrays = model_arrays(rec.model_artifacts, tmp_path / name)
        assert arrays["centers"].shape == (4, 5)
        assert arrays["weights"].sum() == pytest.approx(1200)  # every record counted once
    assert msd["shard"] == pytest.approx(msd["one"], rel=0.05)


def test_a_failing_host_fails_the_job_with_its_reason(service, tmp_path) -> None:
    X = np.random.default_rng(3).normal(size=(200, 3))
    data = write_parts(tmp_path / "bad", X, 4)
    (data / "part-3.csv").write_text("1,2,nan\n" * 5)  # ShardedByS3Key: part-3 goes to algo-2
    hp = {"feature_dim": "3", "k": "2", "mini_batch_size": "20"}
    start = time.monotonic()
    rec = _run(service, request("km-bad", "kmeans", hp, {"train": (data, SHARDED)}, 2))
    assert rec.status == "Failed"
    assert rec.failure_reason.startswith("ClientError:")
    assert "NaN" in rec.failure_reason and rec.failure_reason.endswith("(on host algo-2)")
    assert time.monotonic() - start < 60


def test_sharding_needs_a_file_per_host(service, tmp_path) -> None:
    data = write_parts(tmp_path / "few", np.ones((10, 3)), 1)
    hp = {"feature_dim": "3", "num_components": "2", "mini_batch_size": "5"}
    rec = _run(service, request("pca-few", "pca", hp, {"train": (data, SHARDED)}, 2))
    assert rec.status == "Failed"
    assert "ShardedByS3Key over 2 hosts but holds 1 file(s)" in rec.failure_reason


def test_stop_ends_every_host(service, tmp_path) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    data = write_parts(tmp_path / "long", np.column_stack([X[:, 0], X]), 2)
    hp = {"num_round": "100000", "max_depth": "2"}
    service.create(request("xgb-stop", "xgboost", hp, {"train": (data, SHARDED)}, 2))
    deadline = time.monotonic() + 60
    while not any(line.startswith("[algo-2] [") for line in service.logs("xgb-stop")):
        assert time.monotonic() < deadline, "the hosts never started boosting"
        time.sleep(0.2)
    service.stop("xgb-stop")
    rec = service.wait("xgb-stop", timeout=60)
    assert rec.status == "Stopped" and rec.secondary_status == "Stopped"


def test_instance_count_needs_a_distributed_algorithm(service, tmp_path) -> None:
    from openmaker.algorithms import registry

    single = [n for n in registry.names() if not registry.get(n).supports_distributed]
    if not single:
        pytest.skip("every registered algorithm trains on several hosts")
    spec = registry.get(single[0])
    hp = dict(next(iter(spec.example_hyperparameters.values()), {}))
    req = request("single", spec.name, hp, {}, 2)
    req["InputDataConfig"] = [
        {"ChannelName": c.name, "DataSource": {"S3DataSource": {"S3Uri": str(tmp_path)}}}
        for c in spec.channels
        if c.required
    ]
    with pytest.raises(ValidationError, match="InstanceCount > 1"):
        service.create(req)


def test_cli_trains_on_two_hosts(home, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from openmaker.cli.main import cli

    monkeypatch.setenv("OPENMAKER_EXECUTOR", "local")
    data = write_parts(tmp_path / "cli", np.random.default_rng(5).normal(size=(60, 4)), 2)
    args = [
        "train", "pca", "-c", f"train={data}", "--content-type", "text/csv",
        "--hp", "feature_dim=4", "--hp", "num_components=2", "--hp", "mini_batch_size=10",
        "--instance-count", "2", "--distribution", "ShardedByS3Key", "--executor", "local",
        "--job-name", "cli-two", "--no-logs",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rec = TrainingJobService().get("cli-two")
    assert rec.resource_config["InstanceCount"] == 2
    assert rec.input_data_config[0]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == (
        SHARDED
    )
    bad = CliRunner().invoke(cli, [*args[:-3], "--executor", "nomad", "--job-name", "x"])
    assert bad.exit_code != 0 and isinstance(bad.exception, ValidationError)
    assert "available: local, ray" in str(bad.exception)


def test_linear_learner_on_two_hosts_learns_as_well_as_one(service, tmp_path) -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2400, 6))
    y = (X @ rng.normal(size=6) + 0.3 * rng.normal(size=2400) > 0).astype(float)
    data = write_parts(tmp_path / "ll", np.column_stack([y, X])[:2000], 4)
    val = write_parts(tmp_path / "llv", np.column_stack([y, X])[2000:], 1)
    hp = {
        "predictor_type": "binary_classifier",
        "feature_dim": "6",
        "mini_batch_size": "100",
        "epochs": "4",
        "num_models": "4",
    }
    scores = {}
    for name, count, dist in RUNS:
        chans = {"train": (data, dist), "validation": (val, REPLICATED)}
        rec = _run(service, request(f"ll-{name}", "linear-learner", hp, chans, count))
        assert rec.status == "Completed", rec.failure_reason
        final = {m.name: m.value for m in rec.final_metrics}
        scores[name] = final["validation:roc_auc_score"]
        if count > 1:  # algo-2 trained too, and algo-1 alone reported
            lines = list(service.logs(rec.name))
            assert any(ln.startswith("[algo-2] ") for ln in lines)
            assert not any(ln.startswith("[algo-2]") and "#quality_metric" in ln for ln in lines)
    for name in ("shard", "repl"):
        assert scores[name] == pytest.approx(scores["one"], abs=0.01)


def _kill_host(job_dir: Path, host: str) -> None:
    import os
    import signal

    import psutil

    target = str(job_dir / "hosts" / host)
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "openmaker.jobs.entrypoint" in cmd and target in cmd:
            os.kill(proc.pid, signal.SIGKILL)
            return
    raise AssertionError(f"no process for {host}")


@pytest.mark.slow
@pytest.mark.parametrize("retries", [0, 1])
def test_a_lost_host_fails_the_job_or_restarts_it_under_retry_strategy(
    service, tmp_path, retries
) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3))
    data = write_parts(tmp_path / "lost", np.column_stack([X[:, 0], X]), 2)
    req = request("lost", "xgboost", {"num_round": "1500", "max_depth": "2"},
                  {"train": (data, SHARDED)}, 2)  # fmt: skip
    if retries:
        req["RetryStrategy"] = {"MaximumRetryAttempts": retries}
    service.create(req)
    deadline = time.monotonic() + 60
    while not any(line.startswith("[algo-2] [") for line in service.logs("lost")):
        assert time.monotonic() < deadline, "the hosts never started boosting"
        time.sleep(0.1)
    _kill_host(Path(service.get("lost").job_dir), "algo-2")
    rec = service.wait("lost", timeout=180)
    if retries:
        assert rec.status == "Completed", rec.failure_reason
        steps = [t.status for t in rec.secondary_status_transitions]
        assert steps[steps.index("Training") + 1 : -2] == ["Restarting", "Training"]
        assert service.describe("lost")["RetryStrategy"] == {"MaximumRetryAttempts": 1}
    else:
        assert rec.status == "Failed"
        assert rec.failure_reason.startswith(
            "PlatformError: host algo-2 was lost: its process was killed by signal 9"
        )


def test_retry_strategy_is_validated(service, tmp_path) -> None:
    req = request("r", "pca", {"feature_dim": "2", "num_components": "1", "mini_batch_size": "5"},
                  {"train": (tmp_path, REPLICATED)}, 1)  # fmt: skip
    req["RetryStrategy"] = {"MaximumRetryAttempts": 0}
    with pytest.raises(ValidationError, match="MaximumRetryAttempts"):
        service.create(req)


def test_a_lost_host_takes_the_blame_from_the_errors_it_caused() -> None:
    """Its peers' collective errors may be reported before the loss is noticed."""
    from openmaker.jobs.runner import PEER_LEFT_EXIT, JobRunner, Outcome

    outcome = Outcome(returncode=0)
    codes = {1: PEER_LEFT_EXIT}
    assert JobRunner._blame(outcome, codes, 1)  # first to end
    codes[0] = 1
    assert JobRunner._blame(outcome, codes, 0)  # failed on its own beats "a peer left"
    codes[2] = -9
    assert JobRunner._blame(outcome, codes, 2, lost=True)  # the vanished host beats both
    outcome.lost = "its node died"
    codes[3] = 1
    assert not JobRunner._blame(outcome, codes, 3)
    assert not JobRunner._blame(outcome, codes, 3, lost=True)  # the first loss stays the cause
    assert outcome.failed_host == 2
