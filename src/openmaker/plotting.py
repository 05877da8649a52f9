"""What every plot of openmaker shares: the format from the file's suffix, matplotlib (the
``plot`` extra) imported on demand, and round axis ticks for the inline-SVG HTML pages.

``.html`` / ``.htm`` -> a self-contained HTML page with inline SVG (no dependency);
``.png`` -> matplotlib (``pip install 'openmaker[plot]'``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from openmaker.errors import MissingExtraError, ValidationError

PlotFormat = Literal["html", "png"]
_SUFFIXES: dict[str, PlotFormat] = {".html": "html", ".htm": "html", ".png": "png"}


def plot_format(path: str | Path) -> PlotFormat:
    """``"html"`` or ``"png"``, from ``path``'s suffix.

    Raises:
        ValidationError: any other suffix.
    """
    name = Path(path).name
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValidationError(f"Plot file must end in .html or .png; got {name!r}")
    return fmt


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend.

    Raises:
        MissingExtraError: matplotlib is not installed (the ``plot`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError("matplotlib", "plot") from None
    return plt


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values (steps of 1, 2 or 5 times a power of ten) in ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    # the nearest round step (not the next larger): 3 to 7 ticks rather than as few as 1
    step = power * next(m for m, upto in ((1, 1.5), (2, 3.0), (5, 7.0), (10, math.inf))
                        if raw / power < upto)  # fmt: skip
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    # round away the float noise of k * step (0.30000000000000004)
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return [round(k * step, digits) for k in range(first, last + 1)]
