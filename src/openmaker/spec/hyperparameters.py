"""Hyperparameter declarations and the one validation pipeline every algorithm goes through.

SageMaker passes hyperparameters as a string-to-string map. :func:`validate` turns such a map
into typed values, in this order:

1. unknown names are refused (aliases are mapped to their canonical name first);
2. required names must be present; declared defaults fill the rest;
3. each string is parsed into its type;
4. each value is checked against its range or choices;
5. the algorithm's cross-parameter rules run on the typed values.

Every refusal is a :class:`~openmaker.errors.HyperparameterError` naming the parameter, the
allowed domain and the value given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openmaker.errors import HyperparameterError

#: Keys SageMaker's *platform* adds to any job, whatever its algorithm: accepted for every
#: algorithm that does not declare them (automatic model tuning names its objective metric).
#: The internal keys of the algorithms' containers (``_kvstore``, ``force_dense``...) are not
#: here: each algorithm declares those it accepts, with ``internal=True``.
PLATFORM_HYPERPARAMETERS: frozenset[str] = frozenset({"_tuning_objective_metric"})


@dataclass(frozen=True)
class Interval:
    """A numeric range. ``None`` on a side means unbounded; ``*_open`` excludes the bound."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False

    def __contains__(self, value: float) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return False
        return not (
            self.max is not None and (value >= self.max if self.max_open else value > self.max)
        )

    def __str__(self) -> str:
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "+inf" if self.max is None else _fmt(self.max)
        left = "(" if self.min_open or self.min is None else "["
        right = ")" if self.max_open or self.max is None else "]"
        return f"{left}{lo}, {hi}{right}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


@dataclass(frozen=True, kw_only=True)
class Hyperparameter:
    """Base declaration. Use a subclass: Integer, Continuous, Categorical, Boolean, ListOf, Text.

    Attributes:
        name: SageMaker's name.
        default: value used when the user gives none (a typed value, or ``None``: not passed).
        required: the job is refused without it.
        description: one line for ``openmaker algorithms describe``.
        tunable: whether tuning jobs may search over it.
        tuning_range: SageMaker's recommended search range (for documentation and AutoML).
        aliases: other accepted names (XGBoost's ``learning_rate`` for ``eta``).
        depends_on: ``(name, values)``: only meaningful when that parameter has one of values.
        internal: an internal key that the SageMaker SDK or the algorithm's container sends
            (``force_dense``, ``_kvstore``, ``_num_gpus``...), not a documented setting:
            accepted and validated like any other, left out of ``describe`` and
            DescribeAlgorithm unless asked for. Its description says what it does in openmaker
            (most change nothing: they tune SageMaker's MXNet runtime).
    """

    name: str
    default: Any = None
    required: bool = False
    description: str = ""
    tunable: bool = False
    tuning_range: tuple[Any, Any] | tuple[Any, ...] | None = None
    aliases: tuple[str, ...] = ()
    depends_on: tuple[str, tuple[Any, ...]] | None = None
    internal: bool = False

    type_name: str = field(default="any", init=False)

    def parse(self, raw: Any) -> Any:
        """Turn the wire value (usually a string) into the typed value, or raise."""
        return raw

    def check(self, value: Any) -> None:
        """Raise if a typed value lies outside the allowed domain."""

    def domain(self) -> str:
        """Human-readable allowed domain, used in messages and tables."""
        return self.type_name

    def convert(self, raw: Any) -> Any:
        """Parse then check: the full per-parameter part of the pipeline."""
        value = self.parse(raw)
        self.check(value)
        return value

    def to_wire(self, value: Any) -> str:
        """The string SageMaker would pass for a typed value."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return json.dumps(list(value))
        return str(value)

    # helpers -------------------------------------------------------------------------------
    def _fail(self, raw: Any, expected: str | None = None) -> HyperparameterError:
        allowed = expected or self.domain()
        return HyperparameterError(
            f"Hyperparameter {self.name!r}: value {raw!r} is not valid; allowed: {allowed}",
            parameter=self.name,
            value=raw,
            allowed=allowed,
        )


@dataclass(frozen=True, kw_only=True)
class Integer(Hyperparameter):
    """An integer in an :class:`Interval`. Accepts ``"5"`` and ``"5.0"`` but not ``"5.5"``."""

    range: Interval = field(default_factory=Interval)
    type_name: str = field(default="integer", init=False)

    def parse(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise self._fail(raw, f"an integer in {self.range}")
        if isinstance(raw, int):
            return raw
        try:
            f = float(str(raw).strip())
        except ValueError:
            raise self._fail(raw, f"an integer in {self.range}") from None
        if not f.is_integer():
            raise self._fail(raw, f"an integer in {self.range}")
        return int(f)

    def check(self, value: int) -> None:
        if value not in self.range:
            raise self._fail(value)

    def domain(self) -> str:
        return f"integer in {self.range}"


@dataclass(frozen=True, kw_only=True)
class Continuous(Hyperparameter):
    """A float in an :class:`Interval`."""

    range: Interval = field(default_factory=Interval)
    type_name: str = field(default="continuous", init=False)

    def parse(self, raw: Any) -> float:
        if isinstance(raw, bool):
            raise self._fail(raw, f"a number in {self.range}")
        try:
            value = float(str(raw).strip()) if not isinstance(raw, int | float) else float(raw)
        except ValueError:
            raise self._fail(raw, f"a number in {self.range}") from None
        if math.isnan(value):
            raise self._fail(raw, f"a number in {self.range}")
        return value

    def check(self, value: float) -> None:
        if value not in self.range:
            raise self._fail(value)

    def domain(self) -> str:
        return f"number in {self.range}"


@dataclass(frozen=True, kw_only=True)
class Categorical(Hyperparameter):
    """One of a fixed set of strings (compared case-sensitively, as SageMaker does).

    ``ignore_case=True`` accepts any case and gives the declared spelling: for the
    ``auto`` / ``true`` / ``false`` settings, to which the SageMaker SDK sends Python's
    ``"True"`` / ``"False"``.
    """

    choices: tuple[str, ...] = ()
    ignore_case: bool = False
    type_name: str = field(default="categorical", init=False)

    def parse(self, raw: Any) -> str:
        if isinstance(raw, bool) and self.ignore_case:
            raw = "true" if raw else "false"
        text = str(raw).strip()
        if self.ignore_case:
            return next((c for c in self.choices if c.lower() == text.lower()), text)
        return text

    def check(self, value: str) -> None:
        if value not in self.choices:
            raise self._fail(value)

    def domain(self) -> str:
        return "one of " + ", ".join(self.choices)


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


@dataclass(frozen=True, kw_only=True)
class Boolean(Hyperparameter):
    """``true`` / ``false`` (also accepts 1/0, yes/no, any case)."""

    type_name: str = field(default="boolean", init=False)

    def parse(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self._fail(raw)

    def domain(self) -> str:
        return "true or false"


@dataclass(frozen=True, kw_only=True)
class ListOf(Hyperparameter):
    """A list of items, each parsed by ``item`` (a Hyperparameter used only for its parsing).

    Accepts a JSON list (``'["msd", "ssd"]'``), a comma-separated string (``"auc,error"``), or a
    Python list. ``min_length`` / ``max_length`` bound the number of items.
    """

    item: Hyperparameter | None = None
    min_length: int = 1
    max_length: int | None = None
    separator: str = ","
    type_name: str = field(default="list", init=False)

    def parse(self, raw: Any) -> list[Any]:
        if isinstance(raw, list | tuple):
            items: list[Any] = list(raw)
        else:
            text = str(raw).strip()
            if text.startswith("["):
                try:
                    loaded = json.loads(text)
                except json.JSONDecodeError:
                    # SageMaker also sends Python-style lists: ['msd', 'ssd']
                    try:
                        loaded = json.loads(text.replace("'", '"'))
                    except json.JSONDecodeError:
                        raise self._fail(raw) from None
                if not isinstance(loaded, list):
                    raise self._fail(raw)
                items = loaded
            else:
                items = [p.strip() for p in text.split(self.separator) if p.strip()]
        if self.item is not None:
            parsed = []
            for it in items:
                try:
                    parsed.append(self.item.convert(it))
                except HyperparameterError:
                    raise self._fail(raw) from None
            items = parsed
        return items

    def check(self, value: list[Any]) -> None:
        if len(value) < self.min_length or (
            self.max_length is not None and len(value) > self.max_length
        ):
            raise self._fail(value)

    def domain(self) -> str:
        inner = self.item.domain() if self.item is not None else "string"
        return f"list of ({inner})"

    def to_wire(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            return self.separator.join(str(v) for v in value)
        return str(value)


@dataclass(frozen=True, kw_only=True)
class Text(Hyperparameter):
    """Free-form string, optionally checked by ``validator`` (returns an error text or None).

    Used for values with a syntax of their own (XGBoost's ``monotone_constraints``, the
    ``auto`` / number unions of the first-party algorithms).
    """

    validator: Callable[[str], Any] | None = None
    domain_text: str = "string"
    type_name: str = field(default="string", init=False)

    def parse(self, raw: Any) -> Any:
        text = str(raw).strip() if not isinstance(raw, str) else raw.strip()
        if self.validator is None:
            return text
        try:
            return self.validator(text)
        except (ValueError, TypeError):
            raise self._fail(raw) from None

    def domain(self) -> str:
        return self.domain_text


@dataclass(frozen=True, kw_only=True)
class OneOf(Hyperparameter):
    """A union: the first alternative that accepts the value wins (e.g. ``auto`` or a number)."""

    alternatives: tuple[Hyperparameter, ...] = ()
    type_name: str = field(default="union", init=False)

    def parse(self, raw: Any) -> Any:
        for alt in self.alternatives:
            try:
                return alt.convert(raw)
            except HyperparameterError:
                continue
        raise self._fail(raw)

    def domain(self) -> str:
        return " or ".join(a.domain() for a in self.alternatives)


Rule = Callable[[dict[str, Any]], None]


def validate(
    declared: Sequence[Hyperparameter],
    given: Mapping[str, Any],
    rules: Iterable[Rule] = (),
    *,
    allow_internal: bool = True,
) -> dict[str, Any]:
    """Run the validation pipeline; return the typed hyperparameters.

    Args:
        declared: the algorithm's hyperparameter declarations.
        given: what the user passed (strings, as SageMaker passes them, or typed values).
        rules: cross-parameter checks; each raises HyperparameterError.
        allow_internal: accept the platform's keys (:data:`PLATFORM_HYPERPARAMETERS`, kept as
            strings) where the algorithm does not declare them.

    Returns:
        A dict holding every given parameter and every declared default (defaults of
        ``None`` are left out), typed.
    """
    by_name = {hp.name: hp for hp in declared}
    alias = {a: hp.name for hp in declared for a in hp.aliases}

    canonical: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    for key, raw in given.items():
        name = alias.get(key, key)
        if name not in by_name:
            if allow_internal and key in PLATFORM_HYPERPARAMETERS:
                internal[key] = raw if not isinstance(raw, str) else raw.strip()
                continue
            raise HyperparameterError(
                f"Unknown hyperparameter {key!r}; known: {', '.join(sorted(by_name))}",
                parameter=key,
                value=raw,
                allowed=", ".join(sorted(by_name)),
            )
        if name in canonical:
            raise HyperparameterError(
                f"Hyperparameter {name!r} given twice (also as an alias)",
                parameter=name,
                value=raw,
            )
        canonical[name] = raw

    for hp in declared:
        if hp.required and hp.name not in canonical:
            raise HyperparameterError(
                f"Missing required hyperparameter {hp.name!r} ({hp.domain()})",
                parameter=hp.name,
                value=None,
                allowed=hp.domain(),
            )

    values: dict[str, Any] = {}
    for hp in declared:
        if hp.name in canonical:
            values[hp.name] = hp.convert(canonical[hp.name])
        elif hp.default is not None:
            values[hp.name] = hp.default

    for rule in rules:
        rule(values)
    values.update(internal)
    return values


def describe_table(
    declared: Sequence[Hyperparameter], *, internal: bool = False
) -> list[dict[str, str]]:
    """Rows (name, type, required, default, domain, tunable, internal, description) for display.

    Args:
        declared: the declarations, in display order.
        internal: include the internal ones (``internal=True``); they are left out otherwise.
    """
    rows = []
    for hp in declared:
        if hp.internal and not internal:
            continue
        rows.append(
            {
                "name": hp.name,
                "type": hp.type_name,
                "required": "yes" if hp.required else "",
                "default": "" if hp.default is None else hp.to_wire(hp.default),
                "domain": hp.domain(),
                "tunable": "yes" if hp.tunable else "",
                "tuning_range": "" if hp.tuning_range is None else str(list(hp.tuning_range)),
                "internal": "yes" if hp.internal else "",
                "description": hp.description,
            }
        )
    return rows
