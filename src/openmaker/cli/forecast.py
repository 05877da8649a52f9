"""``openmaker forecast MODEL_URI --input series.jsonl [--plot out.html|out.png] [--holdout]``.

Forecasts DeepAR series (``forecasting-deepar`` models) and draws them
(:mod:`openmaker.algorithms.deepar.plot`). The input is JSON Lines of SageMaker's records (one
``{"start": ..., "target": [...]}`` a line) or a JSON request (``{"instances": [...]}``).

* Without ``--plot``: the forecasts, one prediction object a line (``{"mean": [...],
  "quantiles": {"0.1": [...], ...}}``, in input order), on standard output or in ``--output``.
* With ``--plot``: the chosen series (``--series``, default the first 4) drawn to the file
  (``.html``: inline SVG; ``.png``: matplotlib, the ``plot`` extra); only those series are
  forecast unless ``--output`` or ``--holdout`` asks for all.
* ``--holdout``: the last ``prediction_length`` points of every series are held out and
  forecast, the plot draws them as the actual values, and the test scores (``test:RMSE``,
  ``test:mean_wQuantileLoss``, ``test:wQuantileLoss[q]``...) are printed as JSON: on standard
  output, or on standard error when the forecasts go there.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click


def _int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected indices like 0,3; got {value!r}") from None
    if not out:
        raise click.BadParameter("no series index given")
    return out


def _levels(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    out = [v.strip() for v in value.split(",") if v.strip()]
    for v in out:
        try:
            ok = 0 < float(v) < 1
        except ValueError:
            ok = False
        if not ok:
            raise click.BadParameter(f"{v!r} is not a quantile level in (0, 1)")
    if not out:
        raise click.BadParameter("no quantile level given")
    return out


def read_instances(path: str) -> list[Any]:
    """The records of a JSON Lines file or a JSON request (``-``: standard input).

    Raises:
        DataSourceError: the file cannot be read.
        DataFormatError: not JSON Lines nor JSON (names the line).
    """
    from openmaker.errors import DataFormatError, DataSourceError

    if path == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataSourceError(f"Cannot read {path!r}: {exc}", uri=path) from exc
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("instances"), list):
        return list(whole["instances"])
    if isinstance(whole, list):
        return whole
    records = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"not JSON: {exc}", source=path, line=n) from None
    if not records:
        raise DataFormatError("no series in the input", source=path)
    return records


def _json_value(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


@click.command()
@click.argument("model_uri")
@click.option(
    "--input",
    "input_path",
    required=True,
    help="Series to forecast: JSON Lines of records, or a JSON request ('-': standard input).",
)
@click.option(
    "--series",
    callback=_int_list,
    default=None,
    help="Indices (0-based, in input order) of the series to plot, e.g. 0,3 (default: first 4).",
)
@click.option(
    "--num-samples",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Sample paths per series.",
)
@click.option(
    "--quantiles",
    callback=_levels,
    default="0.1,0.5,0.9",
    show_default=True,
    help="Quantile levels to forecast (the bands and the median of the plot).",
)
@click.option(
    "--holdout",
    is_flag=True,
    help="Hold out the last prediction_length points, forecast them, plot and score them.",
)
@click.option(
    "--history",
    type=click.IntRange(min=0),
    default=None,
    help="Points of history drawn before the forecast (default: 5 x prediction_length).",
)
@click.option("--plot", "plot_path", default=None, help="Draw the chosen series (.html or .png).")
@click.option("--title", default=None, help="The plot's title.")
@click.option("--output", "output_path", default=None, help="Write the forecasts (JSON Lines).")
@click.option("--algorithm", default=None, help="Algorithm name (detected when omitted).")
def forecast(
    model_uri: str,
    input_path: str,
    series: list[int] | None,
    num_samples: int,
    quantiles: list[str],
    holdout: bool,
    history: int | None,
    plot_path: str | None,
    title: str | None,
    output_path: str | None,
    algorithm: str | None,
) -> None:
    """Forecast series with MODEL_URI, a DeepAR model (model.tar.gz or a model folder; local,
    file:// or s3://), and draw them with --plot."""
    from openmaker.algorithms.deepar import plot
    from openmaker.algorithms.deepar.frequency import parse_time_freq
    from openmaker.algorithms.deepar.holdout import holdout_scores, split_holdout
    from openmaker.cli.render import to_json
    from openmaker.errors import ValidationError
    from openmaker.plotting import plot_format
    from openmaker.serving import load_model

    fmt = plot_format(plot_path) if plot_path else None
    records = read_instances(input_path)
    loaded = load_model(model_uri, algorithm=algorithm)
    if loaded.algorithm != "forecasting-deepar" or not hasattr(loaded.model, "forecast"):
        raise ValidationError(
            f"{model_uri} holds a {loaded.algorithm} model; openmaker forecast needs a "
            "forecasting-deepar (DeepAR) model"
        )
    model: Any = loaded.model
    actuals: list[Any] = []
    if holdout:
        records, actuals = split_holdout(records, int(model.prediction_length))
    chosen = plot.check_series(series, len(records)) if plot_path else []
    everything = output_path is not None or plot_path is None or holdout
    indices = list(range(len(records))) if everything else chosen
    preds = plot.forecast_series(
        model, records, indices, num_samples=num_samples, quantiles=quantiles
    )
    by_index = dict(zip(indices, preds, strict=True))

    if plot_path and fmt:
        freq = parse_time_freq(model.time_freq)
        panels = [
            plot.make_panel(
                i,
                records[i],
                by_index[i],
                freq,
                actuals=actuals[i] if holdout else None,
                history=history,
            )
            for i in chosen
        ]
        written = plot.render(
            plot_path, panels, title=title or f"DeepAR forecast: {model_uri}", freq=freq, fmt=fmt
        )
        click.echo(f"Wrote a plot of {len(panels)} series to {written}", err=True)

    lines = "".join(json.dumps(p) + "\n" for p in preds) if everything else ""
    if output_path:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(lines)
        click.echo(f"Wrote {len(preds)} forecasts to {output_path}", err=True)
    elif plot_path is None:
        click.echo(lines, nl=False)
    if holdout:
        scores = {k: _json_value(v) for k, v in holdout_scores(actuals, preds).items()}
        click.echo(to_json(scores), err=plot_path is None and output_path is None)
