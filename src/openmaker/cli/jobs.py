"""``openmaker jobs list|describe|logs|metrics|stop|delete``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import (
    Column,
    Grid,
    escape,
    output_option,
    say,
    show_description,
    show_list,
    status_style,
    status_text,
)

MAX_RESULTS = click.option(
    "--max-results", default=50, show_default=True, type=click.IntRange(min=1)
)


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
@MAX_RESULTS
@output_option("list")
def list_jobs(
    status: str | None, name_contains: str | None, max_results: int, output: str | None
) -> None:
    """Training jobs, newest first.

    text columns: name, algorithm, status, secondary status, created, training seconds.
    json: ListTrainingJobs' response.
    """

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if status:
            request["StatusEquals"] = status
        if name_contains:
            request["NameContains"] = name_contains
        return respond_all("ListTrainingJobs", "TrainingJobSummaries", request, max_results)

    def grid() -> Grid:
        from openmaker.jobs.service import TrainingJobService

        records, _ = TrainingJobService().list(
            status_equals=status, name_contains=name_contains, max_results=max_results
        )
        rows = [
            {
                "name": r.name,
                "algorithm": r.algorithm,
                "status": r.status,
                "secondary": r.secondary_status,
                "created": r.creation_time,
                "took": _duration(r),
            }
            for r in records
        ]
        columns = [
            Column("name", "name"),
            Column("algorithm", "algorithm"),
            Column("status", "status", style=status_style),
            Column("secondary", "secondary"),
            Column("created", "created"),
            Column("took (s)", "took"),
        ]
        return Grid(columns, rows)

    show_list(output, response=response, grid=grid)


def _duration(rec: Any) -> str:
    if rec.training_start_time and rec.training_end_time:
        return f"{(rec.training_end_time - rec.training_start_time).total_seconds():.1f}"
    return ""


@jobs.command("describe")
@click.argument("name")
@output_option("describe")
def describe_job(name: str, output: str | None) -> None:
    """DescribeTrainingJob's response."""
    from openmaker.cli.responses import respond

    show_description(
        output, response=lambda: respond("DescribeTrainingJob", {"TrainingJobName": name})
    )


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
@output_option("list")
def job_metrics(name: str, metric: str | None, output: str | None) -> None:
    """Metric time series parsed from the log.

    text columns: metric, step, value, time. json: {"MetricData": [{MetricName, Step, Value,
    Timestamp}]} (no SageMaker operation lists a job's series; CloudWatch holds them there).
    """
    from openmaker.jobs.service import TrainingJobService

    points = TrainingJobService().metrics(name, metric)
    rows = [
        {"MetricName": p.name, "Step": p.step, "Value": p.value, "Timestamp": p.timestamp}
        for p in points
    ]
    columns = [
        Column("metric", "MetricName"),
        Column("step", "Step"),
        Column("value", "Value"),
        Column("time", "Timestamp"),
    ]
    show_list(output, response=lambda: {"MetricData": rows}, grid=lambda: Grid(columns, rows))


@jobs.command("stop")
@click.argument("name")
def stop_job(name: str) -> None:
    """Stop a running job (the model so far is still uploaded)."""
    from openmaker.jobs.service import TrainingJobService

    rec = TrainingJobService().stop(name)
    say(f"{escape(rec.name)}: {status_text(rec.status)}")


@jobs.command("delete")
@click.argument("name")
def delete_job(name: str) -> None:
    """Delete a finished job's record and folder (its model stays where it was written)."""
    from openmaker.jobs.service import TrainingJobService

    TrainingJobService().delete(name)
    say(f"Deleted {escape(name)}")
