"""``openmaker invoke ENDPOINT --body FILE --content-type T --accept A``."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("endpoint")
@click.option("--body", "body_path", required=True, help="Request body file ('-': stdin).")
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None)
@click.option("--target-variant", default=None)
@click.option("--custom-attributes", default=None)
@click.option("--inference-id", default=None)
@click.option("--url", default=None, help="Serving process URL (default: the local server).")
@click.option("--output", "output_path", default=None, help="Write the response here.")
def invoke(endpoint: str, body_path: str, content_type: str, accept: str | None,
           target_variant: str | None, custom_attributes: str | None, inference_id: str | None,
           url: str | None, output_path: str | None) -> None:  # fmt: skip
    """InvokeEndpoint: send BODY to ENDPOINT and print the answer."""
    from openmaker.errors import DataSourceError
    from openmaker.predictor import Predictor

    if body_path == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            with open(body_path, "rb") as f:
                body = f.read()
        except OSError as exc:
            raise DataSourceError(f"Cannot read {body_path!r}: {exc}", uri=body_path) from exc
    out, out_type, variant = Predictor(endpoint, url=url).invoke(
        body,
        content_type=content_type,
        accept=accept,
        target_variant=target_variant,
        custom_attributes=custom_attributes,
        inference_id=inference_id,
    )
    click.echo(f"Content-Type: {out_type}; variant: {variant}", err=True)
    if output_path:
        with open(output_path, "wb") as f:
            f.write(out)
    else:
        sys.stdout.buffer.write(out if out.endswith(b"\n") else out + b"\n")
