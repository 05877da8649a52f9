"""A plot of objective vs trial: HTML (inline SVG, no dependency) or PNG (matplotlib).

Each trial's objective is a dot; the line is the best value so far.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from openmaker.plotting import plot_format, pyplot

WIDTH, HEIGHT, MARGIN = 720, 400, 56


def best_so_far(values: Sequence[float | None], maximize: bool) -> list[float | None]:
    """The running best of ``values`` (``None`` until the first value)."""
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        out.append(best)
    return out


def write_plot(
    path: str | Path,
    values: Sequence[float | None],
    *,
    metric: str,
    maximize: bool,
    title: str,
) -> Path:
    """Write the plot to ``path`` (``.html``/``.htm`` or ``.png``).

    Args:
        path: the output file; its suffix picks the format.
        values: the objective of trial 1, 2, ... (``None``: no value).
        metric: the objective's name (the y axis label).
        maximize: whether larger is better (for the best-so-far line).
        title: the plot's title.

    Raises:
        ValidationError: an unknown suffix.
        MissingExtraError: PNG without matplotlib.
    """
    out = Path(path)
    if plot_format(out) == "html":
        out.write_text(_html(values, metric, maximize, title), encoding="utf-8")
    else:
        _png(out, values, metric, maximize, title)
    return out


def _png(
    out: Path, values: Sequence[float | None], metric: str, maximize: bool, title: str
) -> None:
    plt = pyplot()
    xs = [i + 1 for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    best = best_so_far(values, maximize)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.scatter(xs, ys, s=18, label="trial")
    bx = [i + 1 for i, b in enumerate(best) if b is not None]
    ax.step(bx, [b for b in best if b is not None], where="post", color="C1", label="best so far")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _html(values: Sequence[float | None], metric: str, maximize: bool, title: str) -> str:
    present = [v for v in values if v is not None]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(values), 1)

    def x(i: int) -> float:
        return MARGIN + (WIDTH - 2 * MARGIN) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (v - lo) / (hi - lo)

    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="#1f77b4">'
        f"<title>trial {i + 1}: {v:.6g}</title></circle>"
        for i, v in enumerate(values)
        if v is not None
    )
    best = best_so_far(values, maximize)
    points = " ".join(f"{x(i):.1f},{y(b):.1f}" for i, b in enumerate(best) if b is not None)
    ticks = "".join(
        f'<text x="{MARGIN - 6}" y="{y(v):.1f}" text-anchor="end" font-size="11">{v:.4g}</text>'
        for v in (lo, (lo + hi) / 2, hi)
    )
    xticks = "".join(
        f'<text x="{x(i):.1f}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle" '
        f'font-size="11">{i + 1}</text>'
        for i in range(0, n, max(1, n // 10))
    )
    t, m = html.escape(title), html.escape(metric)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{t}</title></head>
<body style="font-family: sans-serif">
<h3>{t}</h3>
<svg width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">
<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}"
 stroke="black"/>
<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>
{ticks}{xticks}
<polyline points="{points}" fill="none" stroke="#ff7f0e" stroke-width="2"/>
{dots}
<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12">trial</text>
<text x="14" y="{HEIGHT / 2}" font-size="12" transform="rotate(-90 14 {HEIGHT / 2})"
 text-anchor="middle">{m}</text>
</svg>
<p>Dots: each trial's objective. Line: the best so far ({"max" if maximize else "min"}imize).</p>
</body></html>
"""
