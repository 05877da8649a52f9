"""``openmaker`` command line. Sub-commands load lazily so ``openmaker --help`` starts fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from openmaker import __version__

# command name -> "module:attribute" (each module is one command group of the CLI)
COMMANDS = {
    "algorithms": (
        "openmaker.cli.algorithms:algorithms",
        "List and describe the built-in algorithms.",
    ),
    "train": ("openmaker.cli.train:train", "Start a training job (and follow it with --wait)."),
    "jobs": ("openmaker.cli.jobs:jobs", "List, describe, follow and stop training jobs."),
    "predict": (
        "openmaker.cli.predict:predict",
        "Predict with a trained model (model.tar.gz URI).",
    ),
    "data": ("openmaker.cli.data:data", "Convert data between SageMaker's formats."),
    "models": ("openmaker.cli.models:models", "Create, list, describe and delete models."),
    "endpoint-configs": (
        "openmaker.cli.endpoint_configs:endpoint_configs",
        "Create, list, describe and delete endpoint configs.",
    ),
    "endpoints": (
        "openmaker.cli.endpoints:endpoints",
        "Create, update, list, describe and delete endpoints.",
    ),
    "invoke": ("openmaker.cli.invoke:invoke", "Send a request to an endpoint."),
    "serve": ("openmaker.cli.serve:serve", "Serve the endpoints over HTTP (foreground)."),
    "server": ("openmaker.cli.server:server", "Serve the SageMaker-compatible API (boto3, SDK)."),
    "transform": (
        "openmaker.cli.transform:transform",
        "Batch transform jobs: start, list, describe, logs, stop.",
    ),
    "tune": (
        "openmaker.cli.tuning:tune",
        "Tune hyperparameters: many training jobs, searched with Optuna.",
    ),
    "tuning": (
        "openmaker.cli.tuning:tuning",
        "List, describe, follow (trials), plot and stop tuning jobs.",
    ),
    "quickstart": (
        "openmaker.cli.quickstart:quickstart",
        "Train XGBoost on a real data set, end to end.",
    ),
    "topics": ("openmaker.cli.topics:topics", "Show the top words of a topic model's topics."),
    "forecast": ("openmaker.cli.forecast:forecast", "Forecast and plot DeepAR series."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attr = COMMANDS[cmd_name][0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="openmaker")
def cli() -> None:
    """openmaker: SageMaker's built-in algorithms and platform, on your own machine.

    Data and models live under $OPENMAKER_HOME (default ~/.openmaker).
    """


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: runs the CLI and turns openmaker errors into clean messages."""
    from openmaker.errors import OpenmakerError

    try:
        return cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OpenmakerError as exc:
        click.secho(f"Error ({exc.code}): {exc.message}", fg="red", err=True)
        sys.exit(2 if exc.kind == "user" else 1)
    except KeyboardInterrupt:
        sys.exit(130)
