"""The JSONPath subset SageMaker batch transform documents for ``DataProcessing`` filters.

Supported: ``$`` (everything), child keys ``$.features`` / ``$.a.b`` / ``$['id']``, several
keys ``$['id','SageMakerOutput']`` (an object with those keys), indexes and slices ``$[0]``,
``$[1:]``, ``$[:-1]``, ``$[0,2]``, ``$[0,5:]`` (a list of the selected items, in order), and
chains of these (``$.features[1:]``). Anything else (filters, wildcards, recursive descent) is
refused with a :class:`~openmaker.errors.ValidationError` when the job is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from openmaker.errors import ValidationError

_KEY = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_QUOTED = re.compile(r"""^\s*(?:'([^']*)'|"([^"]*)")\s*$""")
_INDEX = re.compile(r"^\s*(-?\d+)?\s*(:)?\s*(-?\d+)?\s*$")


@dataclass(frozen=True)
class Step:
    """One path step: keys (object member selection) or index items (ints / slices)."""

    keys: tuple[str, ...] = ()
    items: tuple[int | slice, ...] = ()
    single: bool = False


def parse(path: str, field: str = "filter") -> tuple[Step, ...]:
    """Parse a JSONPath of the supported subset.

    Raises:
        ValidationError: a path outside the subset, naming the field and the path.
    """
    if not isinstance(path, str) or not path.startswith("$") or len(path) > 63:
        raise ValidationError(
            f"{field} must be a JSONPath starting with '$' (max 63); got {path!r}"
        )
    steps: list[Step] = []
    pos = 1
    while pos < len(path):
        m = _KEY.match(path, pos)
        if m:
            steps.append(Step(keys=(m.group(1),), single=True))
            pos = m.end()
            continue
        m = _BRACKET.match(path, pos)
        if not m:
            raise ValidationError(f"{field}: unsupported JSONPath {path!r} at position {pos}")
        steps.append(_bracket(m.group(1), path, field))
        pos = m.end()
    return tuple(steps)


def _bracket(inner: str, path: str, field: str) -> Step:
    parts = [p for p in inner.split(",")]
    if all(_QUOTED.match(p) for p in parts):
        keys = tuple(next(g for g in _QUOTED.match(p).groups() if g is not None) for p in parts)  # type: ignore[union-attr]
        return Step(keys=keys, single=len(keys) == 1)
    items: list[int | slice] = []
    for part in parts:
        m = _INDEX.match(part)
        if not m or (m.group(1) is None and m.group(2) is None and m.group(3) is None):
            raise ValidationError(f"{field}: unsupported JSONPath {path!r} ([{inner}])")
        start, colon, stop = m.groups()
        if colon:
            items.append(slice(int(start) if start else None, int(stop) if stop else None))
        elif stop is not None or start is None:
            raise ValidationError(f"{field}: unsupported JSONPath {path!r} ([{inner}])")
        else:
            items.append(int(start))
    single = len(items) == 1 and isinstance(items[0], int)
    return Step(items=tuple(items), single=single)


def apply(steps: tuple[Step, ...], value: Any) -> Any:
    """Select from ``value`` along ``steps``.

    Raises:
        KeyError, IndexError, TypeError: the value does not have the selected members.
    """
    for step in steps:
        if step.keys:
            if not isinstance(value, dict):
                raise TypeError(f"expected a JSON object to select {list(step.keys)}")
            if step.single:
                value = value[step.keys[0]]
            else:
                value = {k: value[k] for k in step.keys if k in value}
        else:
            if not isinstance(value, list):
                raise TypeError("expected a JSON array to index")
            if step.single:
                value = value[step.items[0]]  # type: ignore[index]
            else:
                out: list[Any] = []
                for item in step.items:
                    if isinstance(item, slice):
                        out.extend(value[item])
                    else:
                        out.append(value[item])
                value = out
    return value
