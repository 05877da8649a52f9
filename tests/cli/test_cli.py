"""The CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from openmaker.cli.main import cli

from ..conftest import make_regression, write_csv


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_help_imports_nothing_heavy():
    code = (
        "import sys; from openmaker.cli.main import cli; "
        "heavy = [m for m in ('numpy', 'pandas', 'xgboost', 'sqlalchemy', 'pyarrow') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    helped = subprocess.run(
        [sys.executable, "-m", "openmaker.cli", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0 and "quickstart" in helped.stdout


def test_algorithms_list_and_describe():
    out = run("algorithms", "list").output
    assert "xgboost" in out
    out = run("algorithms", "describe", "xgboost").output
    assert "num_round" in out and "validation:auc" in out
    data = json.loads(run("algorithms", "describe", "xgboost", "--output", "json").output)
    assert data == json.loads(run("algorithms", "describe", "xgboost", "--json").output)
    names = {h["Name"] for h in data["TrainingSpecification"]["SupportedHyperParameters"]}
    assert {"num_round", "eta", "objective", "eval_metric"} <= names


def test_unknown_algorithm_is_a_clear_error():
    from openmaker.cli.main import main

    proc = subprocess.run(
        [sys.executable, "-m", "openmaker.cli", "algorithms", "describe", "nope"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Unknown algorithm 'nope'" in proc.stderr
    assert main is not None


def test_train_jobs_predict_convert(home, tmp_path):
    X, y = make_regression()
    train = write_csv(tmp_path / "train.csv", X[:240], y[:240])
    val = write_csv(tmp_path / "val.csv", X[240:], y[240:])
    result = run(
        "train",
        "xgboost",
        "--channel",
        f"train={train}",
        "--channel",
        f"validation={val}",
        "--content-type",
        "text/csv",
        "--hp",
        "num_round=8",
        "--hp",
        "max_depth=3",
        "--job-name",
        "cli-job",
    )
    assert result.exit_code == 0, result.output
    assert "Completed" in result.output and "validation:rmse" in result.output

    assert "cli-job" in run("jobs", "list").output
    desc = json.loads(run("jobs", "describe", "cli-job").output)
    assert desc["TrainingJobStatus"] == "Completed"
    assert "[7]" in run("jobs", "logs", "cli-job").output
    assert "validation:rmse" in run("jobs", "metrics", "cli-job").output

    features = write_csv(tmp_path / "features.csv", X[:4], None)
    model = desc["ModelArtifacts"]["S3ModelArtifacts"]
    out = run(
        "predict",
        model,
        "--input",
        str(features),
        "--content-type",
        "text/csv",
        "--accept",
        "application/json",
    ).output
    assert len(json.loads(out)["predictions"]) == 4

    pbr = tmp_path / "train.pbr"
    out = run("data", "convert", str(train), str(pbr), "--to", "application/x-recordio-protobuf")
    assert "240" in out.output and pbr.stat().st_size > 0


def test_bad_hyperparameter_exit_code_and_message(home, tmp_path):
    X, y = make_regression(n=20)
    train = write_csv(tmp_path / "train.csv", X, y)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "openmaker.cli",
            "train",
            "xgboost",
            "--channel",
            f"train={train}",
            "--hp",
            "num_round=0",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "num_round" in proc.stderr and "[1, +inf)" in proc.stderr


def test_a_content_type_and_a_distribution_per_channel(home, tmp_path):
    import numpy as np

    from openmaker.testing.problems import make_word_counts

    counts = make_word_counts(n=120, d=8).X_train
    train = tmp_path / "train" / "counts.csv"
    train.parent.mkdir()
    np.savetxt(train, counts, delimiter=",", fmt="%d")
    vocab = tmp_path / "auxiliary" / "vocab.txt"
    vocab.parent.mkdir()
    vocab.write_text("".join(f"word{i}\n" for i in range(8)))
    result = run(
        "train", "ntm", "--channel", f"train={train.parent}", "--channel",
        f"auxiliary={vocab.parent}", "--content-type", "text/csv",
        "--channel-content-type", "auxiliary=text/plain",
        "--channel-distribution", "auxiliary=FullyReplicated",
        "--hp", "num_topics=2", "--hp", "feature_dim=8", "--hp", "epochs=2",
        "--hp", "mini_batch_size=32", "--job-name", "per-channel",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    described = json.loads(run("jobs", "describe", "per-channel", "--output", "json").output)
    types = {c["ChannelName"]: c["ContentType"] for c in described["InputDataConfig"]}
    assert types == {"train": "text/csv", "auxiliary": "text/plain"}


def test_a_per_channel_option_for_a_channel_not_given_is_refused(home, tmp_path):
    result = run(
        "train", "xgboost", "--channel", "train=x.csv", "--channel-content-type",
        "auxiliary=text/plain", "--hp", "num_round=2",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no --channel named auxiliary" in result.output
    result = run(
        "train", "xgboost", "--channel", "train=x.csv", "--channel-distribution",
        "train=Sharded", "--hp", "num_round=2",
    )  # fmt: skip
    assert result.exit_code == 2 and "ShardedByS3Key" in result.output
