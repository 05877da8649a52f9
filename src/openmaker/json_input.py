"""Reading JSON that comes from outside (request bodies): every way to choke the decoder is a
:class:`~openmaker.errors.DataFormatError`, never a crash.

``json.loads`` alone lets through, or dies on, inputs a server must refuse cleanly:

* nesting deeper than the interpreter's recursion limit raises ``RecursionError`` (5,000 ``[``
  are enough); nesting it accepts can still break whatever walks the value later (encoding it
  again, storing it), so callers may set ``max_depth``;
* bytes are decoded as UTF-8, UTF-16 or UTF-32 by guessing; JSON exchanged between systems
  is UTF-8 (RFC 8259 section 8.1), so only UTF-8 is read (a UTF-8 byte order mark is skipped);
* ``\\ud800`` escapes give strings with lone surrogates, which cannot be encoded again (they
  fail later, in a database driver or a file write): refused here;
* an integer literal over 4,300 digits raises ``ValueError`` (CPython's conversion limit);
* ``NaN`` / ``Infinity`` literals and numbers too large for a double (``1e999``) are not JSON
  numbers; ``finite=True`` refuses them (AWS JSON requests), ``finite=False`` reads them as
  floats (model input, where NaN marks a missing value as it does in CSV).

The checks cost nothing on well-formed small documents: the depth walk runs only when the text
holds more brackets than ``max_depth``, the surrogate check only when it holds a
``\\uD8..``-``\\uDF..`` escape.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from openmaker.errors import DataFormatError

_BOM = "\ufeff"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class InvalidJSONError(DataFormatError):
    """The text is not a JSON document this reader takes.

    Attributes:
        reason: what is wrong, without the location (``"nested too deeply ..."``).
    """

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(f"invalid JSON: {reason}", line=line)
        self.reason = reason


class _Refused(Exception):
    """Raised by the number hooks; carries the message of the DataFormatError."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range")
    return value


def loads(
    data: bytes | bytearray | memoryview | str,
    *,
    max_depth: int | None = None,
    finite: bool = False,
    line: int | None = None,
) -> Any:
    """Parse one JSON document from an untrusted source.

    Args:
        data: the JSON text (bytes must be UTF-8).
        max_depth: the deepest nesting of arrays and objects allowed (``None``: what the
            decoder can take).
        finite: refuse ``NaN`` / ``Infinity`` literals and numbers that overflow a double.
        line: the 1-based line of ``data`` in a larger body (JSON Lines), for messages.

    Raises:
        InvalidJSONError: a :class:`~openmaker.errors.DataFormatError` naming the problem (and
            the line and column of a syntax error).
    """
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJSONError(
                f"the text is not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                line=line,
            ) from None
    if text.startswith(_BOM):
        text = text[1:]
    hooks: dict[str, Any] = {"parse_constant": _no_constant, "parse_float": _finite_float}
    try:
        value = json.loads(text, **hooks) if finite else json.loads(text)
    except json.JSONDecodeError as exc:
        where = exc.lineno if line is None else line + exc.lineno - 1
        raise InvalidJSONError(f"{exc.msg} (column {exc.colno})", line=where) from None
    except RecursionError:
        raise InvalidJSONError(_too_deep(max_depth), line=line) from None
    except _Refused as exc:
        raise InvalidJSONError(str(exc), line=line) from None
    except ValueError:  # an integer literal over the interpreter's digit limit
        raise InvalidJSONError("an integer has too many digits", line=line) from None
    deep = max_depth is not None and text.count("[") + text.count("{") > max_depth
    surrogates = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    if deep or surrogates:
        _check_value(value, max_depth if deep else None, surrogates, line)
    return value


def _check_value(value: Any, max_depth: int | None, surrogates: bool, line: int | None) -> None:
    """Walk ``value`` without recursion: its depth, and its strings' encodability."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if max_depth is not None and depth > max_depth:
                break
            for key, member in item.items():
                if surrogates:
                    _check_text(key, line)
                stack.append((member, depth + 1))
        elif isinstance(item, list):
            if max_depth is not None and depth > max_depth:
                break
            stack.extend((member, depth + 1) for member in item)
        elif surrogates and isinstance(item, str):
            _check_text(item, line)
    else:
        return
    raise InvalidJSONError(_too_deep(max_depth), line=line)


def _too_deep(max_depth: int | None) -> str:
    if max_depth is None:
        return "the value is nested too deeply"
    return f"the value is nested more than {max_depth} levels deep"


def _check_text(text: str, line: int | None) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJSONError(
            "a string holds an unpaired surrogate escape (\\ud800-\\udfff)", line=line
        ) from None
