"""``time_freq``: SageMaker's frequency grammar, timestamps, time features and lags.

Grammar (reference 4.1): an optional positive integer multiple followed by ``M`` (monthly),
``W`` (weekly), ``D`` (daily), ``H`` (hourly) or ``min`` (minutely): ``5min``, ``2H``, ``M``.
Surrounding blanks are allowed, anything else is refused.

Timestamps are **periods**: a series starting at ``start`` with frequency ``2H`` has points at
``start``, ``start + 2h``, ...; a monthly series starting ``2009-11-01`` has points for
November, December, ... (:func:`timestamps` gives each period's start time).

Derived time features (reference 4.7, the DG's table, the same as GluonTS's
``time_features_from_frequency_str``), each scaled to [-0.5, 0.5]:

=========  ======================================================================
minute     minute-of-hour, hour-of-day, day-of-week, day-of-month, day-of-year
hour       hour-of-day, day-of-week, day-of-month, day-of-year
day        day-of-week, day-of-month, day-of-year
week       day-of-month, week-of-year
month      month-of-year
=========  ======================================================================

plus the **age** feature of the DeepAR paper, ``log10(2 + t)`` with ``t`` the index from the
series' first point (UNCONFIRMED for SageMaker; the paper has it).

Lags (:func:`lags_for`; the exact SageMaker sets are not documented): lags 1..7 always, plus
the seasonal lags ``s - 1, s, s + 1`` around the seasons the DG's examples name, in units of
the frequency (divided by the multiple, rounded, at most :data:`MAX_LAG`): monthly 12, 24, 36;
weekly 4, 8, 12, 52, 104, 156; daily 7, 14, 21, 28, 30, 365, 730, 1095 (the DG: "previous week,
2, 3 and 4 weeks, and 1 year"); hourly 24, 48, ..., 168 (1 to 7 days) and 336, 504, 672 (2 to 4
weeks); minutely 60, 120, 180 and the hourly set times 60. This is close to GluonTS's
``get_lags_for_frequency``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The grammar (MLS's validator regex, reference 4.1).
TIME_FREQ_PATTERN = re.compile(r"^\s*([1-9]\d*)?(M|D|W|H|min)\s*$")
#: The largest lag used (GluonTS's cap).
MAX_LAG = 1200

_PANDAS_UNIT = {"M": "M", "W": "W", "D": "D", "H": "h", "min": "min"}
_FEATURES = {
    "min": ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "H": ("hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "D": ("day_of_week", "day_of_month", "day_of_year"),
    "W": ("day_of_month", "week_of_year"),
    "M": ("month_of_year",),
}
#: Seasons, in base units, around which ``s - 1, s, s + 1`` are lags.
_SEASONS = {
    "M": (12, 24, 36),
    "W": (4, 8, 12, 52, 104, 156),
    "D": (7, 14, 21, 28, 30, 365, 730, 1095),
    "H": (24, 48, 72, 96, 120, 144, 168, 336, 504, 672),
    "min": (60, 120, 180, *(60 * h for h in (24, 48, 72, 96, 120, 144, 168))),
}


@dataclass(frozen=True)
class Frequency:
    """A parsed ``time_freq``.

    Attributes:
        multiple: the integer multiple (1 when not written).
        unit: ``M``, ``W``, ``D``, ``H`` or ``min``.
    """

    multiple: int
    unit: str

    @property
    def text(self) -> str:
        """The canonical spelling (``5min``, ``H``)."""
        return f"{self.multiple if self.multiple != 1 else ''}{self.unit}"

    @property
    def pandas(self) -> str:
        """The pandas period alias (``5min``, ``2h``, ``M``)."""
        return f"{self.multiple}{_PANDAS_UNIT[self.unit]}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The derived time features of this frequency (module docstring), age excluded."""
        return _FEATURES[self.unit]

    @property
    def seasonality(self) -> int:
        """The main season in points (seasonal-naive's period): 12 monthly, 52 weekly, 7 daily,
        24 hourly, 60 minutely (divided by the multiple, at least 1)."""
        base = {"M": 12, "W": 52, "D": 7, "H": 24, "min": 60}[self.unit]
        return max(1, round(base / self.multiple))


def parse_time_freq(text: str) -> Frequency:
    """``"5min"`` -> ``Frequency(5, "min")``.

    Raises:
        ValueError: not in the grammar (module docstring).
    """
    m = TIME_FREQ_PATTERN.match(str(text))
    if m is None:
        raise ValueError(
            f"{text!r} is not a time frequency: expected an optional positive integer followed "
            "by M, W, D, H or min (e.g. 'H', '5min', '2D')"
        )
    return Frequency(int(m.group(1) or 1), m.group(2))


def lags_for(freq: Frequency) -> list[int]:
    """The lag indices of ``freq`` (module docstring), sorted, unique, in [1, MAX_LAG]."""
    lags = set(range(1, 8))
    for season in _SEASONS[freq.unit]:
        for s in (season - 1, season, season + 1):
            lag = round(s / freq.multiple)
            if 1 <= lag <= MAX_LAG:
                lags.add(lag)
    return sorted(lags)


def start_period(start: Any, freq: Frequency) -> Any:
    """``start`` (a string or datetime) as a pandas Period of ``freq``.

    Raises:
        ValueError: ``start`` does not parse as a timestamp.
    """
    import pandas as pd

    try:
        ts = pd.Timestamp(start)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{start!r} is not a timestamp ('YYYY-MM-DD HH:MM:SS')") from exc
    if ts is pd.NaT:
        raise ValueError(f"{start!r} is not a timestamp ('YYYY-MM-DD HH:MM:SS')")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.to_period(freq.pandas)


def timestamps(start: Any, n: int, freq: Frequency) -> Any:
    """The start times (a pandas DatetimeIndex) of ``n`` points from ``start``."""
    import pandas as pd

    first = start_period(start, freq)
    return pd.period_range(first, periods=n, freq=freq.pandas).to_timestamp()


def time_features(start: Any, n: int, freq: Frequency) -> np.ndarray:
    """Derived time features of ``n`` points from ``start``: float32 ``(n, features)``."""
    return features_of(timestamps(start, n, freq), freq)


def features_of(idx: Any, freq: Frequency) -> np.ndarray:
    """Derived time features of the timestamps ``idx`` (a DatetimeIndex): ``(n, features)``."""
    cols = []
    for name in freq.feature_names:
        if name == "minute_of_hour":
            cols.append(idx.minute / 59.0)
        elif name == "hour_of_day":
            cols.append(idx.hour / 23.0)
        elif name == "day_of_week":
            cols.append(idx.dayofweek / 6.0)
        elif name == "day_of_month":
            cols.append((idx.day - 1) / 30.0)
        elif name == "day_of_year":
            cols.append((idx.dayofyear - 1) / 365.0)
        elif name == "week_of_year":
            cols.append((np.asarray(idx.isocalendar().week, dtype=np.float64) - 1) / 52.0)
        elif name == "month_of_year":
            cols.append((idx.month - 1) / 11.0)
    out = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1) - 0.5
    return out.astype(np.float32)


def base_calendar(first_ordinal: int, n: int, freq: Frequency) -> np.ndarray:
    """Time features of ``n`` consecutive base-unit periods (multiple 1) from the ordinal
    ``first_ordinal``: a calendar every series of the frequency can be sliced from (a point
    ``k`` of a series starting at ordinal ``o`` is row ``o - first_ordinal + k * multiple``)."""
    import pandas as pd

    unit = f"1{_PANDAS_UNIT[freq.unit]}"
    idx = pd.period_range(pd.Period(ordinal=int(first_ordinal), freq=unit), periods=n, freq=unit)
    return features_of(idx.to_timestamp(), freq)


def age_feature(offset: int, n: int) -> np.ndarray:
    """``log10(2 + t)`` for ``t = offset .. offset + n - 1``: float32 ``(n,)``."""
    return np.log10(2.0 + np.arange(offset, offset + n, dtype=np.float64)).astype(np.float32)
