"""Rich rendering shared by the CLI commands (tables, job status, live progress)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

STATUS_STYLE = {
    "InProgress": "cyan",
    "Completed": "green",
    "Failed": "red",
    "Stopping": "yellow",
    "Stopped": "yellow",
}


def status_text(status: str) -> str:
    """A status coloured for the terminal."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def when(value: datetime | None) -> str:
    """A timestamp in local time, seconds precision."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table with the given columns."""
    t = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*[str(c) for c in row])
    return t


def print_json(data: Any) -> None:
    """Pretty JSON (datetimes as ISO strings)."""
    console.print_json(json.dumps(data, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def job_status_table(record: Any, log_tail: list[str] | None = None) -> Table:
    """The live panel shown while a training job runs: status, transitions, latest metrics."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("Job", record.name)
    t.add_row("Algorithm", record.algorithm)
    t.add_row("Status", f"{status_text(record.status)} / {record.secondary_status}")
    if record.secondary_status_transitions:
        last = record.secondary_status_transitions[-1]
        t.add_row("", f"[dim]{last.message}[/]")
    for metric in sorted(record.final_metrics, key=lambda m: m.name):
        t.add_row(metric.name, f"{metric.value:.6g}")
    if record.failure_reason:
        t.add_row("Failure", f"[red]{record.failure_reason}[/]")
    for line in log_tail or []:
        t.add_row("", f"[dim]{line[:160]}[/]")
    return t
