"""From series to network inputs: padded arrays, training windows, forecast requests.

Every series is laid out with ``pad = max(lag) + context_length`` points of zeros before its
first point (marked unobserved), so any window and its lags stay inside its own rows. Its
covariates per point are the derived time features (sliced from one shared calendar, see
:func:`~openmaker.algorithms.deepar.frequency.base_calendar`), the age feature
``log10(2 + t)`` (``t`` clamped at 0 in the padding) and its ``dynamic_feat``.

A **training window** is ``context_length + prediction_length`` consecutive points whose
forecast part starts at point ``t0`` of a series, ``1 <= t0 <= len - prediction_length`` (at
least one point of history; series with no such ``t0`` are skipped). Windows are drawn
uniformly over every valid ``(series, t0)``: longer series give proportionally more windows.
An epoch is ``max(series, positions / window length, 10 mini-batches)`` windows (SageMaker
also makes "several passes" per epoch over a small number of series).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openmaker.algorithms.deepar.frequency import Frequency, age_feature, base_calendar
from openmaker.algorithms.deepar.inputs import Layout, Series

#: A shared calendar longer than this many base-unit rows is not built (per-series features).
MAX_CALENDAR_ROWS = 3_000_000
#: The fewest mini-batches an epoch has (few, short series: several windows per series).
MIN_BATCHES = 10


@dataclass(frozen=True)
class Encoder:
    """The model's fixed view of a series.

    Attributes:
        freq: the frequency.
        lags: lag indices (ascending).
        context_length, prediction_length: the window.
        layout: ``cat`` / ``dynamic_feat`` use.
        scaling: whether windows are mean-scaled (not for ``beta``).
    """

    freq: Frequency
    lags: tuple[int, ...]
    context_length: int
    prediction_length: int
    layout: Layout
    scaling: bool = True

    @property
    def pad(self) -> int:
        """Points of padding before each series."""
        return max(self.lags) + self.context_length

    @property
    def num_time_features(self) -> int:
        """Derived time features plus age."""
        return len(self.freq.feature_names) + 1

    @property
    def num_covariates(self) -> int:
        """Per-point covariates: time features, age, dynamic features."""
        return self.num_time_features + self.layout.num_dynamic_feat

    # --- per-series arrays -----------------------------------------------------------------
    def calendars(self, series: Sequence[Series], future: int) -> list[np.ndarray]:
        """Time features of each series' padded range plus ``future`` points."""
        m = self.freq.multiple
        firsts = [int(s.start.ordinal) - self.pad * m for s in series]
        lasts = [int(s.start.ordinal) + (len(s) + future) * m for s in series]
        lo, hi = (min(firsts), max(lasts)) if series else (0, 0)
        out = []
        if series and hi - lo <= MAX_CALENDAR_ROWS:
            cal = base_calendar(lo, hi - lo + 1, self.freq)
            for s, first in zip(series, firsts, strict=True):
                n = self.pad + len(s) + future
                out.append(cal[first - lo : first - lo + n * m : m])
            return out
        for s, first in zip(series, firsts, strict=True):
            n = self.pad + len(s) + future
            out.append(base_calendar(first, (n - 1) * m + 1, self.freq)[::m])
        return out

    def covariates(self, s: Series, calendar: np.ndarray, future: int) -> np.ndarray:
        """``(pad + len + future, covariates)`` float32 for one series."""
        n = self.pad + len(s) + future
        cov = np.zeros((n, self.num_covariates), dtype=np.float32)
        nt = len(self.freq.feature_names)
        cov[:, :nt] = calendar
        cov[self.pad :, nt] = age_feature(0, len(s) + future)
        cov[: self.pad, nt] = age_feature(0, 1)[0]
        d = self.layout.num_dynamic_feat
        if d and s.dynamic_feat is not None:
            width = min(s.dynamic_feat.shape[1], len(s) + future)
            cov[self.pad : self.pad + width, nt + 1 :] = s.dynamic_feat[:, :width].T
        return cov

    def cat_of(self, s: Series) -> np.ndarray:
        """The series' ``cat`` values used by the model (empty when unused)."""
        k = len(self.layout.cardinality)
        if not k or s.cat is None:
            return np.zeros(k, dtype=np.int64)
        return s.cat[:k].astype(np.int64)


@dataclass
class Batch:
    """Network inputs of ``B`` windows of ``T`` points (numpy, float32 unless said).

    Attributes:
        lags: ``(B, T, lags)`` scaled lagged values.
        covariates: ``(B, T, covariates)``.
        cat: ``(B, cat features)`` int64.
        scale: ``(B,)``.
        target: ``(B, T)`` values (0 where missing).
        observed: ``(B, T)`` 1 where the target is observed.
    """

    lags: np.ndarray
    covariates: np.ndarray
    cat: np.ndarray
    scale: np.ndarray
    target: np.ndarray
    observed: np.ndarray


class TrainingBank:
    """Every training series, padded and concatenated, and the valid window starts.

    Args:
        encoder: the model's view.
        series: the training series (those too short for one window are skipped).
    """

    def __init__(self, encoder: Encoder, series: Sequence[Series]) -> None:
        self.encoder = encoder
        P, C, T = encoder.pad, encoder.context_length, encoder.prediction_length
        keep = [s for s in series if len(s) - T >= 1]
        self.skipped = len(series) - len(keep)
        self.series_count = len(keep)
        calendars = encoder.calendars(keep, 0)
        z_parts, m_parts, cov_parts, starts, owner = [], [], [], [], []
        offset = 0
        for i, (s, cal) in enumerate(zip(keep, calendars, strict=True)):
            n = P + len(s)
            obs = np.isfinite(s.target)
            z = np.zeros(n, dtype=np.float32)
            z[P:] = np.where(obs, s.target, 0.0)
            m = np.zeros(n, dtype=np.float32)
            m[P:] = obs
            z_parts.append(z)
            m_parts.append(m)
            cov_parts.append(encoder.covariates(s, cal, 0))
            t0 = np.arange(1, len(s) - T + 1)
            starts.append(offset + P + t0 - C)
            owner.append(np.full(len(t0), i, dtype=np.int64))
            offset += n
        self.z = np.concatenate(z_parts) if z_parts else np.zeros(0, np.float32)
        self.m = np.concatenate(m_parts) if m_parts else np.zeros(0, np.float32)
        self.cov = (
            np.concatenate(cov_parts)
            if cov_parts
            else np.zeros((0, encoder.num_covariates), np.float32)
        )
        self.starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self.owner = np.concatenate(owner) if owner else np.zeros(0, np.int64)
        self.cats = (
            np.stack([encoder.cat_of(s) for s in keep])
            if keep
            else np.zeros((0, len(encoder.layout.cardinality)), np.int64)
        )
        self.observations = int(self.m.sum())
        self._lags = np.asarray(encoder.lags, dtype=np.int64)
        self._steps = np.arange(C + T, dtype=np.int64)

    @property
    def positions(self) -> int:
        """Valid ``(series, t0)`` window positions."""
        return int(self.starts.shape[0])

    def windows_per_epoch(self, mini_batch_size: int) -> int:
        """``max(series, positions / window length, MIN_BATCHES mini-batches)``, rounded up to
        whole mini-batches."""
        window = self.encoder.context_length + self.encoder.prediction_length
        n = max(self.series_count, -(-self.positions // window), MIN_BATCHES * mini_batch_size)
        return -(-n // mini_batch_size) * mini_batch_size

    def sample(self, rng: np.random.Generator, size: int) -> Batch:
        """``size`` windows drawn uniformly over the valid positions."""
        pick = rng.integers(0, self.positions, size=size)
        return self.gather(self.starts[pick], self.cats[self.owner[pick]])

    def gather(self, starts: np.ndarray, cats: np.ndarray) -> Batch:
        """The windows beginning at flat rows ``starts``."""
        enc = self.encoder
        rows = starts[:, None] + self._steps[None, :]
        target = self.z[rows]
        observed = self.m[rows]
        ctx = slice(0, enc.context_length)
        scale = window_scale(target[:, ctx], observed[:, ctx], enc.scaling)
        lags = self.z[rows[:, :, None] - self._lags[None, None, :]] / scale[:, None, None]
        return Batch(lags, self.cov[rows], cats, scale, target, observed)


def window_scale(values: np.ndarray, observed: np.ndarray, scaling: bool) -> np.ndarray:
    """Mean absolute observed value per row (1 where 0 or nothing observed; 1 without scaling)."""
    if not scaling:
        return np.ones(values.shape[0], dtype=np.float32)
    count = observed.sum(axis=1)
    total = (np.abs(values) * observed).sum(axis=1)
    scale = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return np.where(scale > 0, scale, 1.0).astype(np.float32)


@dataclass
class Request:
    """Forecast inputs of ``B`` series: their context windows and their future covariates.

    Attributes:
        context: the context windows (a :class:`Batch` of ``context_length`` points).
        history: ``(B, max(lag))`` scaled values before the forecast (lag inputs), 0 missing.
        future_covariates: ``(B, prediction_length, covariates)``.
    """

    context: Batch
    history: np.ndarray
    future_covariates: np.ndarray


def encode_request(encoder: Encoder, series: Sequence[Series]) -> Request:
    """The inputs to forecast ``prediction_length`` points after each series."""
    P, C, T = encoder.pad, encoder.context_length, encoder.prediction_length
    max_lag = max(encoder.lags)
    lags = np.asarray(encoder.lags, dtype=np.int64)
    calendars = encoder.calendars(series, T)
    B = len(series)
    ctx_lags = np.zeros((B, C, len(lags)), np.float32)
    ctx_cov = np.zeros((B, C, encoder.num_covariates), np.float32)
    target = np.zeros((B, C), np.float32)
    observed = np.zeros((B, C), np.float32)
    history = np.zeros((B, max_lag), np.float32)
    future = np.zeros((B, T, encoder.num_covariates), np.float32)
    scales = np.zeros(B, np.float32)
    for b, (s, cal) in enumerate(zip(series, calendars, strict=True)):
        n = P + len(s)
        obs = np.isfinite(s.target)
        z = np.zeros(n, dtype=np.float32)
        z[P:] = np.where(obs, s.target, 0.0)
        m = np.zeros(n, dtype=np.float32)
        m[P:] = obs
        cov = encoder.covariates(s, cal, T)
        rows = np.arange(n - C, n)
        scale = window_scale(z[None, rows], m[None, rows], encoder.scaling)[0]
        scales[b] = scale
        target[b], observed[b] = z[rows], m[rows]
        ctx_lags[b] = z[rows[:, None] - lags[None, :]] / scale
        ctx_cov[b] = cov[rows]
        history[b] = z[n - max_lag : n] / scale
        future[b] = cov[n : n + T]
    cats = (
        np.stack([encoder.cat_of(s) for s in series])
        if series
        else np.zeros((0, len(encoder.layout.cardinality)), np.int64)
    )
    return Request(Batch(ctx_lags, ctx_cov, cats, scales, target, observed), history, future)
