"""``openmaker server``: the SageMaker-compatible HTTP API (boto3 and the SageMaker SDK)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import click

CREDENTIALS_ENV = "OPENMAKER_API_CREDENTIALS"


def parse_credentials(text: str) -> dict[str, str]:
    """``{access key: secret}`` from a JSON object, or from ``KEY:SECRET`` pairs separated by
    commas or new lines.

    Raises:
        click.BadParameter: a pair without its secret.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise click.BadParameter(f"credentials are not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise click.BadParameter("credentials JSON must map access keys to secret keys")
        return dict(data)
    pairs: dict[str, str] = {}
    for item in text.replace(",", "\n").splitlines():
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        key, sep, secret = item.partition(":")
        if not sep or not key.strip() or not secret.strip():
            raise click.BadParameter(f"expected ACCESS_KEY:SECRET_KEY, got {item!r}")
        pairs[key.strip()] = secret.strip()
    return pairs


def resolve_credentials(file: Path | None) -> dict[str, str]:
    """The key pairs ``--auth`` accepts: ``--credentials FILE``, else ``$OPENMAKER_API_
    CREDENTIALS``, else ``$AWS_ACCESS_KEY_ID`` / ``$AWS_SECRET_ACCESS_KEY``."""
    if file is not None:
        pairs = parse_credentials(file.read_text())
    elif os.environ.get(CREDENTIALS_ENV):
        pairs = parse_credentials(os.environ[CREDENTIALS_ENV])
    elif os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        pairs = {os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]}
    else:
        pairs = {}
    if not pairs:
        raise click.UsageError(
            f"--auth needs key pairs: --credentials FILE, ${CREDENTIALS_ENV}=KEY:SECRET,... "
            "or $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY"
        )
    return pairs


def use_own_s3(host: str, port: int, credentials: Mapping[str, str] | None) -> str | None:
    """Point ``s3://`` URIs at this server's ``/s3`` when no S3 endpoint is configured (and the
    S3 subset is installed); give the server's own S3 client credentials it accepts."""
    import importlib.util

    if os.environ.get("OPENMAKER_S3_ENDPOINT_URL"):
        return None
    if importlib.util.find_spec("openmaker.api.s3") is None:
        return None
    reach = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{reach}:{port}/s3"
    os.environ["OPENMAKER_S3_ENDPOINT_URL"] = url
    if credentials:
        key, secret = next(iter(credentials.items()))
        os.environ.setdefault("AWS_ACCESS_KEY_ID", key)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", secret)
    else:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "openmaker")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "openmaker")
    return url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--auth",
    is_flag=True,
    help="Refuse requests not SigV4-signed with a configured key pair (default: accept any).",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --auth: a file of ACCESS_KEY:SECRET_KEY lines (or a JSON object).",
)
@click.option("--log-level", default="warning", show_default=True)
def server(host: str, port: int, auth: bool, credentials_file: Path | None, log_level: str) -> None:
    """Serve the SageMaker API: point boto3 / the SageMaker SDK's endpoint_url here.

    One port: the control plane (POST / with X-Amz-Target: SageMaker.*), CloudWatch Logs for
    the job logs, the runtime (POST /endpoints/NAME/invocations) and the S3 subset (/s3).
    s3:// URIs go to $OPENMAKER_S3_ENDPOINT_URL, or to this server's /s3 when it is unset.
    """
    from openmaker.api.server import run

    credentials = resolve_credentials(credentials_file) if auth else None
    s3 = use_own_s3(host, port, credentials)
    click.echo(f"openmaker API on http://{host}:{port} (Ctrl+C to stop)", err=True)
    if s3:
        click.echo(f"s3:// URIs are served by this server: {s3}", err=True)
    if credentials:
        click.echo(f"--auth: {len(credentials)} access key(s) accepted", err=True)
    run(host, port, credentials=credentials, log_level=log_level)
