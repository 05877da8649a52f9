"""``openmaker models create|list|describe|delete``."""

from __future__ import annotations

import click

from openmaker.cli.render import console, print_json, table, when


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
@click.option("--max-results", default=50, show_default=True)
def list_models(name_contains: str | None, max_results: int) -> None:
    """Models, newest first."""
    from openmaker.hosting.models import ModelService

    records, _ = ModelService().list(name_contains=name_contains, max_results=max_results)
    rows = [[r.name, r.algorithm, r.model_data_url, when(r.creation_time)] for r in records]
    console.print(table(None, ["name", "algorithm", "model data", "created"], rows))


@models.command("describe")
@click.argument("name")
def describe(name: str) -> None:
    """DescribeModel, as JSON."""
    from openmaker.hosting.models import ModelService

    print_json(ModelService().describe(name))


@models.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """DeleteModel."""
    from openmaker.hosting.models import ModelService

    ModelService().delete(name)
    click.echo(f"Deleted model {name}")
