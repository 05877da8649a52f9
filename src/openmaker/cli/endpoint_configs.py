"""``openmaker endpoint-configs create|list|describe|delete``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import WORDS, Column, Grid, output_option, show_description, show_list


@click.group("endpoint-configs")
def endpoint_configs() -> None:
    """Endpoint configs (production variants, data capture)."""


def parse_variant(text: str) -> dict[str, Any]:
    """``model=M[,name=V][,weight=W][,count=N][,type=T]`` -> a ProductionVariant."""
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if "model" not in fields:
        raise click.BadParameter(f"--variant needs model=NAME; got {text!r}")
    try:
        return {
            "VariantName": fields.get("name", "AllTraffic"),
            "ModelName": fields["model"],
            "InitialVariantWeight": float(fields.get("weight", 1.0)),
            "InitialInstanceCount": int(fields.get("count", 1)),
            "InstanceType": fields.get("type", "ml.m5.large"),
        }
    except ValueError as exc:
        raise click.BadParameter(f"--variant {text!r}: {exc}") from exc


def capture_config(uri: str | None, percent: int) -> dict[str, Any] | None:
    """A DataCaptureConfig for ``--capture-uri`` (None without it)."""
    if not uri:
        return None
    return {"EnableCapture": True, "InitialSamplingPercentage": percent, "DestinationS3Uri": uri}


@endpoint_configs.command("create")
@click.argument("name")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    required=True,
    help="model=M[,name=V][,weight=W][,count=N][,type=T] (repeatable).",
)
@click.option("--capture-uri", default=None, help="Turn data capture on, writing here.")
@click.option("--capture-percent", default=100, show_default=True, type=int)
def create(
    name: str, variants: tuple[str, ...], capture_uri: str | None, capture_percent: int
) -> None:
    """CreateEndpointConfig."""
    from openmaker.hosting.endpoint_configs import EndpointConfigService

    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [parse_variant(v) for v in variants],
    }
    capture = capture_config(capture_uri, capture_percent)
    if capture:
        request["DataCaptureConfig"] = capture
    click.echo(EndpointConfigService().create(request).arn)


@endpoint_configs.command("list")
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(min=1))
@output_option("list")
def list_configs(name_contains: str | None, max_results: int, output: str | None) -> None:
    """Endpoint configs, newest first.

    text columns: name, variants (VARIANT=MODEL, comma-separated), created.
    json: ListEndpointConfigs' response.
    """

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if name_contains:
            request["NameContains"] = name_contains
        return respond_all("ListEndpointConfigs", "EndpointConfigs", request, max_results)

    def grid() -> Grid:
        from openmaker.hosting.endpoint_configs import EndpointConfigService

        records, _ = EndpointConfigService().list(
            name_contains=name_contains, max_results=max_results
        )
        rows = [
            {
                "name": r.name,
                "variants": ", ".join(
                    f"{v['VariantName']}={v['ModelName']}" for v in r.production_variants
                ),
                "created": r.creation_time,
            }
            for r in records
        ]
        columns = [
            Column("name", "name"),
            Column("variants", "variants", WORDS),
            Column("created", "created"),
        ]
        return Grid(columns, rows)

    show_list(output, response=response, grid=grid)


@endpoint_configs.command("describe")
@click.argument("name")
@output_option("describe")
def describe(name: str, output: str | None) -> None:
    """DescribeEndpointConfig's response."""
    from openmaker.cli.responses import respond

    show_description(
        output,
        response=lambda: respond("DescribeEndpointConfig", {"EndpointConfigName": name}),
    )


@endpoint_configs.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """DeleteEndpointConfig."""
    from openmaker.hosting.endpoint_configs import EndpointConfigService

    EndpointConfigService().delete(name)
    click.echo(f"Deleted endpoint config {name}")
