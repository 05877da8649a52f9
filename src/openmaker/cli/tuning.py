"""``openmaker tune ALGO ...`` and ``openmaker tuning list|describe|trials|stop|delete|plot``."""

from __future__ import annotations

import time
from typing import Any

import click

from openmaker.cli.render import console, print_json, status_text, table, when

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
    console.print(f"Started tuning job [bold]{name}[/]")
    if not wait:
        console.print(f"Follow it with: openmaker tuning trials {name}")
        return
    final = follow_tuning(name)
    d = tuner.describe()
    console.print(f"{name}: {status_text(final)}")
    best = d.get("BestTrainingJob")
    if best:
        metric = best["FinalHyperParameterTuningJobObjectiveMetric"]
        console.print(
            f"Best: [bold]{best['TrainingJobName']}[/] {metric['MetricName']} = "
            f"{metric['Value']:.6g}  {best['TunedHyperParameters']}"
        )
    if d.get("FailureReason"):
        console.print(f"[red]{d['FailureReason']}[/]")
    if plot_path:
        console.print(f"Plot: {_plot(name, plot_path)}")
    if final != "Completed":
        raise SystemExit(1)


def follow_tuning(name: str) -> str:
    """Show the trials (a live table on a terminal, status lines otherwise) until the end."""
    from openmaker.store import TUNING_TERMINAL_STATUSES
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    if console.is_terminal:
        from rich.live import Live

        with Live(console=console, refresh_per_second=2, transient=False) as live:
            while True:
                status = service.get(name).status
                live.update(_trials_table(service, name, limit=25))
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
                console.print(_plain_line(row), markup=False, highlight=False)
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


def _trials_table(service: Any, name: str, limit: int | None = None) -> Any:
    settings = service.settings_of(name)
    rec = service.get(name)
    rows = _rows(service, name)
    if limit is not None:
        rows = rows[-limit:]
    best = service.describe(name).get("BestTrainingJob")
    best_name = best["TrainingJobName"] if best else None
    columns = [
        "#",
        "training job",
        "status",
        *settings.tuned_names,
        settings.objective_name,
        "took",
    ]
    body = []
    for row in rows:
        value = row["FinalObjectiveValue"]
        mark = "[bold green]*[/] " if row["TrainingJobName"] == best_name else ""
        took = row["TrainingElapsedTimeSeconds"]
        body.append(
            [
                row["TrainingJobName"].rsplit("-", 2)[-2],
                mark + row["TrainingJobName"],
                status_text(row["TrainingJobStatus"]),
                *[_short(row[n]) for n in settings.tuned_names],
                "" if value is None else f"{value:.6g}",
                "" if took is None else f"{took:.1f}s",
            ]
        )
    title = (
        f"{name}: {rec.status} - {settings.strategy}, {len(rows)} of {settings.max_jobs} trials, "
        f"{settings.objective_type} {settings.objective_name}"
    )
    return table(title, columns, body)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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
@click.option("--max-results", default=50, show_default=True)
def list_tuning(status: str | None, name_contains: str | None, max_results: int) -> None:
    """Tuning jobs, newest first."""
    from openmaker.tuning.service import TuningJobService

    summaries, _ = TuningJobService().list(
        status_equals=status,
        name_contains=name_contains,
        max_results=max_results,
        sort_by="CreationTime",
        sort_order="Descending",
    )
    rows = []
    for s in summaries:
        c = s["TrainingJobStatusCounters"]
        done = c["Completed"] + c["Stopped"] + c["RetryableError"] + c["NonRetryableError"]
        rows.append(
            [
                s["HyperParameterTuningJobName"],
                s["Strategy"],
                status_text(s["HyperParameterTuningJobStatus"]),
                f"{done}/{s['ResourceLimits'].get('MaxNumberOfTrainingJobs')}",
                str(c["InProgress"]),
                when(s["CreationTime"]),
            ]
        )
    console.print(table(None, ["name", "strategy", "status", "done", "running", "created"], rows))


@tuning.command("describe")
@click.argument("name")
def describe_tuning(name: str) -> None:
    """DescribeHyperParameterTuningJob, as JSON."""
    from openmaker.tuning.service import TuningJobService

    print_json(TuningJobService().describe(name))


@tuning.command("trials")
@click.argument("name")
@click.option("--sort-by-objective", is_flag=True, help="Best first (jobs with a value only).")
@click.option("--follow", "-f", is_flag=True, help="Keep showing the trials until the end.")
def trials(name: str, sort_by_objective: bool, follow: bool) -> None:
    """The tuning job's training jobs, with their tuned values and objective."""
    from openmaker.tuning.service import TuningJobService

    service = TuningJobService()
    if follow:
        console.print(f"{name}: {status_text(follow_tuning(name))}")
        return
    if not sort_by_objective:
        console.print(_trials_table(service, name))
        return
    settings = service.settings_of(name)
    order = "Descending" if settings.maximize else "Ascending"
    rows, token = [], None
    while True:
        page, token = service.list_training_jobs(
            name,
            sort_by="FinalObjectiveMetricValue",
            sort_order=order,
            max_results=100,
            next_token=token,
        )
        rows.extend(page)
        if token is None:
            break
    body = [
        [
            r["TrainingJobName"],
            status_text(r["TrainingJobStatus"]),
            *[r["TunedHyperParameters"].get(n, "") for n in settings.tuned_names],
            f"{r['FinalHyperParameterTuningJobObjectiveMetric']['Value']:.6g}",
        ]
        for r in rows
    ]
    columns = ["training job", "status", *settings.tuned_names, settings.objective_name]
    console.print(table(None, columns, body))


@tuning.command("stop")
@click.argument("name")
def stop_tuning(name: str) -> None:
    """Stop the tuning job and its running training jobs."""
    from openmaker.tuning.service import TuningJobService

    rec = TuningJobService().stop(name)
    console.print(f"{rec.name}: {status_text(rec.status)}")


@tuning.command("delete")
@click.argument("name")
def delete_tuning(name: str) -> None:
    """Delete an ended tuning job (its training jobs stay)."""
    from openmaker.tuning.service import TuningJobService

    TuningJobService().delete(name)
    console.print(f"Deleted {name}")


@tuning.command("plot")
@click.argument("name")
@click.argument("path")
def plot_tuning(name: str, path: str) -> None:
    """Write objective vs trial to PATH (.html, or .png with matplotlib)."""
    console.print(f"Plot: {_plot(name, path)}")
