"""``openmaker data convert IN OUT --to TYPE``."""

from __future__ import annotations

import click

from openmaker.cli.render import say_plain


@click.group()
def data() -> None:
    """Data in SageMaker's formats."""


@data.command("convert")
@click.argument("source")
@click.argument("destination")
@click.option(
    "--to",
    "to_type",
    required=True,
    help="text/csv, text/libsvm, application/x-recordio-protobuf, application/x-parquet",
)
@click.option("--from", "from_type", default=None, help="Input type (guessed from the extension).")
@click.option(
    "--label-size", default=1, show_default=True, help="Label columns in the input (0: unlabelled)."
)
def convert(
    source: str, destination: str, to_type: str, from_type: str | None, label_size: int
) -> None:
    """Convert SOURCE (a file or folder) into DESTINATION in another content type."""
    from openmaker.data import convert as do_convert

    rows = do_convert(
        source, destination, to_type, from_content_type=from_type, label_size=label_size
    )
    say_plain(f"Wrote {rows} records to {destination} ({to_type})")
