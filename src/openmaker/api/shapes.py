"""Request shapes of the HTTP API, declared once, and the validation they imply.

A shape both checks and converts a decoded JSON value: timestamps (epoch seconds, as botocore
sends them, or ISO-8601 text) become aware ``datetime`` values; everything else stays as
decoded. The checks are the ones SageMaker's service model declares and botocore does *not*
enforce on the client (``max``, ``pattern``, ``enum``) plus the ones it does (``required``,
types, ``min``), so raw HTTP clients get the same answers. Every problem found is reported in
one :class:`~openmaker.errors.ValidationError`, in AWS's wording::

    2 validation errors detected: Value 'x y' at 'trainingJobName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: ...; Value null at 'roleArn'
    failed to satisfy constraint: Member must not be null

Member paths are camel-cased (``algorithmSpecification.trainingInputMode``); list items are
``<list>.<1-based index>.member``, as AWS writes them.

Members a structure does not declare are dropped, not refused: the botocore model has many
members openmaker does not act on (the SDK always sends ``DebugHookConfig`` and
``ProfilerConfig``, for example) and a client may be newer than this server. Only declared
members reach the service layer, so internal fields cannot be injected through the API.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openmaker.errors import ValidationError

#: At most this many problems are listed in one error message.
MAX_REPORTED = 10
#: Values longer than this are cut in error messages.
MAX_SHOWN = 120
_REPR = reprlib.Repr()
_REPR.maxlong = _REPR.maxother = MAX_SHOWN


class Shape:
    """Base class: ``load`` checks ``value`` found at ``path`` and returns it converted."""

    type_name = "value"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        """Check and convert ``value``; append a message to ``errors`` for each problem."""
        return value


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    text = value if isinstance(value, str) else _REPR.repr(value)  # bounded, whatever its size
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + "..."
    return f"'{text}'"


def _fail(errors: list[str], value: Any, path: str, constraint: str) -> None:
    if len(errors) >= MAX_REPORTED:  # only the count of the rest is reported
        errors.append("")
        return
    if len(path) > MAX_SHOWN:  # a path holds map keys, which the client chose
        path = path[:MAX_SHOWN] + "..."
    errors.append(
        f"Value {_show(value)} at '{path}' failed to satisfy constraint: Member must {constraint}"
    )


@dataclass(frozen=True)
class Anything(Shape):
    """Any JSON value, passed through (members openmaker keeps but does not interpret)."""


@dataclass(frozen=True)
class String(Shape):
    """A string with optional length bounds, regular expression and enum."""

    min: int = 0
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    type_name = "string"
    _regex: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.pattern is not None:
            object.__setattr__(self, "_regex", re.compile(self.pattern))

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, str):
            _fail(errors, value, path, "be of type string")
            return value
        if len(value) < self.min:
            _fail(errors, value, path, f"have length greater than or equal to {self.min}")
        elif self.max is not None and len(value) > self.max:
            _fail(errors, value, path, f"have length less than or equal to {self.max}")
        elif self.enum is not None and value not in self.enum:
            _fail(errors, value, path, f"satisfy enum value set: [{', '.join(self.enum)}]")
        elif self._regex is not None and not self._regex.fullmatch(value):
            _fail(errors, value, path, f"satisfy regular expression pattern: {self.pattern}")
        return value


#: The range of the service model's ``integer`` (32 bits) and ``long`` (64 bits) types.
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Integer(Shape):
    """An integer (``5.0`` is accepted as 5) with optional bounds, within the 32-bit range of
    the service model's ``integer`` type (``long=True``: 64 bits) when no bound is tighter."""

    min: int | None = None
    max: int | None = None
    long: bool = False
    type_name = "integer"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(errors, value, path, "be of type integer")
            return value
        low, high = LONG_RANGE if self.long else INT_RANGE
        low = low if self.min is None else max(low, self.min)
        high = high if self.max is None else min(high, self.max)
        if value < low:
            _fail(errors, value, path, f"have value greater than or equal to {low}")
        elif value > high:
            _fail(errors, value, path, f"have value less than or equal to {high}")
        return value


@dataclass(frozen=True)
class Float(Shape):
    """A number with optional bounds."""

    min: float | None = None
    max: float | None = None
    type_name = "float"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(errors, value, path, "be of type float")
            return value
        try:
            number = float(value)
        except OverflowError:  # an integer literal beyond a double
            number = math.inf
        if not math.isfinite(number):
            _fail(errors, value, path, "be a finite number")
            return value
        if self.min is not None and value < self.min:
            _fail(errors, value, path, f"have value greater than or equal to {self.min}")
        elif self.max is not None and value > self.max:
            _fail(errors, value, path, f"have value less than or equal to {self.max}")
        return number


@dataclass(frozen=True)
class Boolean(Shape):
    """``true`` or ``false``."""

    type_name = "boolean"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, bool):
            _fail(errors, value, path, "be of type boolean")
        return value


@dataclass(frozen=True)
class Timestamp(Shape):
    """Epoch seconds (int or float, botocore's encoding) or ISO-8601 text -> aware datetime."""

    type_name = "timestamp"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            pass
        _fail(errors, value, path, "be a timestamp (epoch seconds or ISO-8601)")
        return value


@dataclass(frozen=True)
class ListOf(Shape):
    """A list of ``member`` with optional length bounds."""

    member: Shape
    min: int = 0
    max: int | None = None
    type_name = "list"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, list):
            _fail(errors, value, path, "be of type list")
            return value
        if len(value) < self.min:
            _fail(errors, value, path, f"have length greater than or equal to {self.min}")
        elif self.max is not None and len(value) > self.max:
            _fail(errors, value, path, f"have length less than or equal to {self.max}")
            return value  # its members are not looked at: it may be millions long
        return [self.member.load(v, f"{path}.{i}.member", errors) for i, v in enumerate(value, 1)]


@dataclass(frozen=True)
class MapOf(Shape):
    """A JSON object with string keys checked by ``key`` and values by ``value``."""

    key: String = field(default_factory=String)
    value: Shape = field(default_factory=String)
    max: int | None = None
    type_name = "map"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            _fail(errors, value, path, "be of type map")
            return value
        if self.max is not None and len(value) > self.max:
            _fail(errors, f"{len(value)} entries", path, f"have at most {self.max} entries")
            return value
        return {
            self.key.load(k, f"{path}.key", errors): self.value.load(v, f"{path}.{k}", errors)
            for k, v in value.items()
        }


@dataclass(frozen=True)
class Structure(Shape):
    """A JSON object with declared members; ``required`` ones must be present and not null."""

    members: Mapping[str, Shape]
    required: Sequence[str] = ()
    type_name = "structure"

    def load(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            _fail(errors, value, path, "be of type structure")
            return value
        out: dict[str, Any] = {}
        for name in self.required:
            if value.get(name) is None:
                _fail(errors, None, _join(path, name), "not be null")
        for name, shape in self.members.items():
            member = value.get(name)
            if member is not None:
                out[name] = shape.load(member, _join(path, name), errors)
        return out

    def validate(self, request: Any) -> dict[str, Any]:
        """Check a whole request; return it converted (declared members only).

        Raises:
            ValidationError: listing every problem found (up to :data:`MAX_REPORTED`).
        """
        errors: list[str] = []
        loaded = self.load(request, "", errors)
        if errors:
            count = len(errors)
            noun = "error" if count == 1 else "errors"
            shown = "; ".join(errors[:MAX_REPORTED])
            raise ValidationError(f"{count} validation {noun} detected: {shown}")
        result: dict[str, Any] = loaded
        return result


def _join(path: str, member: str) -> str:
    camel = member[:1].lower() + member[1:]
    return f"{path}.{camel}" if path else camel


# --- patterns and shapes SageMaker uses everywhere (reference section 2.0) ---------------------

#: ``TrainingJobName``, ``EndpointName``, ``EndpointConfigName``, ``TransformJobName``, ...
ENTITY_NAME = String(min=1, max=63, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: ``ModelName``.
MODEL_NAME = String(min=0, max=63, pattern=r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")
#: ``HyperParameterTuningJobName`` (at most 32 characters).
TUNING_JOB_NAME = String(min=1, max=32, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
#: ``VariantName``.
VARIANT_NAME = ENTITY_NAME
ROLE_ARN = String(
    min=20, max=2048, pattern=r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
)
#: An ``S3Uri`` (openmaker also takes local paths and ``file://`` URIs where SageMaker takes
#: ``s3://`` or ``https://``; the scheme is checked by the service that reads it).
URI = String(min=1, max=1024)
KMS_KEY_ID = String(max=2048, pattern=r"[a-zA-Z0-9:/_-]*")
IMAGE = String(max=255, pattern=r"[\S]+")
CONTENT_TYPE = String(max=256)
INSTANCE_TYPE = String(min=1, max=64)
ENVIRONMENT_KEY = String(max=1024, pattern=r"[a-zA-Z_][a-zA-Z0-9_]*")
TAG = Structure(
    {"Key": String(min=1, max=128), "Value": String(min=0, max=256)},
    required=("Key", "Value"),
)
TAGS = ListOf(TAG, min=0, max=50)
NEXT_TOKEN = String(max=8192)
MAX_RESULTS = Integer(min=1, max=100)
SORT_ORDER = String(enum=("Ascending", "Descending"))
NAME_CONTAINS = String(max=63, pattern=r"[a-zA-Z0-9\-]+")
