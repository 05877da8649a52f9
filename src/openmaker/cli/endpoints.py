"""``openmaker endpoints create|update|list|describe|delete``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import (
    WORDS,
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
def endpoints() -> None:
    """Endpoints (served by ``openmaker serve``)."""


def _config_from_model(name: str, model: str, count: int, capture_uri: str | None,
                       percent: int) -> str:  # fmt: skip
    from openmaker.cli.endpoint_configs import capture_config
    from openmaker.hosting.endpoint_configs import EndpointConfigService
    from openmaker.jobs.names import unique_name

    config = unique_name(f"{name[:30]}-config")
    request: dict[str, Any] = {
        "EndpointConfigName": config,
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": count}
        ],
    }
    capture = capture_config(capture_uri, percent)
    if capture:
        request["DataCaptureConfig"] = capture
    EndpointConfigService().create(request)
    return config


def _wait(name: str) -> None:
    from openmaker.hosting.endpoints import EndpointService

    with console().status(f"Waiting for endpoint {escape(name)}..."):
        rec = EndpointService().wait(name)
    say(f"{escape(name)}: {status_text(rec.status)}")
    if rec.failure_reason:
        say_plain(rec.failure_reason, style="red")
    if rec.status == "Failed":
        raise SystemExit(1)


@endpoints.command("create")
@click.argument("name")
@click.option("--config", default=None, help="An existing endpoint config.")
@click.option("--model", default=None, help="Or: a model, served by one variant (AllTraffic).")
@click.option("--instance-count", default=1, show_default=True, help="With --model.")
@click.option("--capture-uri", default=None, help="With --model: data capture destination.")
@click.option("--capture-percent", default=100, show_default=True, type=int)
@click.option("--wait/--no-wait", default=True, show_default=True)
def create(name: str, config: str | None, model: str | None, instance_count: int,
           capture_uri: str | None, capture_percent: int, wait: bool) -> None:  # fmt: skip
    """CreateEndpoint (Creating -> InService)."""
    from openmaker.hosting.endpoints import EndpointService

    if bool(config) == bool(model):
        raise click.UsageError("give exactly one of --config and --model")
    if model:
        config = _config_from_model(name, model, instance_count, capture_uri, capture_percent)
    rec = EndpointService().create({"EndpointName": name, "EndpointConfigName": config})
    click.echo(rec.arn)
    if wait:
        _wait(name)


@endpoints.command("update")
@click.argument("name")
@click.option("--config", required=True, help="The new endpoint config.")
@click.option("--retain-all-variant-properties", is_flag=True)
@click.option("--wait/--no-wait", default=True, show_default=True)
def update(name: str, config: str, retain_all_variant_properties: bool, wait: bool) -> None:
    """UpdateEndpoint (Updating -> InService, no downtime)."""
    from openmaker.hosting.endpoints import EndpointService

    EndpointService().update(
        name, config, retain_all_variant_properties=retain_all_variant_properties
    )
    if wait:
        _wait(name)


@endpoints.command("list")
@click.option("--status", default=None)
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(min=1))
@output_option("list")
def list_endpoints(
    status: str | None, name_contains: str | None, max_results: int, output: str | None
) -> None:
    """Endpoints, newest first.

    text columns: name, status, config, variants (VARIANT=MODEL(w=WEIGHT,n=INSTANCES),
    comma-separated), created. json: ListEndpoints' response.
    """

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if status:
            request["StatusEquals"] = status
        if name_contains:
            request["NameContains"] = name_contains
        return respond_all("ListEndpoints", "Endpoints", request, max_results)

    def grid() -> Grid:
        from openmaker.hosting.endpoints import EndpointService

        records, _ = EndpointService().list(
            status_equals=status, name_contains=name_contains, max_results=max_results
        )
        rows = [
            {
                "name": r.name,
                "status": r.status,
                "config": r.config_name,
                "variants": ", ".join(
                    f"{v['VariantName']}={v['ModelName']}"
                    f"(w={v['CurrentWeight']:g},n={v['CurrentInstanceCount']})"
                    for v in r.production_variants
                ),
                "created": r.creation_time,
            }
            for r in records
        ]
        columns = [
            Column("name", "name"),
            Column("status", "status", style=status_style),
            Column("config", "config"),
            Column("variants", "variants", WORDS),
            Column("created", "created"),
        ]
        return Grid(columns, rows)

    show_list(output, response=response, grid=grid)


@endpoints.command("describe")
@click.argument("name")
@output_option("describe")
def describe(name: str, output: str | None) -> None:
    """DescribeEndpoint's response."""
    from openmaker.cli.responses import respond

    show_description(output, response=lambda: respond("DescribeEndpoint", {"EndpointName": name}))


@endpoints.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """DeleteEndpoint."""
    from openmaker.hosting.endpoints import EndpointService

    EndpointService().delete(name)
    click.echo(f"Deleted endpoint {name}")
