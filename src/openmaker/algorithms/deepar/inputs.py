"""DeepAR's series: JSON Lines and Parquet files, inference instances, and their checks.

A record (reference 4.3) has ``start`` (``"YYYY-MM-DD HH:MM:SS"``, a date, or a Parquet
datetime), ``target`` (numbers; ``null``, ``"NaN"`` or NaN for missing values), optional
``cat`` (non-negative integers) and optional ``dynamic_feat`` (lists of numbers, no missing
values). Every error names where the record is (file and line, or the request's instance index)
and the field.

File format (reference 4.3): from the extension (``.json``, ``.json.gz``, ``.jsonl``,
``.jsonl.gz`` -> JSON Lines; ``.parquet`` -> Parquet), else the channel's content type
(``application/jsonlines``, or ``application/json`` read as JSON Lines, or
``application/x-parquet``). Gzip is recognised from the bytes. Files whose names start with
``.`` or ``_`` (``_SUCCESS``) are skipped by the channel listing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker import json_input
from openmaker.algorithms.deepar.frequency import Frequency, start_period
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput
from openmaker.spec.channels import ContentType


@dataclass
class Series:
    """One checked record.

    Attributes:
        start: the first point's period (a pandas Period of the model's frequency).
        target: float32 values, NaN where missing.
        cat: int64 categorical values, or None.
        dynamic_feat: float32 ``(features, length)``, or None.
        where: where the record came from (``train.json, line 4``, ``instances[2]``).
    """

    start: Any
    target: np.ndarray
    cat: np.ndarray | None
    dynamic_feat: np.ndarray | None
    where: str

    def __len__(self) -> int:
        return int(self.target.shape[0])


class RecordError(DataFormatError):
    """A record is not a valid DeepAR series; the message names the record and the field."""


def _fail(where: str, field: str, message: str, **location: Any) -> RecordError:
    return RecordError(f"{where}: field '{field}': {message}", **location)


def _numbers(value: Any, where: str, field: str, *, allow_missing: bool) -> np.ndarray:
    if isinstance(value, np.ndarray):
        arr = value.astype(np.float64, copy=False) if value.dtype != object else None
        if arr is None:
            value = value.tolist()
    else:
        arr = None
    if arr is None:
        if not isinstance(value, list | tuple):
            raise _fail(where, field, f"expected a list of numbers, got {type(value).__name__}")
        try:
            if any(isinstance(v, bool | list | dict) for v in value):
                raise ValueError
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError):
            for i, v in enumerate(value):
                ok = v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                if isinstance(v, str) and v.strip().lower() == "nan":
                    ok = True
                if not ok:
                    raise _fail(where, field, f"item {i} is {v!r}, not a number") from None
            raise _fail(where, field, "not a list of numbers") from None
        if arr.ndim != 1:
            raise _fail(where, field, "expected a flat list of numbers")
    if np.isinf(arr).any():
        i = int(np.flatnonzero(np.isinf(arr))[0])
        raise _fail(where, field, f"item {i} is infinite")
    if not allow_missing and np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise _fail(where, field, f"item {i} is missing (NaN); missing values are not allowed")
    return arr


def parse_record(obj: Any, where: str, freq: Frequency, **location: Any) -> Series:
    """Check one decoded record and convert it (see the module docstring).

    Raises:
        RecordError: naming ``where`` and the field.
    """
    if not isinstance(obj, Mapping):
        raise RecordError(f"{where}: expected a JSON object, got {type(obj).__name__}", **location)
    if "start" not in obj or obj["start"] is None:
        raise _fail(where, "start", "missing", **location)
    if "target" not in obj or obj["target"] is None:
        raise _fail(where, "target", "missing", **location)
    try:
        start = start_period(obj["start"], freq)
    except ValueError as exc:
        raise _fail(where, "start", str(exc), **location) from None
    try:
        target = _numbers(obj["target"], where, "target", allow_missing=True).astype(np.float32)
        cat = None
        if obj.get("cat") is not None:
            raw = obj["cat"]
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                raw = [raw]
            values = _numbers(raw, where, "cat", allow_missing=False)
            if any(v < 0 or not float(v).is_integer() for v in values):
                raise _fail(where, "cat", f"{list(raw)} is not a list of non-negative integers")
            cat = values.astype(np.int64)
        dyn = None
        if obj.get("dynamic_feat") is not None:
            raw = obj["dynamic_feat"]
            if isinstance(raw, np.ndarray):
                raw = list(raw)
            if not isinstance(raw, list | tuple):
                raise _fail(where, "dynamic_feat", "expected a list of lists of numbers")
            rows = [
                _numbers(r, where, f"dynamic_feat[{k}]", allow_missing=False)
                for k, r in enumerate(raw)
            ]
            lengths = {len(r) for r in rows}
            if len(lengths) > 1:
                raise _fail(where, "dynamic_feat", f"its lists have different lengths {lengths}")
            width = lengths.pop() if lengths else 0
            dyn = (
                np.stack(rows).astype(np.float32)
                if rows
                else np.zeros((0, width), dtype=np.float32)
            )
    except RecordError as exc:
        if location and exc.source is None:
            raise RecordError(exc.detail, **location) from None
        raise
    return Series(start, target, cat, dyn, where)


# --- files ---------------------------------------------------------------------------------


def file_format(path: str, channel: ChannelInput) -> str:
    """``jsonlines`` or ``parquet`` for one file (module docstring)."""
    name = path.lower().rsplit("/", 1)[-1]
    for suffix in (".gz", ".gzip", ".snappy"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith((".json", ".jsonl", ".jsonlines")):
        return "jsonlines"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if channel.content_type == ContentType.PARQUET:
        return "parquet"
    return "jsonlines"


def _jsonlines(path: str, freq: Frequency) -> Iterator[Series]:
    from openmaker.data.sources import open_uri

    with open_uri(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                obj = json_input.loads(line, max_depth=8)
            except DataFormatError as exc:
                raise RecordError(exc.detail, source=path, line=lineno) from None
            yield parse_record(obj, f"line {lineno}", freq, source=path)


def _parquet(path: str, freq: Frequency) -> Iterator[Series]:
    import pyarrow.parquet as pq

    from openmaker.data.sources import open_uri

    with open_uri(path, "rb") as fh:
        try:
            table = pq.read_table(fh)
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise DataFormatError(f"not a Parquet file: {exc}", source=path) from None
    columns = set(table.column_names)
    for field in ("start", "target"):
        if field not in columns:
            raise DataFormatError(f"Parquet file has no column '{field}'", source=path)
    rows = table.to_pydict()
    n = table.num_rows
    names = [c for c in ("start", "target", "cat", "dynamic_feat") if c in columns]
    for i in range(n):
        obj = {c: rows[c][i] for c in names}
        if isinstance(obj["target"], list):
            obj["target"] = [math.nan if v is None else v for v in obj["target"]]
        yield parse_record(obj, f"row {i}", freq, source=path)


def read_channel(channel: ChannelInput, freq: Frequency) -> list[Series]:
    """Every record of a channel's files, in file order.

    Raises:
        ChannelError: the channel has no files.
        RecordError / DataFormatError: a bad record or file (named).
    """
    from openmaker.errors import DataSourceError

    try:
        files = channel.sources()
    except DataSourceError as exc:
        raise ChannelError(f"Channel '{channel.name}': {exc}", channel=channel.name) from None
    out: list[Series] = []
    for path in files:
        reader = _parquet if file_format(path, channel) == "parquet" else _jsonlines
        out.extend(reader(path, freq))
    return out


# --- consistency ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What the series carry, resolved from ``cardinality`` / ``num_dynamic_feat``.

    Attributes:
        cardinality: categories per ``cat`` feature (empty: ``cat`` not used).
        num_dynamic_feat: ``dynamic_feat`` count (0: not used).
    """

    cardinality: tuple[int, ...]
    num_dynamic_feat: int


def resolve_layout(
    series: Sequence[Series], cardinality: Any, num_dynamic_feat: Any, prediction_length: int
) -> tuple[Layout, list[str]]:
    """Check ``cat`` / ``dynamic_feat`` agree across the training series and with the
    hyperparameters; returns the layout and the log lines saying what is used.

    Raises:
        RecordError: counts differ between series, a value exceeds a given cardinality,
            a ``dynamic_feat`` length is neither ``len(target)`` nor
            ``len(target) + prediction_length``.
        ValidationError: the hyperparameters ask for features the data lacks.
    """
    from openmaker.errors import ValidationError

    notes: list[str] = []
    use_cat = cardinality != "ignore"
    use_dyn = num_dynamic_feat != "ignore"
    cat_counts = {len(s.cat) if s.cat is not None else 0 for s in series} if use_cat else {0}
    if use_cat and len(cat_counts) > 1:
        first = series[0]
        n0 = 0 if first.cat is None else len(first.cat)
        bad = next(s for s in series if (0 if s.cat is None else len(s.cat)) != n0)
        raise _fail(
            bad.where,
            "cat",
            f"{0 if bad.cat is None else len(bad.cat)} values, but {first.where} has {n0}; "
            "every series needs the same number of cat values",
        )
    n_cat = cat_counts.pop()
    if not use_cat:
        cards: tuple[int, ...] = ()
        notes.append("cardinality=ignore: cat is not used")
    elif cardinality == "auto":
        if n_cat:
            stacked = np.stack([s.cat for s in series if s.cat is not None])
            cards = tuple(int(v) + 1 for v in stacked.max(axis=0))
            notes.append(f"cat found ({n_cat} features), cardinality {list(cards)}: using it")
        else:
            cards = ()
            notes.append("No cat found: the model does not use categorical features")
    else:
        cards = tuple(int(v) for v in cardinality)
        if len(cards) != n_cat:
            raise ValidationError(
                f"Hyperparameter 'cardinality' lists {len(cards)} features but the training "
                f"series have {n_cat} cat values"
            )
        for s in series:
            assert s.cat is not None
            over = [k for k, (v, c) in enumerate(zip(s.cat, cards, strict=True)) if v >= c]
            if over:
                k = over[0]
                raise _fail(
                    s.where,
                    "cat",
                    f"value {int(s.cat[k])} of feature {k} is not below its cardinality {cards[k]}",
                )
        notes.append(f"cat given cardinality {list(cards)}: using it")
    dyn_counts = (
        {0 if s.dynamic_feat is None else s.dynamic_feat.shape[0] for s in series}
        if use_dyn
        else {0}
    )
    if use_dyn and len(dyn_counts) > 1:
        first = series[0]
        n0 = 0 if first.dynamic_feat is None else first.dynamic_feat.shape[0]
        bad = next(
            s for s in series if (0 if s.dynamic_feat is None else s.dynamic_feat.shape[0]) != n0
        )
        got = 0 if bad.dynamic_feat is None else bad.dynamic_feat.shape[0]
        raise _fail(
            bad.where,
            "dynamic_feat",
            f"{got} features, but {first.where} has {n0}; every series needs the same number",
        )
    n_dyn = dyn_counts.pop()
    if not use_dyn:
        n_dyn = 0
        notes.append("num_dynamic_feat=ignore: dynamic_feat is not used")
    elif num_dynamic_feat == "auto":
        notes.append(
            f"dynamic_feat found ({n_dyn} features): using it"
            if n_dyn
            else "No dynamic_feat found: the model does not use dynamic features"
        )
    elif int(num_dynamic_feat) != n_dyn:
        raise ValidationError(
            f"Hyperparameter 'num_dynamic_feat' is {num_dynamic_feat} but the training series "
            f"have {n_dyn} dynamic_feat"
        )
    if n_dyn:
        for s in series:
            assert s.dynamic_feat is not None
            width = s.dynamic_feat.shape[1]
            if width not in (len(s), len(s) + prediction_length):
                raise _fail(
                    s.where,
                    "dynamic_feat",
                    f"length {width}, but target has {len(s)} points: expected {len(s)} or "
                    f"{len(s) + prediction_length} (len(target) + prediction_length)",
                )
    return Layout(cards, n_dyn), notes


def check_request_series(s: Series, layout: Layout, prediction_length: int) -> None:
    """An inference instance must carry what the model was trained with (reference 4.4).

    Raises:
        RecordError: ``cat`` missing / extra / wrong count / unseen value; ``dynamic_feat``
            missing / wrong count / not ``len(target) + prediction_length`` long.
    """
    n_cat = len(layout.cardinality)
    if n_cat:
        if s.cat is None:
            raise _fail(s.where, "cat", f"required: the model was trained with {n_cat} cat values")
        if len(s.cat) != n_cat:
            raise _fail(s.where, "cat", f"{len(s.cat)} values, the model was trained with {n_cat}")
        for k, (v, c) in enumerate(zip(s.cat, layout.cardinality, strict=True)):
            if v >= c:
                raise _fail(
                    s.where,
                    "cat",
                    f"value {int(v)} of feature {k} was not seen in training (values 0..{c - 1})",
                )
    n_dyn = layout.num_dynamic_feat
    if n_dyn:
        if s.dynamic_feat is None:
            raise _fail(
                s.where, "dynamic_feat", f"required: the model was trained with {n_dyn} features"
            )
        if s.dynamic_feat.shape[0] != n_dyn:
            raise _fail(
                s.where,
                "dynamic_feat",
                f"{s.dynamic_feat.shape[0]} features, the model was trained with {n_dyn}",
            )
        need = len(s) + prediction_length
        if s.dynamic_feat.shape[1] != need:
            raise _fail(
                s.where,
                "dynamic_feat",
                f"length {s.dynamic_feat.shape[1]}, expected len(target) + prediction_length "
                f"= {need}",
            )
