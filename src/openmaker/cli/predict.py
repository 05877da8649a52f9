"""``openmaker predict MODEL_URI --input FILE --content-type T --accept A``."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("model_uri")
@click.option(
    "--input", "input_path", required=True, help="Request body file ('-' for standard input)."
)
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None, help="Response type (default: the algorithm's).")
@click.option("--algorithm", default=None, help="Algorithm name (detected when omitted).")
@click.option("--output", "output_path", default=None, help="Write the response here.")
def predict(
    model_uri: str,
    input_path: str,
    content_type: str,
    accept: str | None,
    algorithm: str | None,
    output_path: str | None,
) -> None:
    """Predict with MODEL_URI (model.tar.gz or a model folder; local, file:// or s3://)."""
    from openmaker.errors import DataSourceError
    from openmaker.serving import load_model

    if input_path == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            with open(input_path, "rb") as f:
                body = f.read()
        except OSError as exc:
            raise DataSourceError(f"Cannot read {input_path!r}: {exc}", uri=input_path) from exc
    model = load_model(model_uri, algorithm=algorithm)
    out, out_type = model.predict(body, content_type, accept)
    if output_path:
        with open(output_path, "wb") as f:
            f.write(out)
        click.echo(f"Wrote {len(out)} bytes of {out_type} to {output_path}", err=True)
    else:
        sys.stdout.buffer.write(out)
        if not out.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
