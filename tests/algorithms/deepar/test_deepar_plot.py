"""DeepAR forecast plots: HTML (inline SVG) and PNG from hand-made predictions, clear errors
for bad input, the holdout helpers, and ``plot_forecast`` / ``DeepARModel.plot`` on a tiny
trained model."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.deepar.holdout import holdout_scores, split_holdout
from openmaker.algorithms.deepar.plot import plot_forecast, write_forecast_plot
from openmaker.errors import MissingExtraError, ValidationError
from openmaker.plotting import nice_ticks

PL = 6  # prediction_length


def _instances(count: int = 3, n: int = 48) -> list[dict[str, Any]]:
    out = []
    for k in range(count):
        target: list[Any] = [round(10 + math.sin(i / 3 + k), 4) for i in range(n)]
        target[n - 5] = None  # a missing value in the drawn history
        out.append({"start": "2024-03-01 00:00:00", "target": target, "cat": [k]})
    return out


def _prediction(base: float = 10.0, levels: tuple[str, ...] = ("0.1", "0.5", "0.9")) -> dict:
    mean = [base + 0.1 * j for j in range(PL)]
    spread = {float(q): (float(q) - 0.5) * 4 for q in levels}
    return {
        "mean": mean,
        "quantiles": {q: [m + spread[float(q)] for m in mean] for q in levels},
    }


def _svgs(text: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", text, flags=re.S)


def test_html_panels_have_history_bands_mean_and_dates(tmp_path: Path) -> None:
    inst = _instances()
    preds = [_prediction(), _prediction(11.0), _prediction(12.0)]
    out = write_forecast_plot(
        tmp_path / "f.html", inst, preds, time_freq="H", series=[0, 2], title="Demand <all>"
    )
    assert out == tmp_path / "f.html"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "Demand &lt;all&gt;" in text
    svgs = _svgs(text)
    assert len(svgs) == 2
    assert "series 0 (cat 0)" in svgs[0] and "series 2 (cat 2)" in svgs[1]
    assert "series 1" not in text
    for svg in svgs:
        assert svg.count('class="history"') == 1
        assert svg.count('class="band"') == 1  # 3 levels: only the 0.1-0.9 band
        assert svg.count('class="median"') == 1 and svg.count('class="mean"') == 1
        assert 'class="actual"' not in svg
        # the history has a gap where the target is missing: two pieces, two "M"
        d = re.search(r'class="history" d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
        assert d.count("M") == 2
        mean = re.search(r'class="mean" d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
        assert mean.count("M") == 1 and mean.count("L") == PL - 1
    # 48 hourly points from 2024-03-01 00:00 and 6 forecast: 30 history points from 18:00
    # on day 1, the last forecast hour is 2024-03-03 05:00
    assert "2024-03-01" in svgs[0] and "18:00" in svgs[0]
    assert "2024-03-03" in svgs[0] and "05:00" in svgs[0]
    assert "2024-03-03 05:00: mean 10.5" in svgs[0]  # the hover text of the last point


def test_defaults_history_inner_band_and_actuals(tmp_path: Path) -> None:
    inst = _instances(count=6)
    levels = ("0.1", "0.25", "0.5", "0.75", "0.9")
    preds = [_prediction(levels=levels) for _ in inst]
    actuals: list[Any] = [None] * 6
    actuals[1] = [10.0, None, 10.2, 10.3, float("nan"), 10.5]
    text = write_forecast_plot(
        tmp_path / "f.htm", inst, preds, time_freq="H", actuals=actuals, history=10
    ).read_text(encoding="utf-8")
    svgs = _svgs(text)
    assert len(svgs) == 4  # the first 4 series by default
    assert all(svg.count('class="band"') == 2 for svg in svgs)  # outer and inner band
    assert "0.1–0.9 quantiles" in svgs[0] and "0.25–0.75 quantiles" in svgs[0]
    assert 'class="actual"' in svgs[1] and 'class="actual"' not in svgs[0]
    actual = re.search(r'class="actual" d="([^"]+)"', svgs[1]).group(1)  # type: ignore[union-attr]
    assert actual.count("M") == 3  # broken at the two missing values
    history = re.search(r'class="history" d="([^"]+)"', svgs[0]).group(1)  # type: ignore[union-attr]
    assert history.count("M") + history.count("L") == 9  # 10 points, one missing

    # a mapping of actuals, no history at all, samples only, a monthly series
    monthly = [{"start": "2020-01-01", "target": [1.0, 2.0, 3.0]}]
    rng = np.random.default_rng(0)
    samples = {"samples": (rng.normal(size=(50, 2)) + 3).tolist()}
    text = write_forecast_plot(
        tmp_path / "m.html", monthly, {"predictions": [samples]}, time_freq="M",
        actuals={0: [4.0, 5.0]}, history=0,
    ).read_text(encoding="utf-8")  # fmt: skip
    svg = _svgs(text)[0]
    assert 'class="history"' not in svg and 'class="mean"' in svg and 'class="band"' in svg
    assert "2020-04" in svg and "2020-05" in svg  # the forecast months, no history


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda i, p: p[1].pop("mean"), r"predictions\[1\]: field 'mean' is missing"),
        (lambda i, p: p[1].pop("quantiles"), r"predictions\[1\]: field 'quantiles' is missing"),
        (
            lambda i, p: p[1]["quantiles"].update({"0.9": [1.0, 2.0]}),
            r"predictions\[1\]: field 'quantiles\[0.9\]' has 2 values, 'mean' has 6",
        ),
        (
            lambda i, p: p[0]["quantiles"].update({"1.5": p[0]["mean"]}),
            r"predictions\[0\]: field 'quantiles': '1.5' is not a level",
        ),
        (
            lambda i, p: p[0].update({"mean": ["x"] * PL}),
            r"predictions\[0\]: field 'mean': not a list of numbers",
        ),
        (lambda i, p: p.pop(), r"2 predictions for 3 instances"),
        (lambda i, p: i[1].pop("start"), r"instances\[1\]: field 'start': missing"),
        (
            lambda i, p: i[0].update({"target": "abc"}),
            r"instances\[0\]: field 'target': expected a list",
        ),
    ],
)
def test_bad_input_names_the_series_and_field(tmp_path: Path, change: Any, match: str) -> None:
    inst = _instances()
    preds = [_prediction() for _ in inst]
    change(inst, preds)
    with pytest.raises(ValidationError, match=match):
        write_forecast_plot(tmp_path / "f.html", inst, preds, time_freq="H", series=[0, 1])
    assert not (tmp_path / "f.html").exists()


def test_bad_arguments(tmp_path: Path) -> None:
    inst = _instances()
    preds = [_prediction() for _ in inst]
    path = tmp_path / "f.html"
    with pytest.raises(ValidationError, match=r"series 3 is out of range: there are 3 instances"):
        write_forecast_plot(path, inst, preds, time_freq="H", series=[0, 3])
    with pytest.raises(ValidationError, match="series -1 is out of range"):
        write_forecast_plot(path, inst, preds, time_freq="H", series=[-1])
    with pytest.raises(ValidationError, match="repeats"):
        write_forecast_plot(path, inst, preds, time_freq="H", series=[1, 1])
    with pytest.raises(ValidationError, match="time_freq"):
        write_forecast_plot(path, inst, preds, time_freq="hourly")
    with pytest.raises(ValidationError, match=r"\.html or \.png"):
        write_forecast_plot(tmp_path / "f.svg", inst, preds, time_freq="H")
    with pytest.raises(ValidationError, match=r"actuals\[2\]: 5 values, the forecast"):
        write_forecast_plot(path, inst, preds, time_freq="H", series=[2], actuals={2: [1.0] * 5})
    with pytest.raises(ValidationError, match="actuals: 2 entries for 3 instances"):
        write_forecast_plot(path, inst, preds, time_freq="H", actuals=[None, None])
    with pytest.raises(ValidationError, match="history"):
        write_forecast_plot(path, inst, preds, time_freq="H", history=-1)
    with pytest.raises(ValidationError, match="empty"):
        write_forecast_plot(path, [], [], time_freq="H")
    assert not path.exists()


def test_png(tmp_path: Path) -> None:
    inst = _instances()
    preds = [_prediction(levels=("0.1", "0.25", "0.75", "0.9")) for _ in inst]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r"openmaker\[plot\]"):
            write_forecast_plot(tmp_path / "f.png", inst, preds, time_freq="H")
        pytest.skip("matplotlib is not installed (the plot extra)")
    out = write_forecast_plot(
        tmp_path / "f.png", inst, preds, time_freq="H", series=[0, 2], actuals={0: [10.0] * PL}
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nice_ticks() -> None:
    assert nice_ticks(6.16, 14.19) == [8, 10, 12, 14]
    assert nice_ticks(-1.2, 1.3) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert nice_ticks(0.001, 0.0042) == [0.001, 0.002, 0.003, 0.004]
    assert nice_ticks(3.0, 3.0) == [3.0]


# --- holdout ---------------------------------------------------------------------------------


def test_split_holdout_and_scores() -> None:
    inst = [
        {"start": "2024-01-01", "target": [1.0, 2.0, None, 4.0, 5.0], "cat": [1]},
        {"start": "2024-01-01", "target": [1, 2, 3, 4], "dynamic_feat": [[0, 1, 2, 3, 4, 5]]},
        {"start": "2024-01-01", "target": [1, 2, 3, 4], "dynamic_feat": [[0, 1, 2, 3]]},
    ]
    cut, actuals = split_holdout(inst, 2)
    assert cut[0] == {"start": "2024-01-01", "target": [1.0, 2.0, None], "cat": [1]}
    np.testing.assert_array_equal(actuals[0], [4.0, 5.0])
    assert cut[1]["dynamic_feat"] == [[0, 1, 2, 3]]  # len(target) + 2 -> cut with the target
    assert cut[2]["dynamic_feat"] == [[0, 1, 2, 3]]  # already covers the held-out window
    assert inst[0]["target"] == [1.0, 2.0, None, 4.0, 5.0]  # the input is not changed
    with pytest.raises(ValidationError, match=r"instances\[1\]: field 'target': 4 points"):
        split_holdout(inst, 4)

    preds = [
        {"mean": [4.0, 5.0], "quantiles": {"0.1": [3.0, 4.0], "0.9": [5.0, 6.0]}},
        {"mean": [3.0, 4.0], "quantiles": {"0.1": [2.0, 3.0], "0.9": [4.0, 5.0]}},
    ]
    scores = holdout_scores([np.array([4.0, 5.0]), np.array([3.0, math.nan])], preds)
    assert scores["test:RMSE"] == 0.0
    assert set(scores) == {
        "test:RMSE", "test:wQuantileLoss[0.1]", "test:wQuantileLoss[0.9]",
        "test:mean_absolute_QuantileLoss", "test:mean_wQuantileLoss",
    }  # fmt: skip
    with pytest.raises(ValidationError, match=r"predictions\[1\]: field 'quantiles' has levels"):
        holdout_scores([np.zeros(2)] * 2, [preds[0], {"mean": [0, 0], "quantiles": {}}])


# --- with a trained model ----------------------------------------------------------------------


def _sinusoids(count: int = 20, n: int = 300) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return [
        {
            "start": "2024-01-01 00:00:00",
            "target": (10 + 3 * np.sin(2 * np.pi * t / 24 + k) + rng.normal(0, 0.3, n)).tolist(),
        }
        for k in range(count)
    ]


@pytest.fixture(scope="module")
def model() -> Any:
    pytest.importorskip("torch")
    from openmaker.algorithms.deepar import fit_deepar

    hps = {
        "time_freq": "H", "prediction_length": str(PL), "context_length": "12", "epochs": "1",
        "mini_batch_size": "32", "num_cells": "8", "num_layers": "1",
    }  # fmt: skip
    return fit_deepar(_sinusoids(), hps)


def test_plot_forecast_with_a_model(model: Any, tmp_path: Path) -> None:
    series = _sinusoids()
    actuals = {5: [10.0] * PL}
    out = plot_forecast(
        model, series, tmp_path / "f.html", series=[2, 5], num_samples=20,
        quantiles=("0.1", "0.25", "0.5", "0.75", "0.9"), actuals=actuals, history=24,
    )  # fmt: skip
    svgs = _svgs(out.read_text(encoding="utf-8"))
    assert len(svgs) == 2 and "series 2" in svgs[0] and "series 5" in svgs[1]
    assert all(svg.count('class="band"') == 2 for svg in svgs)
    assert 'class="actual"' in svgs[1]
    # 300 hourly points from 2024-01-01 00:00: the forecast is 2024-01-13 12:00 .. 17:00
    assert "2024-01-13 17:00: mean" in svgs[0]

    # the method on the model does the same; a bad record names its index in the input
    assert model.plot(series, tmp_path / "g.html", series=[0]).exists()
    series[7] = {"start": "soon", "target": [1.0]}
    with pytest.raises(ValidationError, match=r"instances\[7\]: field 'start'"):
        plot_forecast(model, series, tmp_path / "h.html", series=[1, 7])
