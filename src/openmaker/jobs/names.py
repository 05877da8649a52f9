"""Resource names: SageMaker's patterns, and unique names like the SDK makes them."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from openmaker.errors import ValidationError

_PATTERNS = {
    "TrainingJobName": (re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"), 63),
}


def validate_name(name: str, field: str = "TrainingJobName") -> str:
    """Raise ValidationError unless ``name`` matches SageMaker's pattern for ``field``."""
    pattern, max_len = _PATTERNS[field]
    if not isinstance(name, str) or not pattern.match(name):
        raise ValidationError(
            f"1 validation error detected: Value {name!r} at '{field[0].lower() + field[1:]}' "
            f"failed to satisfy constraint: Member must satisfy regular expression pattern: "
            f"{pattern.pattern.strip('^$')} (1-{max_len} characters)"
        )
    return name


def unique_name(base: str, max_length: int = 63) -> str:
    """``<base>-YYYY-MM-DD-HH-MM-SS-mmm`` (the SDK's ``name_from_base``), cut to fit."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d-%H-%M-%S-") + f"{int(time.time() * 1000) % 1000:03d}"
    base = re.sub(r"[^a-zA-Z0-9-]", "-", base).strip("-") or "job"
    return f"{base[: max_length - len(stamp) - 1]}-{stamp}"
