"""``openmaker transform start|list|describe|logs|stop``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import (
    Column,
    Grid,
    console,
    escape,
    output_option,
    say,
    say_plain,
    show_description,
    show_list,
    status_style,
    status_text,
)


@click.group()
def transform() -> None:
    """Batch transform jobs."""


@transform.command("start")
@click.argument("name")
@click.option("--model", required=True)
@click.option("--input", "input_uri", required=True, help="A file, folder or prefix.")
@click.option("--output", "output_uri", required=True, help="S3OutputPath.")
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None)
@click.option("--split-type", type=click.Choice(["None", "Line", "RecordIO"]), default="Line",
              show_default=True)  # fmt: skip
@click.option("--strategy", type=click.Choice(["MultiRecord", "SingleRecord"]),
              default="MultiRecord", show_default=True)  # fmt: skip
@click.option("--assemble-with", type=click.Choice(["None", "Line"]), default="Line",
              show_default=True)  # fmt: skip
@click.option("--max-payload", default=6, show_default=True, help="MaxPayloadInMB.")
@click.option("--max-concurrent", default=1, show_default=True, help="MaxConcurrentTransforms.")
@click.option("--input-filter", default="$", show_default=True)
@click.option("--output-filter", default="$", show_default=True)
@click.option("--join-source", type=click.Choice(["None", "Input"]), default="None")
@click.option("--skip-bad-records", is_flag=True, help="Skip and report bad records.")
@click.option("--wait/--no-wait", default=True, show_default=True)
def start(name: str, model: str, input_uri: str, output_uri: str, content_type: str,
          accept: str | None, split_type: str, strategy: str, assemble_with: str,
          max_payload: int, max_concurrent: int, input_filter: str, output_filter: str,
          join_source: str, skip_bad_records: bool, wait: bool) -> None:  # fmt: skip
    """CreateTransformJob; with --wait (default) show a progress bar until it ends."""
    from openmaker.transform.service import TransformJobService

    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": split_type,
        },
        "TransformOutput": {"S3OutputPath": output_uri, "AssembleWith": assemble_with},
        "BatchStrategy": strategy,
        "MaxPayloadInMB": max_payload,
        "MaxConcurrentTransforms": max_concurrent,
        "DataProcessing": {
            "InputFilter": input_filter,
            "OutputFilter": output_filter,
            "JoinSource": join_source,
        },
        "BadRecordPolicy": "Skip" if skip_bad_records else "Fail",
    }
    if accept:
        request["TransformOutput"]["Accept"] = accept
    service = TransformJobService()
    rec = service.create(request)
    click.echo(rec.arn)
    if wait:
        _follow(service, name)


def _follow(service: Any, name: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("files, {task.fields[records]} records"))  # fmt: skip
    with Progress(*columns, console=console()) as bar:
        task = bar.add_task(name, total=None, records=0)

        def update(rec: Any) -> None:
            p = rec.progress
            bar.update(task, total=p.get("FilesTotal") or None, completed=p.get("FilesDone", 0),
                       records=p.get("RecordsDone", 0))  # fmt: skip

        rec = service.wait(name, on_update=update)
    say(f"{escape(name)}: {status_text(rec.status)}")
    if rec.progress.get("RecordsSkipped"):
        say(f"[yellow]{rec.progress['RecordsSkipped']} bad record(s) skipped[/]")
    if rec.failure_reason:
        say_plain(rec.failure_reason, style="red")
    if rec.status != "Completed":
        raise SystemExit(1)


@transform.command("list")
@click.option("--status", default=None)
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(min=1))
@output_option("list")
def list_jobs(
    status: str | None, name_contains: str | None, max_results: int, output: str | None
) -> None:
    """Transform jobs, newest first.

    text columns: name, model, status, records done, created. json: ListTransformJobs'
    response.
    """

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if status:
            request["StatusEquals"] = status
        if name_contains:
            request["NameContains"] = name_contains
        return respond_all("ListTransformJobs", "TransformJobSummaries", request, max_results)

    def grid() -> Grid:
        from openmaker.transform.service import TransformJobService

        records, _ = TransformJobService().list(
            status_equals=status, name_contains=name_contains, max_results=max_results
        )
        rows = [
            {
                "name": r.name,
                "model": r.model_name,
                "status": r.status,
                "records": r.progress.get("RecordsDone", 0),
                "created": r.creation_time,
            }
            for r in records
        ]
        columns = [
            Column("name", "name"),
            Column("model", "model"),
            Column("status", "status", style=status_style),
            Column("records", "records"),
            Column("created", "created"),
        ]
        return Grid(columns, rows)

    show_list(output, response=response, grid=grid)


@transform.command("describe")
@click.argument("name")
@output_option("describe")
def describe(name: str, output: str | None) -> None:
    """DescribeTransformJob's response."""
    from openmaker.cli.responses import respond

    show_description(
        output, response=lambda: respond("DescribeTransformJob", {"TransformJobName": name})
    )


@transform.command("logs")
@click.argument("name")
@click.option("--follow", "-f", is_flag=True)
def logs(name: str, follow: bool) -> None:
    """The job's log."""
    from openmaker.transform.service import TransformJobService

    for line in TransformJobService().logs(name, follow=follow):
        click.echo(line)


@transform.command("stop")
@click.argument("name")
def stop(name: str) -> None:
    """StopTransformJob."""
    from openmaker.transform.service import TransformJobService

    rec = TransformJobService().stop(name)
    click.echo(f"{name}: {rec.status}")
