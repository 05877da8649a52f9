"""Following a running job in the terminal: a live panel, or plain lines when not a TTY."""

from __future__ import annotations

import time
from collections import deque

from openmaker.cli.render import console, job_status_table, say_plain, stdout_is_terminal
from openmaker.jobs.service import TERMINAL, TrainingJobService
from openmaker.store import TrainingJobRecord


def follow_job(
    service: TrainingJobService, name: str, *, show_logs: bool = True
) -> TrainingJobRecord:
    """Show the job until it ends; returns its final record."""
    if stdout_is_terminal():
        return _live(service, name, show_logs)
    return _plain(service, name, show_logs)


def _live(service: TrainingJobService, name: str, show_logs: bool) -> TrainingJobRecord:
    from rich.live import Live

    tail: deque[str] = deque(maxlen=8)
    position = 0
    with Live(console=console(), refresh_per_second=4, transient=False) as live:
        while True:
            rec = service.get(name)
            if show_logs:
                lines, position = service.log_chunk(name, position)
                tail.extend(lines)
            live.update(job_status_table(rec, list(tail) if show_logs else None))
            if rec.status in TERMINAL:
                return rec
            time.sleep(0.5)


def _plain(service: TrainingJobService, name: str, show_logs: bool) -> TrainingJobRecord:
    seen = 0
    log_iter = service.logs(name, follow=True) if show_logs else iter(())

    def on_update(rec: TrainingJobRecord) -> None:
        nonlocal seen
        for t in rec.secondary_status_transitions[seen:]:
            say_plain(f"{rec.name}: {t.status}: {t.message}")
        seen = len(rec.secondary_status_transitions)

    on_update(service.get(name))
    for line in log_iter:
        say_plain(line)
    return service.wait(name, on_update=on_update)
