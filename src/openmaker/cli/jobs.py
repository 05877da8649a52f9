"""``openmaker jobs list|describe|logs|metrics|stop|delete``."""

from __future__ import annotations

import click

from openmaker.cli.render import console, print_json, status_text, table, when


@click.group()
def jobs() -> None:
    """Training jobs."""


@jobs.command("list")
@click.option(
    "--status",
    default=None,
    type=click.Choice(["InProgress", "Completed", "Failed", "Stopping", "Stopped"]),
)
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True)
def list_jobs(status: str | None, name_contains: str | None, max_results: int) -> None:
    """Training jobs, newest first."""
    from openmaker.jobs.service import TrainingJobService

    records, _ = TrainingJobService().list(
        status_equals=status, name_contains=name_contains, max_results=max_results
    )
    rows = [
        [
            r.name,
            r.algorithm,
            status_text(r.status),
            r.secondary_status,
            when(r.creation_time),
            _duration(r),
        ]
        for r in records
    ]
    console.print(
        table(None, ["name", "algorithm", "status", "secondary", "created", "took"], rows)
    )


def _duration(rec) -> str:  # type: ignore[no-untyped-def]
    if rec.training_start_time and rec.training_end_time:
        return f"{(rec.training_end_time - rec.training_start_time).total_seconds():.1f}s"
    return ""


@jobs.command("describe")
@click.argument("name")
def describe_job(name: str) -> None:
    """DescribeTrainingJob, as JSON."""
    from openmaker.jobs.service import TrainingJobService

    print_json(TrainingJobService().describe(name))


@jobs.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
def job_logs(name: str, follow: bool) -> None:
    """The job's log (what the algorithm printed)."""
    from openmaker.jobs.service import TrainingJobService

    for line in TrainingJobService().logs(name, follow=follow):
        click.echo(line)


@jobs.command("metrics")
@click.argument("name")
@click.option("--metric", default=None, help="One metric only.")
def job_metrics(name: str, metric: str | None) -> None:
    """Metric time series parsed from the log."""
    from openmaker.jobs.service import TrainingJobService

    points = TrainingJobService().metrics(name, metric)
    console.print(
        table(
            None,
            ["metric", "step", "value", "time"],
            [[p.name, p.step, f"{p.value:.6g}", when(p.timestamp)] for p in points],
        )
    )


@jobs.command("stop")
@click.argument("name")
def stop_job(name: str) -> None:
    """Stop a running job (the model so far is still uploaded)."""
    from openmaker.jobs.service import TrainingJobService

    rec = TrainingJobService().stop(name)
    console.print(f"{rec.name}: {status_text(rec.status)}")


@jobs.command("delete")
@click.argument("name")
def delete_job(name: str) -> None:
    """Delete a finished job's record and folder (its model stays where it was written)."""
    from openmaker.jobs.service import TrainingJobService

    TrainingJobService().delete(name)
    console.print(f"Deleted {name}")
