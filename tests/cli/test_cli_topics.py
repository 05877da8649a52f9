"""``openmaker train lda`` then ``openmaker topics MODEL --vocabulary vocab.txt`` as a user
runs them: the top words of each topic, as JSON and as text, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from openmaker.cli.main import cli


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def test_train_then_show_topics(home: Path, tmp_path: Path) -> None:
    V, k = 30, 3
    # three topics, each on its own block of 10 words: topic j's words are "t{j}w{i}"
    topics = np.full((k, V), 1e-4)
    for j in range(k):
        topics[j, 10 * j : 10 * j + 10] = np.linspace(2.0, 1.0, 10)
    topics /= topics.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    theta = rng.dirichlet(np.full(k, 0.3), size=900)
    X = np.vstack([rng.multinomial(40, p) for p in theta @ topics])
    data = tmp_path / "train.csv"
    np.savetxt(data, X, delimiter=",", fmt="%d")
    vocab = tmp_path / "vocab.txt"
    words = [f"t{i // 10}w{i % 10}" for i in range(V)]
    vocab.write_text("\n".join(words) + "\n", encoding="utf-8")

    trained = _run(
        "train", "lda", "--channel", f"train={data}", "--content-type", "text/csv",
        "--hp", "num_topics=3", "--hp", f"feature_dim={V}", "--hp", "mini_batch_size=900",
        "--job-name", "cli-lda",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "Completed" in trained.output
    desc = json.loads(_run("jobs", "describe", "cli-lda").output)
    model = desc["ModelArtifacts"]["S3ModelArtifacts"]

    shown = _run("topics", model, "--vocabulary", str(vocab), "--top", "5", "--output", "json")
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)["Topics"]
    assert [t["Topic"] for t in found] == [0, 1, 2]
    blocks = set()
    for t in found:
        assert len(t["Words"]) == 5 and t["Weights"] == sorted(t["Weights"], reverse=True)
        heads = {w[:2] for w in t["Words"]}
        assert len(heads) == 1  # every top word of a topic comes from one block
        blocks |= heads
    assert blocks == {"t0", "t1", "t2"}

    text = _run("topics", model, "--vocabulary", str(vocab), "--top", "3", "--output", "text")
    lines = text.output.splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 4 for line in lines)
    assert lines[0].split("\t")[1:] == found[0]["Words"][:3]

    short = tmp_path / "short.txt"
    short.write_text("\n".join(words[:20]) + "\n", encoding="utf-8")
    bad = _run("topics", model, "--vocabulary", str(short))
    assert bad.exit_code != 0
    assert "20 words, fewer than the model's vocabulary size (feature_dim) of 30" in str(
        bad.exception
    )
    latin = tmp_path / "latin1.txt"
    head = ("\n".join(words[:5]) + "\ncaf").encode()
    latin.write_bytes(head + "\xe9\n".encode("latin-1"))
    bad = _run("topics", model, "--vocabulary", str(latin))
    assert bad.exit_code != 0 and f"not UTF-8: byte offset {len(head)}" in str(bad.exception)


def test_topics_of_a_model_that_has_none(home: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = tmp_path / "pca.csv"
    np.savetxt(data, rng.normal(size=(40, 4)), delimiter=",")
    trained = _run(
        "train", "pca", "--channel", f"train={data}", "--content-type", "text/csv",
        "--hp", "num_components=2", "--hp", "feature_dim=4", "--hp", "mini_batch_size=40",
        "--job-name", "cli-pca",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    model = json.loads(_run("jobs", "describe", "cli-pca").output)["ModelArtifacts"][
        "S3ModelArtifacts"
    ]
    vocab = tmp_path / "v.txt"
    vocab.write_text("a\nb\nc\nd\n")
    bad = _run("topics", model, "--vocabulary", str(vocab))
    assert bad.exit_code != 0 and "is not a topic model" in str(bad.exception)
