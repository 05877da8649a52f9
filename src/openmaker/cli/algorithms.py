"""``openmaker algorithms list|describe NAME``."""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import (
    CLIP,
    WORDS,
    Column,
    Grid,
    Paragraph,
    escape,
    output_option,
    show_description,
    show_list,
)


@click.group()
def algorithms() -> None:
    """List and describe the built-in algorithms."""


@algorithms.command("list")
@output_option("list")
def list_algorithms(output: str | None) -> None:
    """Every registered algorithm with its channels and content types.

    text columns: name, title, channels (* required), content types.
    """
    show_list(output, response=_list_response, grid=_list_grid)


def _list_response() -> dict[str, Any]:
    from openmaker.algorithms import registry
    from openmaker.cli.responses import respond_all

    request = {"SortBy": "Name", "SortOrder": "Ascending"}
    return respond_all("ListAlgorithms", "AlgorithmSummaryList", request, len(registry.names()))


def _list_grid() -> Grid:
    from openmaker.algorithms import registry

    rows = []
    for name in registry.names():
        spec = registry.get(name)
        channels = [f"{c.name}{'*' if c.required else ''}" for c in spec.channels]
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "channels": ", ".join(channels),
                "types": ", ".join(sorted({t for c in spec.channels for t in c.content_types})),
            }
        )
    columns = [
        Column("name", "name"),
        Column("title", "title", CLIP),
        Column("channels (*required)", "channels", WORDS),
        Column("content types", "types", WORDS),
    ]
    return Grid(columns, rows)


@algorithms.command("describe")
@click.argument("name")
@output_option("describe")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
@click.option(
    "--internal",
    is_flag=True,
    help="Also list the internal hyperparameters the SDK and the containers send "
    "(force_dense, _kvstore...).",
)
def describe_algorithm(name: str, output: str | None, as_json: bool, internal: bool) -> None:
    """Hyperparameters (defaults, ranges), channels, metrics and inference formats of NAME.

    json: DescribeAlgorithm's response.
    """
    from openmaker.algorithms import registry
    from openmaker.cli.responses import respond

    spec = registry.get(name)  # an unknown name is a clear error before anything is shown
    show_description(
        "json" if as_json else output,
        response=lambda: respond("DescribeAlgorithm", {"AlgorithmName": spec.name}),
        table=lambda: _describe_tables(spec, internal=internal),
    )


def _describe_tables(spec: Any, *, internal: bool = False) -> list[Grid | Paragraph | str]:
    from openmaker.spec.hyperparameters import describe_table

    hyperparameters = Grid(
        [
            Column("name", "name"),
            Column("required", "required"),
            Column("default", "default"),
            Column("allowed", "domain", CLIP),
            Column("tunable (range)", "tunable", CLIP),
            Column("description", "description", CLIP),
        ],
        [
            {**h, "tunable": (h["tuning_range"] or "yes") if h["tunable"] else ""}
            for h in describe_table(spec.hyperparameters, internal=internal)
        ],
        title="Hyperparameters",
    )
    channels = Grid(
        [
            Column("name", "name"),
            Column("required", "required"),
            Column("content types", "types", WORDS),
            Column("input modes", "modes", WORDS),
        ],
        [
            {
                "name": c.name,
                "required": "yes" if c.required else "",
                "types": ", ".join(c.content_types),
                "modes": ", ".join(c.input_modes),
            }
            for c in spec.channels
        ],
        title="Channels",
    )
    metrics = Grid(
        [Column("name", "name"), Column("direction", "direction"), Column("regex", "regex")],
        [
            {"name": m.name, "direction": m.direction, "regex": m.regex}
            for m in spec.metrics
            if m.tunable
        ],
        title="Tunable metrics",
    )
    return [
        f"[bold]{escape(spec.title)}[/] ({escape(spec.name)})",
        Paragraph(spec.description + "\n"),
        hyperparameters,
        channels,
        metrics,
        f"Inference: content types {escape(', '.join(spec.request_content_types))}; "
        f"accept {escape(', '.join(spec.response_content_types))}",
    ]
