"""``openmaker tune ALGO ...`` and ``openmaker tuning list|describe|trials|stop|delete|plot``."""

from __future__ import annotations

import time
from typing import Any

import click

from openmaker.cli.render import (
    Column,
    Grid,
    build_table,
    console,
    escape,
    output_option,
    say,
    say_plain,
    show_description,
    show_list,
    status_style,
    status_text,
    stdout_is_terminal,
)

_STATUSES = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=what)
        out[key.strip()] = value
    return out


def parse_range(algorithm: str, item: str) -> tuple[str, Any]:
    """``name=lo:hi[:Scaling]`` (integer or continuous, as the algorithm declares the
    hyperparameter) or ``name=a,b,c`` (categorical) -> (name, range object)."""
    from openmaker.algorithms import registry
    from openmaker.spec.hyperparameters import Continuous
    from openmaker.tuning.api import CategoricalParameter, ContinuousParameter, IntegerParameter

    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or not name or not text:
        raise click.BadParameter(
            f"expected NAME=MIN:MAX[:Scaling] or NAME=A,B,...; got {item!r}", param_hint="--range"
        )
    if ":" not in text:
        return name, CategoricalParameter([v.strip() for v in text.split(",") if v.strip()])
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise click.BadParameter(f"expected MIN:MAX[:Scaling]; got {text!r}", param_hint="--range")
    lo, hi = parts[0].strip(), parts[1].strip()
    scaling = parts[2].strip() if len(parts) == 3 else "Auto"
    try:
        declared = registry.resolve_image(algorithm).hyperparameter(name)
        continuous = isinstance(declared, Continuous)
    except KeyError:
        continuous = False  # the service names the unknown hyperparameter
    try:
        if not continuous and _is_int(lo) and _is_int(hi):
            return name, IntegerParameter(int(lo), int(hi), scaling)
        return name, ContinuousParameter(float(lo), float(hi), scaling)
    except ValueError:
        raise click.BadParameter(f"{name}: bounds must be numbers; got {text!r}") from None


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@click.command()
@click.argument("algorithm")
@click.option(
    "--channel",
    "-c",
    "channels",
    multiple=True,
    required=True,
    help="CHANNEL=URI, e.g. train=data/train.csv (repeat).",
)
@click.option("--objective", required=True, help="The metric to optimise, e.g. validation:auc.")
@click.option(
    "--objective-type",
    type=click.Choice(["Maximize", "Minimize"]),
    default=None,
    help="Default: the direction the algorithm declares for the metric.",
)
@click.option(
    "--range",
    "ranges",
    multiple=True,
    required=True,
    help="NAME=MIN:MAX[:Linear|Logarithmic|ReverseLogarithmic|Auto] or NAME=A,B,C.",
)
@click.option("--static", "static", multiple=True, help="A fixed hyperparameter NAME=VALUE.")
@click.option(
    "--strategy",
    type=click.Choice(["Bayesian", "Random", "Grid", "Hyperband"]),
    default="Bayesian",
    show_default=True,
)
@click.option("--max-jobs", type=int, default=None, help="MaxNumberOfTrainingJobs.")
@click.option(
    "--max-parallel", type=int, default=1, show_default=True, help="MaxParallelTrainingJobs."
)
@click.option("--max-runtime", type=int, default=None, help="MaxRuntimeInSeconds (all trials).")
@click.option(
    "--early-stopping", type=click.Choice(["Off", "Auto"]), default="Off", show_default=True
)
@click.option("--seed", type=int, default=None, help="RandomSeed.")
@click.option("--target", type=float, default=None, help="TargetObjectiveMetricValue.")
@click.option(
    "--not-improving",
    type=int,
    default=None,
    help="Complete after this many jobs without improvement (>= 3).",
)
@click.option("--min-resource", type=int, default=None, help="Hyperband MinResource.")
@click.option("--max-resource", type=int, default=None, help="Hyperband MaxResource.")
@click.option("--warm-start-from", "parents", multiple=True, help="Parent tuning job (repeat).")
@click.option(
    "--warm-start-type",
    type=click.Choice(["IdenticalDataAndAlgorithm", "TransferLearning"]),
    default="IdenticalDataAndAlgorithm",
    show_default=True,
)
@click.option("--content-type", default=None, help="Content type of every channel.")
@click.option("--job-name", default=None, help="Tuning job name (1-32 characters).")
@click.option("--plot", "plot_path", default=None, help="Write objective vs trial (.html/.png).")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option(
    "--executor",
    default=None,
    help="Where the trials run: local, ray or ray://host:10001 (default: OPENMAKER_EXECUTOR).",
)
def tune(
    algorithm: str,
    channels: tuple[str, ...],
    objective: str,
    objective_type: str | None,
    ranges: tuple[str, ...],
    static: tuple[str, ...],
    strategy: str,
    max_jobs: int | None,
    max_parallel: int,
    max_runtime: int | None,
    early_stopping: str,
    seed: int | None,
    target: float | None,
    not_improving: int | None,
    min_resource: int | None,
    max_resource: int | None,
    parents: tuple[str, ...],
    warm_start_type: str,
    content_type: str | None,
    job_name: str | None,
    plot_path: str | None,
    wait: bool,
    executor: str | None,
) -> None:
    """Tune ALGORITHM's hyperparameters: many training jobs, learning which to try next."""
    from openmaker.estimator import Estimator
    from openmaker.executors.base import use_executor
    from openmaker.tuning.api import HyperparameterTuner, WarmStartConfig

    if executor:
        use_executor(executor)

    est = Estimator(algorithm, _pairs(static, "--static"))
    tuner = HyperparameterTuner(
        est,
        objective,
        dict(parse_range(algorithm, r) for r in ranges),
        objective_type=objective_type,
        max_jobs=max_jobs if max_jobs is not None or strategy == "Grid" else 10,
        max_parallel_jobs=max_parallel,
        strategy=strategy,
        early_stopping_type=early_stopping,
        max_runtime_in_seconds=max_runtime,
        random_seed=seed,
        target_objective_metric_value=target,
        max_number_of_training_jobs_not_improving=not_improving,
        hyperband_min_resource=min_resource,
        hyperband_max_resource=max_resource,
        warm_start_config=WarmStartConfig(warm_start_type, parents) if parents else None,
    )
    tuner.fit(
        _pairs(channels, "--channel"), content_type=content_type, job_name=job_name, wait=False
    )
    name = tuner.latest_tuning_job
    assert name is not None
    say(f"Started tuning job [bold]{escape(name)}[/]")
    if not wait:
        say_plain(f"Follow it with: openmaker tuning trials {name} --follow")
        return
    final = follow_tuning(name)
    d = tuner.describe()
    say(f"{escape(name)}: {status_text(final)}")
    best = d.get("BestTrainingJob")
    if best:
        metric = best["FinalHyperParameterTuningJobObjectiveMetric"]
        say(
            f"Best: [bold]{escape(best['TrainingJobName'])}[/] {escape(metric['MetricName'])} = "
            f"{metric['Value']:.6g}  {escape(best['TunedHyperParameters'])}"
        )
    if d.get("FailureReason"):
        say_plain(d["FailureReason"], style="red")
    if plot_path:
        say_plain(f"Plot: {_plot(name, plot_path)}")
    if final != "Completed":
        raise SystemExit(1)


def follow_tuning(name: str) -> str:
    """Show the trials (a live table on a terminal, status lines otherwise) until the end."""
    from openmaker.store import TUNING_TERMINAL_STATUSES
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    if stdout_is_terminal():
        from rich.live import Live

        out = console()
        with Live(console=out, refresh_per_second=2, transient=False) as live:
            while True:
                status = service.get(name).status
                live.update(build_table(_trials_grid(service, name, limit=25), out.width))
                if status in TUNING_TERMINAL_STATUSES:
                    return status
                time.sleep(1.0)
    seen: dict[str, str] = {}
    while True:
        status = service.get(name).status
        for row in _rows(service, name):
            key = row["TrainingJobName"]
            if seen.get(key) != row["TrainingJobStatus"]:
                seen[key] = row["TrainingJobStatus"]
                say_plain(_plain_line(row))
        if status in TUNING_TERMINAL_STATUSES:
            return status
        time.sleep(1.0)


def _rows(service: Any, name: str) -> list[dict[str, Any]]:
    from openmaker.tuning.analytics import rows

    return rows(service, name)


def _plain_line(row: dict[str, Any]) -> str:
    value = row["FinalObjectiveValue"]
    objective = "" if value is None else f" objective={value:.6g}"
    tuned = {k: v for k, v in row.items() if k[:1].islower()}
    return f"{row['TrainingJobName']}: {row['TrainingJobStatus']}{objective} {tuned}"


def _trials_grid(service: Any, name: str, limit: int | None = None) -> Grid:
    settings = service.settings_of(name)
    rec = service.get(name)
    rows = _rows(service, name)
    if limit is not None:
        rows = rows[-limit:]
    best = service.describe(name).get("BestTrainingJob")
    best_name = best["TrainingJobName"] if best else None
    body = [
        {
            "trial": row["TrainingJobName"].rsplit("-", 2)[-2],
            "job": row["TrainingJobName"],
            "status": row["TrainingJobStatus"],
            **{f"hp:{n}": row[n] for n in settings.tuned_names},
            "objective": row["FinalObjectiveValue"],
            "took": row["TrainingElapsedTimeSeconds"],
            "best": "*" if row["TrainingJobName"] == best_name else "",
        }
        for row in rows
    ]
    columns = [
        Column("#", "trial"),
        Column("training job", "job"),
        Column("status", "status", style=status_style),
        *[Column(n, f"hp:{n}") for n in settings.tuned_names],
        Column(settings.objective_name, "objective"),
        Column("took (s)", "took"),
        Column("best", "best", style=lambda v: "bold green" if v else None),
    ]
    title = (
        f"{name}: {rec.status} - {settings.strategy}, {len(rows)} of {settings.max_jobs} trials, "
        f"{settings.objective_type} {settings.objective_name}"
    )
    return Grid(columns, body, title=title)


def _plot(name: str, path: str) -> str:
    from openmaker.tuning.analytics import rows
    from openmaker.tuning.plot import write_plot
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    settings = service.settings_of(name)
    values = [r["FinalObjectiveValue"] for r in rows(service, name)]
    out = write_plot(
        path,
        values,
        metric=settings.objective_name,
        maximize=settings.maximize,
        title=f"{name} ({settings.strategy})",
    )
    return str(out)


@click.group()
def tuning() -> None:
    """Hyperparameter tuning jobs."""


@tuning.command("list")
@click.option("--status", default=None, type=click.Choice(_STATUSES))
@click.option("--name-contains", default=None)
@click.option("--max-results", default=50, show_default=True, type=click.IntRange(min=1))
@output_option("list")
def list_tuning(
    status: str | None, name_contains: str | None, max_results: int, output: str | None
) -> None:
    """Tuning jobs, newest first.

    text columns: name, strategy, status, trials done, trials running, max trials, created.
    json: ListHyperParameterTuningJobs' response.
    """
    from openmaker.cli.responses import respond_all

    request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        request["StatusEquals"] = status
    if name_contains:
        request["NameContains"] = name_contains
    key = "HyperParameterTuningJobSummaries"
    response = respond_all("ListHyperParameterTuningJobs", key, request, max_results)

    def grid() -> Grid:
        rows = []
        for s in response[key]:
            c = s["TrainingJobStatusCounters"]
            done = c["Completed"] + c["Stopped"] + c["RetryableError"] + c["NonRetryableError"]
            rows.append(
                {
                    "name": s["HyperParameterTuningJobName"],
                    "strategy": s["Strategy"],
                    "status": s["HyperParameterTuningJobStatus"],
                    "done": done,
                    "running": c["InProgress"],
                    "max": s["ResourceLimits"].get("MaxNumberOfTrainingJobs"),
                    "created": s["CreationTime"],
                }
            )
        columns = [
            Column("name", "name"),
            Column("strategy", "strategy"),
            Column("status", "status", style=status_style),
            Column("done", "done"),
            Column("running", "running"),
            Column("max", "max"),
            Column("created", "created"),
        ]
        return Grid(columns, rows)

    show_list(output, response=lambda: response, grid=grid)


@tuning.command("describe")
@click.argument("name")
@output_option("describe")
def describe_tuning(name: str, output: str | None) -> None:
    """DescribeHyperParameterTuningJob's response."""
    from openmaker.cli.responses import respond

    show_description(
        output,
        response=lambda: respond(
            "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": name}
        ),
    )


@tuning.command("trials")
@click.argument("name")
@click.option("--sort-by-objective", is_flag=True, help="Best first (jobs with a value only).")
@click.option("--follow", "-f", is_flag=True, help="Keep showing the trials until the end.")
@output_option("list")
def trials(name: str, sort_by_objective: bool, follow: bool, output: str | None) -> None:
    """The tuning job's training jobs, with their tuned values and objective.

    text columns: trial number, training job, status, the tuned hyperparameters, the objective,
    training seconds, best ("*"); with --sort-by-objective: training job, status, the tuned
    hyperparameters, the objective. json: ListTrainingJobsForHyperParameterTuningJob's
    response.
    """
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    if follow:
        say(f"{escape(name)}: {status_text(follow_tuning(name))}")
        return
    settings = service.settings_of(name)
    request: dict[str, Any] = {"HyperParameterTuningJobName": name, "SortBy": "Name"}
    if sort_by_objective:
        request.update(
            SortBy="FinalObjectiveMetricValue",
            SortOrder="Descending" if settings.maximize else "Ascending",
        )

    def response() -> dict[str, Any]:
        from openmaker.cli.responses import respond_all

        operation = "ListTrainingJobsForHyperParameterTuningJob"
        return respond_all(operation, "TrainingJobSummaries", request, 10**9)

    def grid() -> Grid:
        if not sort_by_objective:
            return _trials_grid(service, name)
        body = [
            {
                "job": r["TrainingJobName"],
                "status": r["TrainingJobStatus"],
                **{f"hp:{n}": r["TunedHyperParameters"].get(n, "") for n in settings.tuned_names},
                "objective": r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
            }
            for r in response()["TrainingJobSummaries"]
        ]
        columns = [
            Column("training job", "job"),
            Column("status", "status", style=status_style),
            *[Column(n, f"hp:{n}") for n in settings.tuned_names],
            Column(settings.objective_name, "objective"),
        ]
        return Grid(columns, body)

    show_list(output, response=response, grid=grid)


@tuning.command("stop")
@click.argument("name")
def stop_tuning(name: str) -> None:
    """Stop the tuning job and its running training jobs."""
    from openmaker.tuning.service import TuningJobService

    rec = TuningJobService().stop(name)
    say(f"{escape(rec.name)}: {status_text(rec.status)}")


@tuning.command("delete")
@click.argument("name")
def delete_tuning(name: str) -> None:
    """Delete an ended tuning job (its training jobs stay)."""
    from openmaker.tuning.service import TuningJobService

    TuningJobService().delete(name)
    say_plain(f"Deleted {name}")


@tuning.command("plot")
@click.argument("name")
@click.argument("path")
def plot_tuning(name: str, path: str) -> None:
    """Write objective vs trial to PATH (.html, or .png with matplotlib)."""
    say_plain(f"Plot: {_plot(name, path)}")
