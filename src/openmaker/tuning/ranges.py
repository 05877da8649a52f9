"""SageMaker ``ParameterRanges`` as typed ranges, and their Optuna distributions.

Each range knows how to turn itself into an Optuna distribution, how to turn the value Optuna
proposes into the string a training job receives, and back (for warm start).

Scaling (``ScalingType``):

* ``Linear``: uniform over ``[MinValue, MaxValue]``.
* ``Logarithmic``: uniform in ``log(x)``; needs ``MinValue > 0``.
* ``ReverseLogarithmic`` (continuous only, ``0 <= MinValue < MaxValue < 1``): uniform in
  ``log(1 - x)``: Optuna searches ``y = 1 - x`` on a log scale, so values crowd towards 1
  (momentum, ``beta``...).
* ``Auto``: SageMaker does not document its rule. openmaker uses ``Logarithmic`` when the range
  is positive and spans at least two orders of magnitude (``MaxValue / MinValue >= 100``),
  else ``Linear``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from openmaker.errors import ValidationError

RangeKind = Literal["Integer", "Continuous", "Categorical"]
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
#: The request keys of each kind of range.
RANGE_KEYS: dict[str, RangeKind] = {
    "IntegerParameterRanges": "Integer",
    "ContinuousParameterRanges": "Continuous",
    "CategoricalParameterRanges": "Categorical",
}
MAX_RANGES_PER_KIND = 30
MAX_CATEGORICAL_VALUES = 30


@dataclass(frozen=True)
class ParameterRange:
    """One tunable hyperparameter and its search range.

    Attributes:
        name: the hyperparameter.
        kind: ``Integer``, ``Continuous`` or ``Categorical``.
        min_value: lower bound (numeric kinds).
        max_value: upper bound (numeric kinds).
        values: the choices (categorical).
        scaling: the resolved scaling: ``Linear``, ``Logarithmic`` or ``ReverseLogarithmic``.
    """

    name: str
    kind: RangeKind
    min_value: float = 0.0
    max_value: float = 0.0
    values: tuple[str, ...] = ()
    scaling: str = "Linear"

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution searched for this range."""
        if self.kind == "Categorical":
            return CategoricalDistribution(list(self.values))
        if self.kind == "Integer":
            return IntDistribution(
                int(self.min_value), int(self.max_value), log=self.scaling == "Logarithmic"
            )
        if self.scaling == "ReverseLogarithmic":
            return FloatDistribution(1.0 - self.max_value, 1.0 - self.min_value, log=True)
        return FloatDistribution(self.min_value, self.max_value, log=self.scaling == "Logarithmic")

    def to_wire(self, internal: Any) -> str:
        """The hyperparameter string for the value Optuna proposed."""
        if self.kind == "Categorical":
            return str(internal)
        if self.kind == "Integer":
            return str(int(internal))
        value = float(internal)
        if self.scaling == "ReverseLogarithmic":
            value = 1.0 - value
        value = min(max(value, self.min_value), self.max_value)
        return format(value, ".12g")

    def to_internal(self, wire: str) -> Any | None:
        """Optuna's value for a hyperparameter string, or ``None`` if outside this range."""
        try:
            if self.kind == "Categorical":
                return wire if wire in self.values else None
            number = float(wire)
        except (TypeError, ValueError):
            return None
        if not self.min_value <= number <= self.max_value:
            return None
        if self.kind == "Integer":
            return int(number) if number.is_integer() else None
        if self.scaling == "ReverseLogarithmic":
            return 1.0 - number
        return number

    def grid_values(self) -> list[str]:
        """Every value of a categorical range (the grid's axis)."""
        return list(self.values)

    def to_request(self) -> dict[str, Any]:
        """The range in SageMaker's request shape."""
        if self.kind == "Categorical":
            return {"Name": self.name, "Values": list(self.values)}
        fmt = (lambda v: str(int(v))) if self.kind == "Integer" else (lambda v: format(v, ".12g"))
        return {
            "Name": self.name,
            "MinValue": fmt(self.min_value),
            "MaxValue": fmt(self.max_value),
            "ScalingType": self.scaling,
        }


def parse_ranges(parameter_ranges: Mapping[str, Any] | None) -> list[ParameterRange]:
    """Parse and check a ``ParameterRanges`` dict (structure, bounds, scaling).

    Checks against an algorithm's declarations are in :mod:`openmaker.tuning.validation`.

    Raises:
        ValidationError: a malformed range, a bad bound or a scaling the range cannot have.
    """
    if not isinstance(parameter_ranges, Mapping):
        raise ValidationError("ParameterRanges must be an object with the parameter range lists")
    unknown = sorted(set(parameter_ranges) - set(RANGE_KEYS) - {"AutoParameters"})
    if unknown:
        raise ValidationError(
            f"ParameterRanges: unknown key(s) {', '.join(unknown)}; "
            f"expected {', '.join(RANGE_KEYS)}"
        )
    if parameter_ranges.get("AutoParameters"):
        raise ValidationError("ParameterRanges.AutoParameters (Autotune) is not supported")
    out: list[ParameterRange] = []
    seen: set[str] = set()
    for key, kind in RANGE_KEYS.items():
        items = parameter_ranges.get(key) or []
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise ValidationError(f"ParameterRanges.{key} must be a list")
        if len(items) > MAX_RANGES_PER_KIND:
            raise ValidationError(
                f"ParameterRanges.{key} has {len(items)} ranges; at most {MAX_RANGES_PER_KIND}"
            )
        for item in items:
            rng = _parse_one(key, kind, item)
            if rng.name in seen:
                raise ValidationError(f"ParameterRanges: {rng.name!r} has more than one range")
            seen.add(rng.name)
            out.append(rng)
    return out


def _parse_one(key: str, kind: RangeKind, item: Any) -> ParameterRange:
    if not isinstance(item, Mapping) or not item.get("Name"):
        raise ValidationError(f"Every range in ParameterRanges.{key} needs a Name")
    name = str(item["Name"])
    if kind == "Categorical":
        values = item.get("Values")
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            raise ValidationError(f"Categorical range {name!r}: Values must be a non-empty list")
        if len(values) > MAX_CATEGORICAL_VALUES:
            raise ValidationError(
                f"Categorical range {name!r} has {len(values)} values; "
                f"at most {MAX_CATEGORICAL_VALUES}"
            )
        strings = tuple(str(v) for v in values)
        if len(set(strings)) != len(strings):
            raise ValidationError(f"Categorical range {name!r} lists a value twice")
        return ParameterRange(name=name, kind=kind, values=strings)
    lo = _number(name, "MinValue", item.get("MinValue"), kind)
    hi = _number(name, "MaxValue", item.get("MaxValue"), kind)
    if lo > hi:
        raise ValidationError(
            f"{kind} range {name!r}: MinValue {_show(lo)} is greater than MaxValue {_show(hi)}"
        )
    scaling = str(item.get("ScalingType") or "Auto")
    if scaling not in SCALING_TYPES:
        raise ValidationError(
            f"{kind} range {name!r}: ScalingType {scaling!r} must be one of "
            f"{', '.join(SCALING_TYPES)}"
        )
    if scaling == "Auto":
        scaling = "Logarithmic" if lo > 0 and hi / lo >= 100 else "Linear"
    if scaling == "Logarithmic" and lo <= 0:
        raise ValidationError(
            f"{kind} range {name!r}: Logarithmic scaling needs values greater than 0, but the "
            f"range [{_show(lo)}, {_show(hi)}] includes 0 or negative values"
        )
    if scaling == "ReverseLogarithmic":
        if kind == "Integer":
            raise ValidationError(
                f"Integer range {name!r}: ReverseLogarithmic scaling is for continuous ranges only"
            )
        if lo < 0 or hi >= 1:
            raise ValidationError(
                f"Continuous range {name!r}: ReverseLogarithmic scaling needs 0 <= values < 1, "
                f"but the range is [{_show(lo)}, {_show(hi)}]"
            )
    return ParameterRange(name=name, kind=kind, min_value=lo, max_value=hi, scaling=scaling)


def _number(name: str, field: str, raw: Any, kind: RangeKind) -> float:
    try:
        value = float(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"{kind} range {name!r}: {field} {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValidationError(f"{kind} range {name!r}: {field} {raw!r} must be finite")
    if kind == "Integer" and not value.is_integer():
        raise ValidationError(f"Integer range {name!r}: {field} {raw!r} is not an integer")
    return value


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format(value, ".12g")


def ranges_to_request(ranges: Sequence[ParameterRange]) -> dict[str, list[dict[str, Any]]]:
    """``ParameterRanges`` in SageMaker's shape (the resolved scaling written out)."""
    out: dict[str, list[dict[str, Any]]] = {key: [] for key in RANGE_KEYS}
    by_kind = {kind: key for key, kind in RANGE_KEYS.items()}
    for rng in ranges:
        out[by_kind[rng.kind]].append(rng.to_request())
    return out
