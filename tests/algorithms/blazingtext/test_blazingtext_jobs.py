"""BlazingText as a user runs it: ``openmaker train blazingtext ...`` (CLI) and the Python API
(``openmaker.Estimator("blazingtext")``: fit, predictor, batch transform of JSON Lines)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from .conftest import labelled_lines


def test_cli_train_blazingtext(home: Path, tmp_path: Path) -> None:
    from openmaker.algorithms.blazingtext.synthetic import topic_corpus
    from openmaker.cli.main import cli

    corpus = tmp_path / "corpus.txt"
    topic_corpus(corpus, sentences=600, groups=2, topics_per_group=2, words_per_topic=8)
    result = CliRunner().invoke(
        cli,
        [
            "train", "blazingtext", "--channel", f"train={corpus}",
            "--content-type", "text/plain", "--hp", "mode=batch_skipgram",
            "--hp", "vector_dim=8", "--hp", "epochs=1", "--hp", "min_count=2",
            "--job-name", "cli-bt",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Completed" in result.output and "train:mean_rho" in result.output
    bad = CliRunner().invoke(
        cli,
        [
            "train", "blazingtext", "--channel", f"train={corpus}",
            "--hp", "mode=batch_skipgram", "--hp", "subwords=true",
        ],
    )  # fmt: skip
    assert bad.exit_code != 0 and "subwords" in bad.output + str(bad.exception)


def test_python_api_fit_predict_transform(home: Path, tmp_path: Path) -> None:
    import openmaker

    lines = labelled_lines(200)
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.txt").write_text("\n".join(lines) + "\n")
    est = openmaker.Estimator(
        "blazingtext",
        {
            "mode": "supervised",
            "epochs": 10,
            "learning_rate": 0.5,
            "vector_dim": 8,
            "min_count": 1,
            "buckets": 10000,
        },
    )
    est.fit({"train": str(tmp_path / "train")}, content_type="text/plain")
    body = json.dumps({"instances": ["great fun", "dull plot"], "configuration": {"k": 2}})
    out, ctype = est.predictor().predict(body, "application/json")
    answer = json.loads(out)
    assert ctype == "application/json" and [a["label"][0] for a in answer] == [
        "__label__pos",
        "__label__neg",
    ]

    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"source": "superb film"}\n{"source": "awful and boring", "k": 2}\n')
    transformer = est.transformer(
        accept="application/jsonlines", assemble_with="Line", strategy="MultiRecord"
    )
    described = transformer.transform(
        str(batch), content_type="application/jsonlines", split_type="Line"
    )
    assert described["TransformJobStatus"] == "Completed"
    from openmaker.data.sources import list_files, open_uri

    (output,) = list_files(described["TransformOutput"]["S3OutputPath"])
    with open_uri(output, "rb") as fh:
        rows = [json.loads(line) for line in fh.read().decode().splitlines()]
    assert [r["label"][0] for r in rows] == ["__label__pos", "__label__neg"]
    assert len(rows[1]["prob"]) == 2
