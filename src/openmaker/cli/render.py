"""How the CLI shows what its commands return: the one place that renders.

Every ``list`` and ``describe`` command takes ``--output json|text|table`` (the AWS CLI's
convention) and hands this module its data, never a formatted string:

- ``json``: the API's response (``ListTrainingJobs``', ``DescribeTrainingJob``'s ... shape),
  timestamps as ISO 8601 strings, indented.
- ``text``: tab-separated, one record a line, no header, no colour, nothing cut: a list prints
  the table's columns in the table's order (the name first, for ``cut -f1``); a describe
  prints ``PATH<TAB>VALUE`` for every leaf of the response (``ResourceConfig.InstanceType``,
  ``InputDataConfig[0].ChannelName``). Tabs and line breaks inside a value are written as
  ``\\t`` / ``\\n`` so that a record stays on its line.
- ``table``: rich tables sized to the terminal.

Without ``--output``: ``$OPENMAKER_DEFAULT_OUTPUT`` when set (as ``$AWS_DEFAULT_OUTPUT`` is for
the AWS CLI), else ``table`` on a terminal, else (stdout is a pipe or a file) ``text`` for a
list and ``json`` for a describe.

A name, a path, a URI or a command is never broken or cut, in any mode: plain messages are
printed soft-wrapped (the terminal wraps them, a pipe gets whole lines); a table column is
:data:`WHOLE` (identifiers: one line at full width), :data:`WORDS` (lists and messages: wrapped
between words, never inside one) or :data:`CLIP` (descriptions: cut with an ellipsis). A table
wider than the terminal shrinks its CLIP columns first, then its WORDS columns, never below what
they need; a table that still does not fit is printed wider than the terminal rather than cut.
On a pipe a table takes its natural width (``$COLUMNS``, when set, is honoured).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import click
from rich.cells import cell_len
from rich.console import Console, OverflowMethod
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

OUTPUT_ENV = "OPENMAKER_DEFAULT_OUTPUT"
FORMATS = ("json", "text", "table")
#: What a command shows: a ``list`` (many records) or a ``describe`` (one response).
CommandKind = Literal["list", "describe"]

#: How a table column may give up width.
Fit = Literal["whole", "words", "clip"]
WHOLE: Fit = "whole"
WORDS: Fit = "words"
CLIP: Fit = "clip"
#: The narrowest a CLIP column gets (its header, when longer, is kept whole).
CLIP_MIN = 8

STATUS_STYLE = {
    "InProgress": "cyan",
    "Creating": "cyan",
    "Updating": "cyan",
    "Completed": "green",
    "InService": "green",
    "Failed": "red",
    "Stopping": "yellow",
    "Stopped": "yellow",
}

F = TypeVar("F", bound=Callable[..., Any])


# --- consoles and messages ---------------------------------------------------------------------
def console(stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr) as it is now, soft-wrapped: rich never breaks a
    line of a message (the terminal does, visually; a pipe gets the whole line)."""
    return Console(stderr=stderr, soft_wrap=True)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (what the default ``--output`` depends on)."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


def say(message: str) -> None:
    """Print a message written in rich markup (escape the data in it with :func:`escape`)."""
    console().print(message, highlight=False)


def say_plain(text: str, style: str | None = None) -> None:
    """Print data (a failure reason, a log line, a command) as it is: no markup, one line."""
    console().print(Text(text, style=style or ""), highlight=False)


def say_paragraph(text: str) -> None:
    """Print prose: on a terminal wrapped to its width between words (a word longer than the
    line stays whole), elsewhere one line."""
    out = console()
    if stdout_is_terminal():
        import textwrap

        text = textwrap.fill(
            text, width=max(out.width, 20), break_long_words=False, break_on_hyphens=False
        )
    out.print(Text(text), highlight=False)


def escape(text: Any) -> str:
    """``text`` made safe inside :func:`say`'s markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def status_text(status: str) -> str:
    """A status coloured for :func:`say`."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{escape(status)}[/]"


def status_style(status: Any) -> str | None:
    """The colour of a status cell."""
    return STATUS_STYLE.get(str(status))


def when(value: datetime | None) -> str:
    """A timestamp in local time, seconds precision (tables)."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


# --- --output ----------------------------------------------------------------------------------
def output_option(kind: CommandKind) -> Callable[[F], F]:
    """The ``--output`` option of a ``list`` or ``describe`` command."""
    piped = "text" if kind == "list" else "json"
    shape = "the List* response" if kind == "list" else "the Describe* response"
    return click.option(
        "--output",
        "output",
        type=click.Choice(FORMATS),
        default=None,
        help=(
            f"json ({shape}), text (tab-separated) or table. Default: ${OUTPUT_ENV}, "
            f"else table on a terminal, {piped} otherwise."
        ),
    )


def resolve_output(choice: str | None, kind: CommandKind) -> str:
    """The output format: ``--output``, else ``$OPENMAKER_DEFAULT_OUTPUT``, else ``table`` on a
    terminal and ``text`` (a list) or ``json`` (a describe) when stdout is not one.

    Raises:
        click.UsageError: ``$OPENMAKER_DEFAULT_OUTPUT`` is not one of the formats.
    """
    if choice:
        return choice
    env = os.environ.get(OUTPUT_ENV, "").strip()
    if env:
        if env.lower() not in FORMATS:
            raise click.UsageError(f"${OUTPUT_ENV} must be json, text or table; got {env!r}")
        return env.lower()
    if stdout_is_terminal():
        return "table"
    return "text" if kind == "list" else "json"


# --- tables ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of a :class:`Grid`.

    Attributes:
        header: the table header.
        key: the row member shown.
        fit: :data:`WHOLE`, :data:`WORDS` or :data:`CLIP` (see the module docstring).
        style: the cell's colour, from its value (e.g. :func:`status_style`).
    """

    header: str
    key: str
    fit: Fit = WHOLE
    style: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Grid:
    """A table's data: columns, rows (mappings of raw values: datetimes stay datetimes) and a
    title. ``text`` output prints the same rows and columns, without the title and header."""

    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    title: str | None = None


@dataclass(frozen=True)
class Paragraph:
    """Prose among a command's tables (see :func:`say_paragraph`)."""

    text: str


def cell(value: Any) -> str:
    """A value as a table shows it (local times, 6 significant digits, empty for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def field(value: Any) -> str:
    """A value as ``text`` output writes it: ISO 8601 times, ``true``/``false``, and tabs and
    line breaks escaped so that the record stays one line."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def fit_widths(
    natural: Sequence[int], minimum: Sequence[int], fits: Sequence[Fit], available: int | None
) -> list[int]:
    """Column widths that fit ``available`` cells: CLIP columns give up width first, then
    WORDS columns, the widest first, none below its minimum (WHOLE columns never shrink).
    ``available=None``: the natural widths."""
    widths = list(natural)
    if available is None:
        return widths
    excess = sum(widths) - available
    for shrinking in (CLIP, WORDS):
        while excess > 0:
            candidates = [
                i for i, fit in enumerate(fits) if fit == shrinking and widths[i] > minimum[i]
            ]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    return widths


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def _measures(grid: Grid) -> tuple[list[int], list[int]]:
    natural, minimum = [], []
    for col in grid.columns:
        cells = [cell(row.get(col.key)) for row in grid.rows]
        widest = max([cell_len(col.header), *(cell_len(c) for c in cells)])
        natural.append(max(widest, 1))
        if col.fit == WHOLE:
            minimum.append(natural[-1])
        elif col.fit == WORDS:
            minimum.append(max([_longest_word(col.header), *map(_longest_word, cells), 1]))
        else:
            minimum.append(min(natural[-1], max(cell_len(col.header), CLIP_MIN)))
    return natural, minimum


_OVERFLOW: dict[Fit, OverflowMethod] = {WHOLE: "ignore", WORDS: "fold", CLIP: "ellipsis"}


def _rich_table(grid: Grid, widths: Sequence[int], *, bare: bool) -> Table:
    options: dict[str, Any] = {"title": grid.title, "header_style": "bold"}
    if bare:
        options.update(box=None, show_header=False, pad_edge=False)
    table = Table(**options)
    for col, width in zip(grid.columns, widths, strict=True):
        table.add_column(
            col.header,
            width=width,
            no_wrap=col.fit != WORDS,
            # "fold" only lets a WORDS column wrap: it is never narrower than its longest word
            overflow=_OVERFLOW[col.fit],
        )
    for row in grid.rows:
        table.add_row(
            *[
                Text(cell(row.get(c.key)), style=(c.style(row.get(c.key)) if c.style else "") or "")
                for c in grid.columns
            ]
        )
    return table


def table_width_limit(out: Console) -> int | None:
    """The width a table must fit: the terminal's, or ``$COLUMNS``; None (natural width) when
    stdout is a pipe or a file and ``$COLUMNS`` is not set."""
    if stdout_is_terminal() or os.environ.get("COLUMNS", "").strip().isdigit():
        return out.width
    return None


def build_table(grid: Grid, limit: int | None, *, bare: bool = False) -> Table:
    """The rich table of ``grid``, at most ``limit`` cells wide when its identifiers allow it
    (wider otherwise: print it with ``crop=False``)."""
    natural, minimum = _measures(grid)
    probe = _rich_table(Grid(grid.columns, [], None), [1] * len(grid.columns), bare=bare)
    frame = Measurement.get(_PROBE, _PROBE.options.update_width(10**6), probe).maximum
    overhead = frame - len(grid.columns)
    widths = fit_widths(natural, minimum, [c.fit for c in grid.columns],
                        None if limit is None else limit - overhead)  # fmt: skip
    table = _rich_table(grid, widths, bare=bare)
    table.width = sum(widths) + overhead  # rich must not squeeze it further
    return table


_PROBE = Console(width=10**6, file=io.StringIO())  # measures tables, prints nothing


def print_grid(grid: Grid, *, bare: bool = False) -> None:
    """Print ``grid`` as a table that fits the terminal (see the module docstring); on a pipe
    without the cells' trailing padding."""
    out = console()
    table = build_table(grid, table_width_limit(out), bare=bare)
    if stdout_is_terminal():
        out.print(table, crop=False)
        return
    with out.capture() as captured:
        out.print(table, crop=False)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def print_rows(grid: Grid) -> None:
    """``text`` output: ``grid``'s rows, tab-separated, no header."""
    for row in grid.rows:
        click.echo("\t".join(field(row.get(c.key)) for c in grid.columns))


# --- JSON and describe responses --------------------------------------------------------------
def to_json(data: Any) -> str:
    """``data`` as indented JSON, timestamps as ISO 8601 strings."""
    return json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a response as ``(path, value)``: ``ResourceConfig.InstanceType``,
    ``InputDataConfig[0].ChannelName``; an empty structure is one leaf with the value ''."""
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list | tuple) and data:
        for i, value in enumerate(data):
            yield from flatten(value, f"{prefix}[{i}]")
    elif isinstance(data, Mapping | list | tuple):
        yield prefix, ""
    else:
        yield prefix, data


def outline(data: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[str, Any]]:
    """A response as indented ``(key, value)`` rows (YAML-like: list items start with ``-``),
    for a describe's table."""
    pad = "  " * depth
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            yield pad + str(key), None
            yield from outline(value, depth + 1)
        elif isinstance(value, list | tuple) and value:
            yield pad + str(key), None
            yield from _outline_items(value, depth + 1)
        elif isinstance(value, Mapping | list | tuple):
            yield pad + str(key), "{}" if isinstance(value, Mapping) else "[]"
        else:
            yield pad + str(key), value


def _outline_items(items: Iterable[Any], depth: int) -> Iterator[tuple[str, Any]]:
    pad = "  " * depth
    for item in items:
        if isinstance(item, Mapping) and item:
            rows = list(outline(item, depth + 1))
            key, value = rows[0]
            yield pad + "- " + key.lstrip(), value
            yield from rows[1:]
        elif isinstance(item, list | tuple) and item:
            yield pad + "-", None
            yield from _outline_items(item, depth + 1)
        else:
            yield pad + "-", item


def describe_grid(data: Mapping[str, Any]) -> Grid:
    """A describe response as a two-column table: keys whole, values wrapped between words."""
    rows = [{"key": key, "value": value} for key, value in outline(data)]
    return Grid([Column("key", "key"), Column("value", "value", WORDS)], rows)


# --- what the commands call --------------------------------------------------------------------
def show_list(
    output: str | None,
    *,
    response: Callable[[], Mapping[str, Any]],
    grid: Callable[[], Grid],
) -> None:
    """Show a ``list`` command's result. ``response`` (the API's List* response, for ``json``)
    and ``grid`` (for ``text`` and ``table``) are only called for the format shown."""
    fmt = resolve_output(output, "list")
    if fmt == "json":
        click.echo(to_json(response()))
    elif fmt == "text":
        print_rows(grid())
    else:
        print_grid(grid())


def show_description(
    output: str | None,
    *,
    response: Callable[[], Mapping[str, Any]],
    table: Callable[[], Iterable[Grid | Paragraph | str]] | None = None,
) -> None:
    """Show a ``describe`` command's result: the API's Describe* response as JSON, as
    ``PATH<TAB>VALUE`` lines, or as a table (``table``: the command's own tables and markup
    lines and paragraphs, when it has a better view than the response's outline)."""
    fmt = resolve_output(output, "describe")
    if fmt == "table" and table is not None:
        for block in table():
            if isinstance(block, Grid):
                print_grid(block)
            elif isinstance(block, Paragraph):
                say_paragraph(block.text)
            else:
                say(block)
        return
    data = response()
    if fmt == "json":
        click.echo(to_json(data))
    elif fmt == "text":
        for path, value in flatten(data):
            click.echo(f"{field(path)}\t{field(value)}")
    else:
        print_grid(describe_grid(data), bare=True)


def job_status_table(record: Any, log_tail: list[str] | None = None) -> Table:
    """The live panel shown while a training job runs: status, transitions, latest metrics."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="ignore")
    t.add_row("Job", Text(record.name))
    t.add_row("Algorithm", Text(record.algorithm))
    t.add_row("Status", f"{status_text(record.status)} / {escape(record.secondary_status)}")
    if record.secondary_status_transitions:
        last = record.secondary_status_transitions[-1]
        t.add_row("", Text(last.message, style="dim"))
    for metric in sorted(record.final_metrics, key=lambda m: m.name):
        t.add_row(Text(metric.name), f"{metric.value:.6g}")
    if record.failure_reason:
        t.add_row("Failure", Text(record.failure_reason, style="red"))
    for line in log_tail or []:
        t.add_row("", Text(line[:160], style="dim"))
    return t
