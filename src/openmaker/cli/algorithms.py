"""``openmaker algorithms list|describe NAME``."""

from __future__ import annotations

import click

from openmaker.cli.render import console, print_json, table


@click.group()
def algorithms() -> None:
    """List and describe the built-in algorithms."""


@algorithms.command("list")
def list_algorithms() -> None:
    """Every registered algorithm with its channels and content types."""
    from openmaker.algorithms import registry

    rows = []
    for name in registry.names():
        spec = registry.get(name)
        channels = ", ".join(f"{c.name}{'*' if c.required else ''}" for c in spec.channels)
        types = ", ".join(sorted({t for c in spec.channels for t in c.content_types}))
        rows.append([name, spec.title, channels, types])
    console.print(table(None, ["name", "title", "channels (*required)", "content types"], rows))


@algorithms.command("describe")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def describe_algorithm(name: str, as_json: bool) -> None:
    """Hyperparameters (defaults, ranges), channels, metrics and inference formats of NAME."""
    from openmaker.algorithms import registry
    from openmaker.spec.hyperparameters import describe_table

    spec = registry.get(name)
    hps = describe_table(spec.hyperparameters)
    if as_json:
        print_json(
            {
                "name": spec.name,
                "title": spec.title,
                "description": spec.description,
                "hyperparameters": hps,
                "channels": [
                    {
                        "name": c.name,
                        "required": c.required,
                        "content_types": list(c.content_types),
                        "input_modes": list(c.input_modes),
                    }
                    for c in spec.channels
                ],
                "metrics": [
                    {
                        "name": m.name,
                        "regex": m.regex,
                        "direction": m.direction,
                        "tunable": m.tunable,
                    }
                    for m in spec.metrics
                ],
                "inference": {
                    "content_types": list(spec.request_content_types),
                    "accept": list(spec.response_content_types),
                },
            }
        )
        return
    console.print(f"[bold]{spec.title}[/] ({spec.name})\n{spec.description}\n")
    console.print(
        table(
            "Hyperparameters",
            ["name", "required", "default", "allowed", "tunable (range)", "description"],
            [
                [
                    h["name"],
                    h["required"],
                    h["default"],
                    h["domain"],
                    (h["tuning_range"] or "yes") if h["tunable"] else "",
                    h["description"],
                ]
                for h in hps
            ],
        )
    )
    console.print(
        table(
            "Channels",
            ["name", "required", "content types", "input modes"],
            [
                [
                    c.name,
                    "yes" if c.required else "",
                    ", ".join(c.content_types),
                    ", ".join(c.input_modes),
                ]
                for c in spec.channels
            ],
        )
    )
    tunable = [m for m in spec.metrics if m.tunable]
    console.print(
        table(
            "Tunable metrics",
            ["name", "direction", "regex"],
            [[m.name, m.direction, m.regex] for m in tunable],
        )
    )
    console.print(
        f"Inference: content types {', '.join(spec.request_content_types)}; "
        f"accept {', '.join(spec.response_content_types)}"
    )
