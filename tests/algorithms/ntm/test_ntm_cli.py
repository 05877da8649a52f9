"""``openmaker train ntm`` on two hosts (ShardedByS3Key, model averaging), then
``openmaker topics`` on the model it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from openmaker.algorithms.common.topics import synthetic_corpus
from openmaker.cli.main import cli


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_train_two_hosts_then_topics(home: Path, tmp_path: Path) -> None:
    counts = synthetic_corpus(160, 20, 3, alpha0=0.5, topic_concentration=0.1, seed=2).counts
    X = np.asarray(counts.toarray(), dtype=int)
    folder = tmp_path / "train"
    folder.mkdir()
    np.savetxt(folder / "a.csv", X[:80], delimiter=",", fmt="%d")
    np.savetxt(folder / "b.csv", X[80:], delimiter=",", fmt="%d")
    result = run(
        "train", "ntm", "--channel", f"train={folder}", "--content-type", "text/csv",
        "--hp", "num_topics=3", "--hp", "feature_dim=20", "--hp", "epochs=3",
        "--hp", "mini_batch_size=16", "--hp", "optimizer=adam", "--hp", "learning_rate=0.02",
        "--instance-count", "2", "--distribution", "ShardedByS3Key", "--job-name", "ntm-cli",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 host(s)" in result.output and "160 training documents" in result.output
    desc = json.loads(run("jobs", "describe", "ntm-cli").output)
    assert desc["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert metrics["train:total_loss"] > 0 and 0.333 <= metrics["train:tu"] <= 1
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"w{i}\n" for i in range(20)))
    model = desc["ModelArtifacts"]["S3ModelArtifacts"]
    out = run("topics", model, "--vocabulary", str(vocab), "--top", "4", "--output", "json")
    assert out.exit_code == 0, out.output
    topics = json.loads(out.output)["Topics"]
    assert [t["Topic"] for t in topics] == [0, 1, 2]
    assert all(len(t["Words"]) == 4 and set(t["Words"]) <= {f"w{i}" for i in range(20)}
               for t in topics)  # fmt: skip
