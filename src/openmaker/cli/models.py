"""``openmaker models create|list|describe|delete``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import Column, Grid, output_option, show_description, show_list


@click.group()
def models() -> None:
    """Models (a trained artifact plus the algorithm that serves it)."""


@models.command("create")
@click.argument("name")
@click.option("--model-data", required=True, help="model.tar.gz URI (local, file://, s3://).")
@click.option("--image", "--algorithm", "image", default=None, help="Algorithm or image URI.")
@click.option("--env", multiple=True, help="Container environment KEY=VALUE (repeatable).")
def create(name: str, model_data: str, image: str | None, env: tuple[str, ...]) -> None:
    """CreateModel."""
    from openmaker.hosting.models import ModelService

    container: dict[str, object] = {"ModelDataUrl": model_data, "Environment": _pairs(env)}
    if image:
        container["Image"] = image
    rec = ModelService().create({"ModelName": name, "PrimaryContainer": container})
    click.echo(rec.arn)


def _pairs(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


@models.command("list")
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(min=1))
@output_option("list")
def list_models(name_contains: str | None, max_results: int, output: str | None) -> None:
    """Models, newest first.

    text columns: name, algorithm, model data, created. json: ListModels' response.
    """

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if name_contains:
            request["NameContains"] = name_contains
        return respond_all("ListModels", "Models", request, max_results)

    def grid() -> Grid:
        from openmaker.hosting.models import ModelService

        records, _ = ModelService().list(name_contains=name_contains, max_results=max_results)
        rows = [
            {
                "name": r.name,
                "algorithm": r.algorithm,
                "data": r.model_data_url,
                "created": r.creation_time,
            }
            for r in records
        ]
        columns = [
            Column("name", "name"),
            Column("algorithm", "algorithm"),
            Column("model data", "data"),
            Column("created", "created"),
        ]
        return Grid(columns, rows)

    show_list(output, response=response, grid=grid)


@models.command("describe")
@click.argument("name")
@output_option("describe")
def describe(name: str, output: str | None) -> None:
    """DescribeModel's response."""
    from openmaker.cli.responses import respond

    show_description(output, response=lambda: respond("DescribeModel", {"ModelName": name}))


@models.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """DeleteModel."""
    from openmaker.hosting.models import ModelService

    ModelService().delete(name)
    click.echo(f"Deleted model {name}")
