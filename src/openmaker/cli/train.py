"""``openmaker train ALGO --channel train=URI --hp key=value ... [--wait]``."""

from __future__ import annotations

import os

import click

from openmaker.cli.render import escape, say, say_plain, status_text


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=what)
        out[key.strip()] = value
    return out


@click.command()
@click.argument("algorithm")
@click.option(
    "--channel",
    "-c",
    "channels",
    multiple=True,
    required=True,
    help="CHANNEL=URI, e.g. train=data/train.csv (repeat for validation, ...).",
)
@click.option("--hp", "hyperparameters", multiple=True, help="Hyperparameter NAME=VALUE (repeat).")
@click.option("--content-type", default=None, help="Content type of every channel (text/csv...).")
@click.option(
    "--channel-content-type",
    "channel_content_types",
    multiple=True,
    help="CHANNEL=TYPE for one channel, over --content-type (e.g. auxiliary=text/plain).",
)
@click.option(
    "--channel-distribution",
    "channel_distributions",
    multiple=True,
    help="CHANNEL=FullyReplicated|ShardedByS3Key for one channel, over --distribution.",
)
@click.option(
    "--input-mode", type=click.Choice(["File", "Pipe"]), default="File", show_default=True
)
@click.option("--job-name", default=None, help="Default: <algorithm>-<timestamp>.")
@click.option("--output-path", default=None, help="Where <job>/output/model.tar.gz is written.")
@click.option(
    "--max-runtime", type=int, default=86400, show_default=True, help="MaxRuntimeInSeconds."
)
@click.option("--checkpoint-uri", default=None, help="CheckpointConfig.S3Uri.")
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Follow the job to its end."
)
@click.option(
    "--logs/--no-logs", default=True, show_default=True, help="Show the log while waiting."
)
@click.option("--instance-count", type=int, default=1, show_default=True, help="Hosts.")
@click.option("--instance-type", default="ml.m5.large", show_default=True)
@click.option(
    "--distribution",
    type=click.Choice(["FullyReplicated", "ShardedByS3Key"]),
    default="FullyReplicated",
    show_default=True,
    help="S3DataDistributionType of every channel (several hosts).",
)
@click.option(
    "--executor",
    default=None,
    help="local, ray or ray://host:10001 (default: OPENMAKER_EXECUTOR, else local).",
)
def train(
    algorithm: str,
    channels: tuple[str, ...],
    hyperparameters: tuple[str, ...],
    content_type: str | None,
    channel_content_types: tuple[str, ...],
    channel_distributions: tuple[str, ...],
    input_mode: str,
    job_name: str | None,
    output_path: str | None,
    max_runtime: int,
    checkpoint_uri: str | None,
    wait: bool,
    logs: bool,
    instance_count: int,
    instance_type: str,
    distribution: str,
    executor: str | None,
) -> None:
    """Train ALGORITHM (SageMaker's name, e.g. xgboost) on your data."""
    from openmaker.cli.follow import follow_job
    from openmaker.estimator import Estimator, TrainingInput
    from openmaker.executors.base import use_executor
    from openmaker.jobs.service import TrainingJobService

    if executor:
        use_executor(executor)
    # a one-shot command: a standby left after its job would find no next job to take
    os.environ.setdefault("OPENMAKER_STANDBY_SECONDS", "0")
    est = Estimator(
        algorithm,
        _pairs(hyperparameters, "--hp"),
        output_path=output_path,
        max_run=max_runtime,
        checkpoint_s3_uri=checkpoint_uri,
        instance_count=instance_count,
        instance_type=instance_type,
    )
    uris = _pairs(channels, "--channel")
    types = _pairs(channel_content_types, "--channel-content-type")
    distributions = _pairs(channel_distributions, "--channel-distribution")
    for option, given in (
        ("--channel-content-type", types),
        ("--channel-distribution", distributions),
    ):
        unknown = sorted(set(given) - set(uris))
        if unknown:
            raise click.BadParameter(
                f"no --channel named {', '.join(unknown)}; channels: {', '.join(uris)}",
                param_hint=option,
            )
    for name, value in distributions.items():
        if value not in ("FullyReplicated", "ShardedByS3Key"):
            raise click.BadParameter(
                f"{name}={value}: use FullyReplicated or ShardedByS3Key",
                param_hint="--channel-distribution",
            )
    inputs = {
        name: TrainingInput(
            uri,
            content_type=types.get(name, content_type),
            distribution=distributions.get(name, distribution),
        )
        for name, uri in uris.items()
    }
    request = est.create_request(
        inputs,  # type: ignore[arg-type]
        content_type=content_type,
        input_mode=input_mode,
        job_name=job_name,
    )
    service = TrainingJobService()
    record = service.create(request, strict=True)  # a bad hyperparameter: refused at once
    say(f"Started training job [bold]{escape(record.name)}[/]")
    if not wait:
        say_plain(f"Follow it with: openmaker jobs logs {record.name} --follow")
        return
    final = follow_job(service, record.name, show_logs=logs)
    say(f"{escape(final.name)}: {status_text(final.status)}")
    if final.status == "Completed":
        say_plain(f"Model: {final.model_artifacts}")
        for m in sorted(final.final_metrics, key=lambda m: m.name):
            say_plain(f"  {m.name} = {m.value:.6g}")
    elif final.failure_reason:
        say_plain(final.failure_reason, style="red")
    if final.status != "Completed":
        raise SystemExit(1)
