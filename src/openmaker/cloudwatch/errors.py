"""CloudWatch's client errors, as typed errors carrying CloudWatch's own codes.

The codes are the ones CloudWatch's service model gives its errors (the AWS Query codes, which
botocore reports as ``Error.Code`` whatever the wire protocol).
"""

from __future__ import annotations

from openmaker.errors import ValidationError


class InvalidParameterValueError(ValidationError):
    """A parameter's value is out of its domain (a bad period, statistic or token)."""

    code = "InvalidParameterValue"


class InvalidParameterCombinationError(ValidationError):
    """Parameters that cannot go together (both or neither kind of statistics, too many
    data points)."""

    code = "InvalidParameterCombination"


class MissingParameterError(ValidationError):
    """A required parameter is missing."""

    code = "MissingParameter"

    def __init__(self, parameter: str) -> None:
        super().__init__(f"The parameter {parameter} is required.")
        self.parameter = parameter
