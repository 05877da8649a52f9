"""DeepAR forecast plots: history, mean, median and quantile bands, one panel per series.

``.html`` / ``.htm`` -> a self-contained page with inline SVG (no dependency, dates as axis
labels, values on hover); ``.png`` -> matplotlib (the ``plot`` extra). See
:mod:`openmaker.plotting`.

Each panel shows the last ``history`` points of the series' ``target`` (default
``5 * prediction_length``), then over the forecast window: the band between the lowest and the
highest quantile level (shaded), the band between the second lowest and the second highest
when there are 4 or more levels (shaded darker), the median (``0.5``, dashed) when present,
the mean, and the true values when ``actuals`` are given (a held-out window).

Instances are SageMaker's inference records (``{"start": ..., "target": [...]}``, ``cat`` and
``dynamic_feat`` optional) and predictions SageMaker's response objects
(``{"mean": [...], "quantiles": {"0.1": [...], ...}, "samples": [[...], ...]}``); a prediction
with ``samples`` but no ``mean`` or ``quantiles`` gets them from its samples (quantiles 0.1,
0.5 and 0.9). Either may also be given as the whole request (``{"instances": [...]}``) or
response (``{"predictions": [...]}``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openmaker.algorithms.deepar.frequency import Frequency, parse_time_freq, timestamps
from openmaker.algorithms.deepar.inputs import parse_record
from openmaker.errors import ValidationError
from openmaker.plotting import nice_ticks, plot_format, pyplot

#: Series drawn when ``series`` is not given: the first ``DEFAULT_SERIES``.
DEFAULT_SERIES = 4
#: History drawn when ``history`` is not given: this many times ``prediction_length``.
HISTORY_FACTOR = 5
#: Quantile levels derived from ``samples`` when a prediction has no ``quantiles``.
SAMPLE_LEVELS = (0.1, 0.5, 0.9)

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 40, 48, 48
HISTORY_COLOR, FORECAST_COLOR, ACTUAL_COLOR = "#444444", "#1f77b4", "#d62728"


@dataclass
class Panel:
    """What one series' panel draws (all arrays float64, NaN = missing).

    Attributes:
        index: the series' index in the request (the panel's title).
        label: the panel's title.
        times: the timestamps of ``history`` then of the forecast window.
        history: the last points of the target.
        mean: the mean forecast (``prediction_length``).
        quantiles: level -> that quantile's forecast, levels sorted.
        actuals: the true values of the forecast window, or None.
    """

    index: int
    label: str
    times: Any
    history: np.ndarray
    mean: np.ndarray
    quantiles: dict[float, np.ndarray]
    actuals: np.ndarray | None

    @property
    def bands(self) -> list[tuple[float, float]]:
        """The shaded bands, widest first: (lowest, highest) level, then the inner pair when
        there are 4 or more levels."""
        levels = sorted(self.quantiles)
        out = []
        if len(levels) >= 2:
            out.append((levels[0], levels[-1]))
        if len(levels) >= 4:
            out.append((levels[1], levels[-2]))
        return out

    @property
    def median(self) -> np.ndarray | None:
        """The 0.5 quantile, when forecast."""
        return self.quantiles.get(0.5)


def write_forecast_plot(
    path: str | Path,
    instances: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    time_freq: str,
    series: Sequence[int] | None = None,
    title: str | None = None,
    actuals: Sequence[Any] | Mapping[int, Any] | None = None,
    history: int | None = None,
) -> Path:
    """Draw forecasts of chosen series to ``path`` (``.html``/``.htm`` or ``.png``).

    Args:
        path: the output file; its suffix picks the format.
        instances: the request's records, in order (or the request ``{"instances": [...]}``).
        predictions: the response's objects, one per instance (or ``{"predictions": [...]}``).
        time_freq: the model's ``time_freq`` (``"H"``, ``"5min"``, ...), for the dates.
        series: indices of the instances to draw (default: the first 4).
        title: the page's (figure's) title (default ``"DeepAR forecast"``).
        actuals: the true values of the forecast windows: a list aligned with ``instances``
            (``None`` entries for series without them) or ``{index: values}``; each
            ``prediction_length`` long (``None``/NaN for missing values).
        history: how many of the last target points to draw (default
            ``5 * prediction_length``; 0 draws none).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValidationError: a bad suffix, ``time_freq``, series index, record or prediction (the
            message names the series index and the field).
        MissingExtraError: PNG without matplotlib.
    """
    fmt = plot_format(path)
    freq = _frequency(time_freq)
    records = _unwrap(instances, "instances")
    preds = _unwrap(predictions, "predictions")
    if len(preds) != len(records):
        raise ValidationError(
            f"{len(preds)} predictions for {len(records)} instances: expected one per instance"
        )
    chosen = check_series(series, len(records))
    truth = _actuals_by_index(actuals, len(records))
    panels = [
        make_panel(i, records[i], preds[i], freq, actuals=truth.get(i), history=history)
        for i in chosen
    ]
    return render(path, panels, title=title or "DeepAR forecast", freq=freq, fmt=fmt)


def plot_forecast(
    model: Any,
    instances: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    path: str | Path,
    *,
    series: Sequence[int] | None = None,
    num_samples: int = 100,
    quantiles: Sequence[str | float] = ("0.1", "0.5", "0.9"),
    actuals: Sequence[Any] | Mapping[int, Any] | None = None,
    history: int | None = None,
    title: str | None = None,
) -> Path:
    """Forecast the chosen series with ``model`` and draw them to ``path``.

    Only the drawn series are forecast. ``actuals`` and ``series`` index ``instances`` as in
    :func:`write_forecast_plot`.

    Args:
        model: a DeepAR model (``model.forecast(...)`` and ``model.time_freq``).
        instances: the records to forecast (SageMaker's inference format).
        path: the output file (``.html``/``.htm`` or ``.png``).
        series: indices of the instances to draw (default: the first 4).
        num_samples: sample paths per series.
        quantiles: the quantile levels to forecast (the bands and the median).
        actuals: true values of the forecast windows (see :func:`write_forecast_plot`).
        history: target points drawn before the forecast (default ``5 * prediction_length``).
        title: the page's title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    fmt = plot_format(path)
    freq = _frequency(model.time_freq)
    records = _unwrap(instances, "instances")
    chosen = check_series(series, len(records))
    truth = _actuals_by_index(actuals, len(records))
    preds = forecast_series(model, records, chosen, num_samples=num_samples, quantiles=quantiles)
    panels = [
        make_panel(i, records[i], p, freq, actuals=truth.get(i), history=history)
        for i, p in zip(chosen, preds, strict=True)
    ]
    return render(path, panels, title=title or "DeepAR forecast", freq=freq, fmt=fmt)


def forecast_series(
    model: Any,
    records: Sequence[Mapping[str, Any]],
    indices: Sequence[int],
    *,
    num_samples: int = 100,
    quantiles: Sequence[str | float] = ("0.1", "0.5", "0.9"),
) -> list[dict[str, Any]]:
    """``model.forecast`` of ``records[i]`` for each ``i`` in ``indices`` (mean and quantiles),
    in that order; a bad record's error names its index in ``records``.

    Raises:
        ValidationError: a bad record (``instances[i]: field ...``) or configuration.
    """
    _check_instances(model, records, indices, _frequency(model.time_freq))
    preds: list[dict[str, Any]] = model.forecast(
        [records[i] for i in indices],
        num_samples=num_samples,
        quantiles=[str(q) for q in quantiles],
        output_types=("mean", "quantiles"),
    )
    return preds


# --- checks ---------------------------------------------------------------------------------


def _check_instances(
    model: Any, records: Sequence[Any], chosen: Sequence[int], freq: Frequency
) -> None:
    """Check the chosen records as the model will, so that an error names the record's index
    in ``instances`` (the model only sees the chosen ones, and numbers them from 0)."""
    from openmaker.algorithms.deepar.inputs import check_request_series

    layout = getattr(getattr(model, "encoder", None), "layout", None)
    for i in chosen:
        s = parse_record(records[i], f"instances[{i}]", freq)
        if len(s) == 0:
            raise ValidationError(f"instances[{i}]: field 'target': empty")
        if layout is not None:
            check_request_series(s, layout, int(model.prediction_length))


def _frequency(time_freq: str) -> Frequency:
    try:
        return parse_time_freq(time_freq)
    except ValueError as exc:
        raise ValidationError(f"time_freq: {exc}") from None


def _unwrap(obj: Any, key: str) -> list[Any]:
    if isinstance(obj, Mapping):
        if key not in obj:
            raise ValidationError(f"{key}: expected a list, or an object with {key!r}")
        obj = obj[key]
    if isinstance(obj, str | bytes) or not isinstance(obj, Sequence):
        raise ValidationError(f"{key}: expected a list, got {type(obj).__name__}")
    return list(obj)


def check_series(series: Sequence[int] | None, count: int) -> list[int]:
    """The indices to draw: ``series`` checked, or the first :data:`DEFAULT_SERIES`.

    Raises:
        ValidationError: no instances, an index out of range, or a repeated index.
    """
    if count == 0:
        raise ValidationError("instances: no series to draw (the list is empty)")
    if series is None:
        return list(range(min(DEFAULT_SERIES, count)))
    chosen = list(series)
    if not chosen:
        raise ValidationError("series: no series chosen")
    for i in chosen:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise ValidationError(f"series: {i!r} is not a series index")
        if not 0 <= i < count:
            raise ValidationError(
                f"series {i} is out of range: there are {count} instances (0..{count - 1})"
            )
    if len(set(chosen)) != len(chosen):
        raise ValidationError(f"series: {chosen} repeats an index")
    return [int(i) for i in chosen]


def _actuals_by_index(actuals: Any, count: int) -> dict[int, Any]:
    if actuals is None:
        return {}
    if isinstance(actuals, Mapping):
        out = {}
        for k, v in actuals.items():
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < count:
                raise ValidationError(f"actuals: key {k!r} is not a series index (0..{count - 1})")
            out[int(k)] = v
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(actuals, str | bytes) or not isinstance(actuals, Sequence):
        raise ValidationError(f"actuals: expected a list or a dict, got {type(actuals).__name__}")
    if len(actuals) != count:
        raise ValidationError(
            f"actuals: {len(actuals)} entries for {count} instances: expected one per instance "
            "(None where there are none)"
        )
    return {i: v for i, v in enumerate(actuals) if v is not None}


def _values(value: Any, where: str) -> np.ndarray:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | np.ndarray):
        raise ValidationError(f"{where}: expected a list of numbers, got {type(value).__name__}")
    try:
        arr = np.array(
            [math.nan if v is None or (isinstance(v, str) and v.lower() == "nan") else v
             for v in value],
            dtype=np.float64,
        )  # fmt: skip
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: not a list of numbers") from None
    if arr.ndim != 1:
        raise ValidationError(f"{where}: expected a flat list of numbers")
    return arr


def _forecast_of(pred: Any, i: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    where = f"predictions[{i}]"
    if not isinstance(pred, Mapping):
        raise ValidationError(f"{where}: expected an object, got {type(pred).__name__}")
    samples = None
    if pred.get("samples") is not None:
        rows = [_values(s, f"{where}: field 'samples[{k}]'") for k, s in enumerate(pred["samples"])]
        if rows and len({len(r) for r in rows}) == 1:
            samples = np.stack(rows)
    if pred.get("mean") is not None:
        mean = _values(pred["mean"], f"{where}: field 'mean'")
    elif samples is not None:
        mean = samples.mean(axis=0)
    else:
        raise ValidationError(
            f"{where}: field 'mean' is missing (forecast with output_types including 'mean')"
        )
    if len(mean) == 0:
        raise ValidationError(f"{where}: field 'mean' is empty")
    quantiles: dict[float, np.ndarray] = {}
    if pred.get("quantiles") is not None:
        raw = pred["quantiles"]
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{where}: field 'quantiles' must map levels to lists")
        for key, vals in raw.items():
            try:
                level = float(key)
            except (TypeError, ValueError):
                level = math.nan
            if not 0 < level < 1:
                raise ValidationError(
                    f"{where}: field 'quantiles': {key!r} is not a level in (0, 1)"
                )
            q = _values(vals, f"{where}: field 'quantiles[{key}]'")
            if len(q) != len(mean):
                raise ValidationError(
                    f"{where}: field 'quantiles[{key}]' has {len(q)} values, 'mean' has {len(mean)}"
                )
            quantiles[level] = q
    elif samples is not None:
        quantiles = {q: np.quantile(samples, q, axis=0) for q in SAMPLE_LEVELS}
    else:
        raise ValidationError(
            f"{where}: field 'quantiles' is missing (forecast with output_types including "
            "'quantiles')"
        )
    if samples is not None and samples.shape[1] != len(mean):
        raise ValidationError(
            f"{where}: field 'samples' has paths of {samples.shape[1]} values, 'mean' has "
            f"{len(mean)}"
        )
    return mean, dict(sorted(quantiles.items()))


def make_panel(
    index: int,
    instance: Any,
    prediction: Any,
    freq: Frequency,
    *,
    actuals: Any = None,
    history: int | None = None,
) -> Panel:
    """Check one series' record, prediction and actuals and gather what its panel draws.

    Raises:
        ValidationError: naming the series index and the field.
    """
    record = parse_record(instance, f"instances[{index}]", freq)
    mean, quantiles = _forecast_of(prediction, index)
    horizon = len(mean)
    truth = None
    if actuals is not None:
        truth = _values(actuals, f"actuals[{index}]")
        if len(truth) != horizon:
            raise ValidationError(
                f"actuals[{index}]: {len(truth)} values, the forecast of instances[{index}] has "
                f"{horizon} (prediction_length)"
            )
    if history is None:
        history = HISTORY_FACTOR * horizon
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise ValidationError(f"history: {history!r} is not a number of points (>= 0)")
    n = len(record)
    shown = min(history, n)
    times = timestamps(instance["start"], n + horizon, freq)[n - shown :]
    label = f"series {index}"
    if record.cat is not None and len(record.cat):
        label += f" (cat {', '.join(str(int(c)) for c in record.cat)})"
    past = record.target[n - shown :].astype(np.float64)
    return Panel(index, label, times, past, mean, quantiles, truth)


# --- drawing --------------------------------------------------------------------------------


def render(
    path: str | Path, panels: Sequence[Panel], *, title: str, freq: Frequency, fmt: str
) -> Path:
    """Write checked panels to ``path`` as ``fmt`` (``html`` or ``png``)."""
    out = Path(path)
    if fmt == "html":
        out.write_text(_html(panels, title, freq), encoding="utf-8")
    else:
        _png(out, panels, title)
    return out


def _level(q: float) -> str:
    return f"{q:g}"


def _band_label(lo: float, hi: float) -> str:
    return f"{_level(lo)}–{_level(hi)} quantiles"


def _png(out: Path, panels: Sequence[Panel], title: str) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), squeeze=False)
    for ax, p in zip(axes[:, 0], panels, strict=True):
        h = len(p.history)
        t = p.times.to_numpy()
        past, future = t[:h], t[h:]
        if h:
            ax.plot(past, p.history, color=HISTORY_COLOR, lw=1.2, label="history")
        for k, (lo, hi) in enumerate(p.bands):
            ax.fill_between(
                future,
                p.quantiles[lo],
                p.quantiles[hi],
                color=FORECAST_COLOR,
                alpha=0.18 if k == 0 else 0.3,
                lw=0,
                label=_band_label(lo, hi),
            )
        if p.median is not None:
            ax.plot(future, p.median, color=FORECAST_COLOR, lw=1, ls="--", label="median")
        ax.plot(future, p.mean, color=FORECAST_COLOR, lw=1.8, label="mean")
        if p.actuals is not None:
            ax.plot(future, p.actuals, color=ACTUAL_COLOR, lw=1.2, marker="o", ms=3,
                    label="actual")  # fmt: skip
        ax.axvline(future[0], color="#999999", lw=0.8, ls=":")
        ax.set_title(p.label, fontsize=10, loc="left")
        ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncol=6, frameon=False)
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _date_format(freq: Frequency) -> str:
    return {"M": "%Y-%m", "W": "%Y-%m-%d", "D": "%Y-%m-%d"}.get(freq.unit, "%Y-%m-%d %H:%M")


def _line(xs: Sequence[float], ys: np.ndarray) -> str:
    """An SVG path through the finite points, broken where values are missing."""
    parts, pen_down = [], False
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(y):
            parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
        else:
            pen_down = False
    return " ".join(parts)


def _svg_panel(p: Panel, freq: Frequency) -> str:
    h, horizon = len(p.history), len(p.mean)
    n = h + horizon
    drawn = [p.history, p.mean, *p.quantiles.values()]
    if p.actuals is not None:
        drawn.append(p.actuals)
    finite = np.concatenate([a[np.isfinite(a)] for a in drawn])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(k: float) -> float:
        return LEFT + plot_w * (k / max(n - 1, 1))

    def y(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo)

    fx = [x(h + k) for k in range(horizon)]
    els = [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#cccccc"/>'
    ]
    for v in nice_ticks(lo, hi):
        yy = y(v)
        els.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + plot_w}" y2="{yy:.1f}" '
            f'stroke="#eeeeee"/><text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" '
            f'font-size="11">{v:g}</text>'
        )
    fmt = _date_format(freq)
    for k in sorted({round(j * (n - 1) / 5) for j in range(6)}):
        label = p.times[k].strftime(fmt)
        day, _, clock = label.partition(" ")
        xx = x(k)
        els.append(
            f'<line x1="{xx:.1f}" y1="{TOP + plot_h}" x2="{xx:.1f}" y2="{TOP + plot_h + 4}" '
            f'stroke="black"/><text x="{xx:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="11" class="date">{html.escape(day)}'
            + (f'<tspan x="{xx:.1f}" dy="13">{html.escape(clock)}</tspan>' if clock else "")
            + "</text>"
        )
    legend: list[tuple[str, str]] = []
    for k, (qlo, qhi) in enumerate(p.bands):
        a, b = p.quantiles[qlo], p.quantiles[qhi]
        ok = np.isfinite(a) & np.isfinite(b)
        upper = [f"{fx[j]:.1f},{y(b[j]):.1f}" for j in range(horizon) if ok[j]]
        lower = [f"{fx[j]:.1f},{y(a[j]):.1f}" for j in reversed(range(horizon)) if ok[j]]
        opacity = 0.18 if k == 0 else 0.3
        label = _band_label(qlo, qhi)
        els.append(
            f'<polygon class="band" points="{" ".join(upper + lower)}" fill="{FORECAST_COLOR}" '
            f'fill-opacity="{opacity}" stroke="none"><title>{label}</title></polygon>'
        )
        legend.append((f'fill="{FORECAST_COLOR}" fill-opacity="{opacity}"', label))
    if h:
        d = _line([x(k) for k in range(h)], np.array([y(v) for v in p.history]))
        els.append(
            f'<path class="history" d="{d}" fill="none" stroke="{HISTORY_COLOR}" '
            'stroke-width="1.2"/>'
        )
        legend.insert(0, (f'stroke="{HISTORY_COLOR}" stroke-width="1.2"', "history"))
    xs_start = x(h) if h == 0 else (x(h - 1) + x(h)) / 2
    els.append(
        f'<line x1="{xs_start:.1f}" y1="{TOP}" x2="{xs_start:.1f}" y2="{TOP + plot_h}" '
        'stroke="#999999" stroke-dasharray="2,3"/>'
    )
    if p.median is not None:
        els.append(
            f'<path class="median" d="{_line(fx, np.array([y(v) for v in p.median]))}" '
            f'fill="none" stroke="{FORECAST_COLOR}" stroke-width="1" stroke-dasharray="5,3"/>'
        )
        legend.append((f'stroke="{FORECAST_COLOR}" stroke-dasharray="5,3"', "median"))
    els.append(
        f'<path class="mean" d="{_line(fx, np.array([y(v) for v in p.mean]))}" fill="none" '
        f'stroke="{FORECAST_COLOR}" stroke-width="2"/>'
    )
    legend.append((f'stroke="{FORECAST_COLOR}" stroke-width="2"', "mean"))
    if p.actuals is not None:
        ay = np.array([y(v) for v in p.actuals])
        els.append(
            f'<path class="actual" d="{_line(fx, ay)}" fill="none" stroke="{ACTUAL_COLOR}" '
            'stroke-width="1.2"/>'
        )
        legend.append((f'stroke="{ACTUAL_COLOR}" stroke-width="1.2"', "actual"))
    dates = [t.strftime(fmt) for t in p.times[h:]]
    for j in range(horizon):
        tip = f"{dates[j]}: mean {p.mean[j]:.4g}" + "".join(
            f", q{_level(q)} {v[j]:.4g}" for q, v in p.quantiles.items()
        )
        if p.actuals is not None and math.isfinite(p.actuals[j]):
            tip += f", actual {p.actuals[j]:.4g}"
            els.append(f'<circle cx="{fx[j]:.1f}" cy="{ay[j]:.1f}" r="2.5" fill="{ACTUAL_COLOR}"/>')
        if math.isfinite(p.mean[j]):
            els.append(
                f'<circle cx="{fx[j]:.1f}" cy="{y(p.mean[j]):.1f}" r="5" fill-opacity="0">'
                f"<title>{html.escape(tip)}</title></circle>"
            )
    keys, lx = [], float(LEFT)
    for style, text in legend:
        # bands are swatches, lines are short strokes
        key = (
            f'<rect x="{lx:.0f}" y="{TOP - 19}" width="12" height="10" {style}/>'
            if style.startswith("fill")
            else f'<line x1="{lx:.0f}" y1="{TOP - 14}" x2="{lx + 12:.0f}" y2="{TOP - 14}" {style}/>'
        )
        keys.append(
            key
            + f'<text x="{lx + 16:.0f}" y="{TOP - 10}" font-size="11">{html.escape(text)}</text>'
        )
        lx += 30 + 6.2 * len(text)
    name = html.escape(p.label)
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{name}">'
        f"<title>{name}</title>"
        f'<text x="{LEFT}" y="{TOP - 30}" font-size="13" font-weight="bold">{name}</text>'
        + "".join(keys)
        + "".join(els)
        + "</svg>"
    )


def _html(panels: Sequence[Panel], title: str, freq: Frequency) -> str:
    t = html.escape(title)
    body = "\n".join(f'<div class="panel">{_svg_panel(p, freq)}</div>' for p in panels)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{t}</title></head>
<body style="font-family: sans-serif">
<h3>{t}</h3>
{body}
<p>Grey: the last points of each series. Blue: the forecast (line: mean, dashed: median,
shaded: quantile bands). Red: the true values, where given. Hover a forecast point for its
values.</p>
</body></html>
"""
