"""Name patterns of hosting resources (SageMaker's, reference section 2.0)."""

from __future__ import annotations

import re

from openmaker.errors import ValidationError

_PATTERNS = {
    "ModelName": re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"),
    "EndpointName": re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "EndpointConfigName": re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "VariantName": re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "TransformJobName": re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
}


def check_name(value: object, field: str) -> str:
    """Return ``value`` if it is a valid ``field`` (1-63 characters, SageMaker's pattern).

    Raises:
        ValidationError: in SageMaker's wording, naming the field and the pattern.
    """
    pattern = _PATTERNS[field]
    if not isinstance(value, str) or len(value) > 63 or not pattern.match(value):
        member = field[0].lower() + field[1:]
        raise ValidationError(
            f"1 validation error detected: Value {value!r} at '{member}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: "
            f"{pattern.pattern.strip('^$')} (1-63 characters)"
        )
    return value
