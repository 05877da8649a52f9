"""``openmaker forecast MODEL --input series.jsonl ...`` as a user runs it: forecasts as JSON
Lines, plots, back-testing with ``--holdout``, and clear errors."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from openmaker.cli.main import cli
from openmaker.errors import DataFormatError, ValidationError

PL = 6


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def _sinusoids(count: int = 20, n: int = 300) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    t = np.arange(n)
    return [
        {
            "start": "2024-01-01 00:00:00",
            "target": (10 + 3 * np.sin(2 * np.pi * t / 24 + k) + rng.normal(0, 0.3, n))
            .round(4)
            .tolist(),
        }
        for k in range(count)
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny DeepAR model (a folder and its model.tar.gz) and its series (series.jsonl)."""
    pytest.importorskip("torch")
    from openmaker.algorithms.deepar import fit_deepar

    root = tmp_path_factory.mktemp("deepar-cli")
    series = _sinusoids()
    hps = {
        "time_freq": "H", "prediction_length": str(PL), "context_length": "12", "epochs": "1",
        "mini_batch_size": "32", "num_cells": "8", "num_layers": "1",
    }  # fmt: skip
    fit_deepar(series, hps, model_dir=root / "model")
    with tarfile.open(root / "model.tar.gz", "w:gz") as tar:
        for f in (root / "model").iterdir():
            tar.add(f, arcname=f.name)
    data = root / "series.jsonl"
    data.write_text("".join(json.dumps(s) + "\n" for s in series), encoding="utf-8")
    return {"dir": root / "model", "archive": root / "model.tar.gz", "series": data}


def test_holdout_plot_scores_and_output(
    home: Path, trained: dict[str, Path], tmp_path: Path
) -> None:
    plot, out = tmp_path / "plot.html", tmp_path / "forecasts.jsonl"
    res = _run(
        "forecast", str(trained["archive"]), "--input", str(trained["series"]), "--holdout",
        "--series", "0,3", "--num-samples", "20", "--plot", str(plot), "--output", str(out),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    scores = json.loads(res.stdout)
    assert set(scores) == {
        "test:RMSE", "test:mean_absolute_QuantileLoss", "test:mean_wQuantileLoss",
        "test:wQuantileLoss[0.1]", "test:wQuantileLoss[0.5]", "test:wQuantileLoss[0.9]",
    }  # fmt: skip
    assert all(v >= 0 for v in scores.values())
    assert f"Wrote a plot of 2 series to {plot}" in res.stderr
    forecasts = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(forecasts) == 20  # every series is forecast when --output is given
    assert all(len(f["mean"]) == PL and set(f["quantiles"]) == {"0.1", "0.5", "0.9"}
               for f in forecasts)  # fmt: skip
    svgs = re.findall(r"<svg.*?</svg>", plot.read_text(encoding="utf-8"), flags=re.S)
    assert len(svgs) == 2 and "series 0" in svgs[0] and "series 3" in svgs[1]
    assert all('class="actual"' in s and 'class="band"' in s for s in svgs)
    # held out: the last 6 of 300 hourly points from 2024-01-01 00:00, 2024-01-13 06:00..11:00
    assert "2024-01-13 11:00: mean" in svgs[0] and ", actual " in svgs[0]


def test_json_lines_to_stdout(trained: dict[str, Path], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    series = _sinusoids(count=3, n=100)
    request.write_text(json.dumps({"instances": series}), encoding="utf-8")
    res = _run(
        "forecast", str(trained["dir"]), "--input", str(request), "--quantiles", "0.2,0.8",
        "--num-samples", "10",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 3 and all(set(p["quantiles"]) == {"0.2", "0.8"} for p in lines)

    # --holdout without --plot/--output: forecasts on stdout, the scores on stderr
    res = _run(
        "forecast", str(trained["dir"]), "--input", str(request), "--holdout",
        "--num-samples", "10",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) == 3
    assert "test:RMSE" in res.stderr and "test:RMSE" not in res.stdout


def test_png(trained: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "plot.png"
    res = _run(
        "forecast", str(trained["dir"]), "--input", str(trained["series"]), "--plot", str(plot),
        "--num-samples", "10", "--history", "48",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # --plot without --output prints no forecasts
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors(trained: dict[str, Path], tmp_path: Path) -> None:
    model, data = str(trained["dir"]), str(trained["series"])
    res = _run("forecast", model, "--input", data, "--series", "0,20", "--plot", "p.html")
    assert isinstance(res.exception, ValidationError)
    assert "series 20 is out of range: there are 20 instances" in str(res.exception)
    res = _run("forecast", model, "--input", data, "--plot", str(tmp_path / "p.svg"))
    assert isinstance(res.exception, ValidationError) and ".html or .png" in str(res.exception)
    res = _run("forecast", model, "--input", data, "--quantiles", "0.1,2")
    assert res.exit_code == 2 and "'2' is not a quantile level" in res.output
    res = _run("forecast", model, "--input", data, "--series", "a,b", "--plot", "p.html")
    assert res.exit_code == 2 and "expected indices" in res.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"start": "2024-01-01", "target": [1, 2, 3]}\n{oops\n', encoding="utf-8")
    res = _run("forecast", model, "--input", str(bad))
    assert isinstance(res.exception, DataFormatError) and "line 2" in str(res.exception)
    short = tmp_path / "short.jsonl"
    short.write_text('{"start": "2024-01-01", "target": [1, 2, 3]}\n', encoding="utf-8")
    res = _run("forecast", model, "--input", str(short), "--holdout")
    assert isinstance(res.exception, ValidationError)
    assert "instances[0]: field 'target': 3 points" in str(res.exception)


def test_a_model_that_is_not_deepar(tmp_path: Path, trained: dict[str, Path]) -> None:
    import xgboost

    folder = tmp_path / "xgb"
    folder.mkdir()
    X = np.random.default_rng(0).normal(size=(20, 3))
    booster = xgboost.train({"max_depth": 1}, xgboost.DMatrix(X, label=X[:, 0]), 1)
    booster.save_model(str(folder / "model.json"))
    (folder / "model.json").rename(folder / "xgboost-model")
    res = _run("forecast", str(folder), "--input", str(trained["series"]))
    assert isinstance(res.exception, ValidationError)
    assert "holds a xgboost model; openmaker forecast needs a forecasting-deepar" in str(
        res.exception
    )
