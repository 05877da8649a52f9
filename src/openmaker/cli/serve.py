"""``openmaker serve``: the serving process in the foreground."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="Worker processes (default: the largest instance count in service, up to the CPUs).",
)
@click.option("--endpoint", default=None, help="The endpoint POST /invocations serves.")
@click.option("--log-level", default="warning", show_default=True)
def serve(host: str, port: int, workers: int | None, endpoint: str | None, log_level: str) -> None:
    """Serve every endpoint in service (and those created later) over HTTP.

    Routes: GET /ping, POST /invocations, POST /endpoints/NAME/invocations.
    """
    from openmaker.hosting.server import serve as run

    click.echo(f"openmaker serving on http://{host}:{port} (Ctrl+C to stop)", err=True)
    run(host=host, port=port, workers=workers, endpoint=endpoint, log_level=log_level)
