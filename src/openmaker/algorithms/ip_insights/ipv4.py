"""IPv4 addresses in dotted-decimal form <-> 32-bit integers, one by one and vectorised.

Accepted: four decimal octets of one to three digits, each at most 255, separated by dots,
with surrounding white space ignored (``" 192.168.1.2"``). Leading zeros are read as decimal
(``010.0.0.1`` is 10.0.0.1). Anything else is refused; IPv6 addresses (any ``:`` in the value)
get their own message, since IP Insights takes IPv4 only.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_DOTTED = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$", re.ASCII)
_DOTTED_RE2 = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"


def ipv4_problem(text: str) -> str | None:
    """Why ``text`` is not an IPv4 address, or ``None`` when it is one."""
    value = text.strip()
    if not value:
        return "the IP address is empty"
    if ":" in value:
        return (
            f"{value[:60]!r} is an IPv6 address; IP Insights supports IPv4 addresses only "
            "(dotted decimal, e.g. 192.168.1.2)"
        )
    m = _DOTTED.match(value)
    if m is None:
        return f"{value[:60]!r} is not an IPv4 address (dotted decimal, e.g. 192.168.1.2)"
    if any(int(g) > 255 for g in m.groups()):
        return f"{value[:60]!r} is not an IPv4 address: each octet must be at most 255"
    return None


def ipv4_to_int(text: str) -> int:
    """The 32-bit integer of one dotted-decimal address.

    Raises:
        ValueError: the reason given by :func:`ipv4_problem`.
    """
    problem = ipv4_problem(text)
    if problem is not None:
        raise ValueError(problem)
    a, b, c, d = (int(g) for g in text.strip().split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def int_to_ipv4(value: int) -> str:
    """Dotted-decimal text of a 32-bit integer."""
    v = int(value)
    return f"{(v >> 24) & 255}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def parse_ipv4_array(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised parse of an arrow string array of addresses.

    Args:
        values: a ``pyarrow`` string array (nulls allowed; they are invalid).

    Returns:
        ``(addresses, valid)``: uint32 addresses (0 where invalid) and a boolean mask. Use
        :func:`ipv4_problem` on an invalid value to say what is wrong with it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(values)
    out = np.zeros(n, dtype=np.uint32)
    if n == 0:
        return out, np.ones(0, dtype=bool)
    text = pc.utf8_trim_whitespace(values)
    shaped = pc.fill_null(pc.match_substring_regex(text, _DOTTED_RE2), False)
    valid = np.asarray(shaped.to_numpy(zero_copy_only=False), dtype=bool)
    if not valid.any():
        return out, valid
    good = text.filter(pa.array(valid))
    octets = pc.cast(pc.list_flatten(pc.split_pattern(good, ".")), pa.uint32())
    o = np.asarray(octets.to_numpy(zero_copy_only=False), dtype=np.uint32).reshape(-1, 4)
    in_range = (o <= 255).all(axis=1)
    addr = (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3]
    idx = np.flatnonzero(valid)
    out[idx[in_range]] = addr[in_range]
    valid[idx[~in_range]] = False
    return out, valid
