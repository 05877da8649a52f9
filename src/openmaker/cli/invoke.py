"""``openmaker invoke ENDPOINT --body FILE --content-type T --accept A``.

With ``--async`` it is InvokeEndpointAsync: the input is ``--input-location URI`` (a payload
already in storage) or ``--body FILE`` (sent inline, at most 128,000 bytes). It prints the
answer ``{"InferenceId", "OutputLocation", "FailureLocation"}`` as JSON; with ``--wait
SECONDS`` it prints that answer on stderr, waits for the result and prints (or ``--output``
writes) it, or fails with the error written to the failure location.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from openmaker.predictor import Predictor


@click.command()
@click.argument("endpoint")
@click.option(
    "--body",
    "body_path",
    default=None,
    help="Request body file ('-': stdin). Required unless --async --input-location.",
)
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None)
@click.option("--target-variant", default=None)
@click.option("--custom-attributes", default=None)
@click.option("--inference-id", default=None)
@click.option("--url", default=None, help="Serving process URL (default: the local server).")
@click.option("--output", "output_path", default=None, help="Write the response here.")
@click.option(
    "--async",
    "is_async",
    is_flag=True,
    help="InvokeEndpointAsync (the endpoint needs an AsyncInferenceConfig).",
)
@click.option("--input-location", default=None, help="With --async: the payload's URI.")
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=None,
    help="With --async: wait up to this many seconds for the result.",
)
def invoke(endpoint: str, body_path: str | None, content_type: str, accept: str | None,
           target_variant: str | None, custom_attributes: str | None, inference_id: str | None,
           url: str | None, output_path: str | None, is_async: bool, input_location: str | None,
           wait_seconds: float | None) -> None:  # fmt: skip
    """InvokeEndpoint: send BODY to ENDPOINT and print the answer (--async: queue it)."""
    from openmaker.errors import ValidationError
    from openmaker.predictor import Predictor

    if is_async:
        if (body_path is None) == (input_location is None):
            raise ValidationError("invoke --async needs either --input-location or --body")
        if target_variant:
            raise ValidationError("--target-variant does not apply to --async invocations")
    else:
        if input_location is not None or wait_seconds is not None:
            raise ValidationError("--input-location and --wait need --async")
        if body_path is None:
            raise ValidationError("invoke needs --body FILE (or --async --input-location URI)")
    body = _read_body(body_path) if body_path is not None else None
    predictor = Predictor(endpoint, url=url)
    try:
        if is_async:
            _invoke_async(predictor, body, input_location, content_type, accept, inference_id,
                          custom_attributes, output_path, wait_seconds)  # fmt: skip
            return
        assert body is not None
        out, out_type, variant = predictor.invoke(
            body,
            content_type=content_type,
            accept=accept,
            target_variant=target_variant,
            custom_attributes=custom_attributes,
            inference_id=inference_id,
        )
    finally:
        predictor.close()
    click.echo(f"Content-Type: {out_type}; variant: {variant}", err=True)
    _emit(out, output_path)


def _invoke_async(predictor: Predictor, body: bytes | None, input_location: str | None,
                  content_type: str, accept: str | None, inference_id: str | None,
                  custom_attributes: str | None, output_path: str | None,
                  wait_seconds: float | None) -> None:  # fmt: skip
    from openmaker.predictor import AsyncInferenceResponse, BytesDeserializer

    answer = predictor.invoke_async(
        input_location=input_location,
        body=body,
        content_type=content_type,
        accept=accept,
        inference_id=inference_id,
        custom_attributes=custom_attributes,
    )
    if wait_seconds is None:
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(json.dumps(answer), err=True)  # stdout is for the result
    predictor.deserializer = BytesDeserializer()
    response = AsyncInferenceResponse(
        predictor, answer["OutputLocation"], answer["FailureLocation"], answer["InferenceId"]
    )
    _emit(response.get_result(timeout=wait_seconds), output_path)


def _read_body(body_path: str) -> bytes:
    from openmaker.errors import DataSourceError

    if body_path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(body_path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise DataSourceError(f"Cannot read {body_path!r}: {exc}", uri=body_path) from exc


def _emit(out: bytes, output_path: str | None) -> None:
    if output_path:
        with open(output_path, "wb") as f:
            f.write(out)
    else:
        sys.stdout.buffer.write(out if out.endswith(b"\n") else out + b"\n")
        sys.stdout.buffer.flush()
