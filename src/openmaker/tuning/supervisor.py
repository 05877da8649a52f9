"""The tuning job's supervisor: ``python -m openmaker.tuning.supervisor TUNING_JOB_NAME``.

It keeps ``MaxParallelTrainingJobs`` children running through the training-job service, asks
the Optuna study for each child's hyperparameters and tells it each result, feeds the
children's intermediate objective values to the pruner (Hyperband, or the median rule of early
stopping ``Auto``) and stops the children it prunes, and ends the tuning job when the budget is
spent, a completion criterion is met, ``MaxRuntimeInSeconds`` has passed, or a stop is asked.

Status changes are compare-and-set on the tuning job's row, so a stopped tuning job never turns
Completed. When no child produced an objective value the tuning job ends Failed.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime

import optuna
from optuna.pruners import NopPruner
from optuna.trial import TrialState

from openmaker.errors import OpenmakerError, PlatformError, ValidationError
from openmaker.jobs.service import TERMINAL, TrainingJobService
from openmaker.store import Store, TrainingJobRecord, open_store
from openmaker.tuning.children import child_name, child_request
from openmaker.tuning.config import TuningSettings
from openmaker.tuning.describe import objective_status, objective_value
from openmaker.tuning.search import create_study
from openmaker.tuning.warm_start import warm_start

#: Seconds between two looks at the children.
POLL_SECONDS = 0.1
#: Seconds between two pruning checks of one child (the runner stores metrics every second).
PRUNE_CHECK_SECONDS = 0.5


@dataclass
class RunningTrial:
    """A child in flight and its Optuna trial."""

    trial: optuna.trial.Trial
    last_step: int = -1
    pruned: bool = False
    checked_at: float = 0.0


def reported_steps(new: list[tuple[int, float]], latest_only: bool) -> list[tuple[int, float]]:
    """Which of a child's new ``(step, value)`` points to tell Optuna (each is a write).

    Hyperband's successive halving only needs the latest value when a trial passes a rung.
    The median rule compares trials at the same step, so every trial reports the same steps:
    1-10, every 10th up to 100, then every 50th.
    """
    if not new:
        return []
    if latest_only:
        return [new[-1]]
    return [(s, v) for s, v in new if s <= 10 or (s <= 100 and s % 10 == 0) or s % 50 == 0]


class TuningSupervisor:
    """Runs one tuning job from start to a terminal status.

    Args:
        store: the metadata store.
        name: the tuning job.
        training: the training-job service children are created through.
        poll: seconds between two looks at the children.
        prune_check: seconds between two pruning checks of one child.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        training: TrainingJobService | None = None,
        poll: float = POLL_SECONDS,
        prune_check: float = PRUNE_CHECK_SECONDS,
    ) -> None:
        self.store = store
        self.jobs = store.tuning_jobs
        self.name = name
        self.training = training or TrainingJobService(store, recover=False)
        self.poll = poll
        self.prune_check = prune_check
        self.record = self.jobs.get(name)
        self.settings = TuningSettings.from_config(self.record.tuning_job_config)
        self.distributions = {r.name: r.distribution() for r in self.settings.ranges}
        self.study = create_study(store.url, self.record.study_name, self.settings)
        self.prunes = not isinstance(self.study.pruner, NopPruner)
        self.running: dict[str, RunningTrial] = {}
        self.launched = 0
        self.launch_failures = 0
        self.best: float | None = None
        self.not_improving = 0

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        """Run the tuning job; any unexpected error fails it with a PlatformError reason."""
        try:
            self._warm_start()
            outcome = self._loop()
            self._finish(outcome)
        except OpenmakerError as exc:
            self._stop_children()
            self._end("Failed", exc.failure_reason)
        except Exception as exc:  # never leave a tuning job InProgress behind
            traceback.print_exc()
            self._stop_children()
            self._end("Failed", PlatformError(f"{type(exc).__name__}: {exc}").failure_reason)

    def _loop(self) -> str:
        """Run trials until done; returns why it ended (``exhausted``, ``stopped``...)."""
        started = self.record.creation_time
        while True:
            if self.jobs.get(self.name).status == "Stopping":
                self._stop_children()
                return "stopped"
            self._poll_children()
            reason = self._criterion_met(started)
            if reason is not None:
                self._stop_children()
                return reason
            if self.launched >= self.settings.max_jobs and not self.running:
                return "exhausted"
            while (
                len(self.running) < self.settings.max_parallel
                and self.launched < self.settings.max_jobs
            ):
                self._launch()
            time.sleep(self.poll)

    def _criterion_met(self, started: datetime) -> str | None:
        s = self.settings
        if self.best is not None and s.reached_target(self.best):
            return "target"
        if s.max_not_improving is not None and self.not_improving >= s.max_not_improving:
            return "not_improving"
        elapsed = (datetime.now(UTC) - started).total_seconds()
        if s.max_runtime is not None and elapsed > s.max_runtime:
            return "runtime"
        return None

    # --- children ------------------------------------------------------------------------
    def _launch(self) -> None:
        trial = self.study.ask(self.distributions)
        self.launched += 1
        name = child_name(self.name, self.launched)
        tuned = {r.name: r.to_wire(trial.params[r.name]) for r in self.settings.ranges}
        trial.set_user_attr("training_job_name", name)
        request = child_request(self.record.training_job_definition, name, tuned, self.record.arn)
        try:
            self.training.create(request)
        except OpenmakerError as exc:
            # The job could not even be recorded or started. (A combination the algorithm
            # refuses is recorded and ends Failed at once, as on SageMaker; polling sees it.)
            # It counts as a NonRetryableError child, as a failed child does in SageMaker.
            print(f"trial {name} refused: {exc.failure_reason}", file=sys.stderr)
            self.launch_failures += 1
            self.jobs.update(self.name, launch_failures=self.launch_failures)
            self.study.tell(trial, state=TrialState.FAIL)
            return
        self.running[name] = RunningTrial(trial)

    def _poll_children(self) -> None:
        for name in list(self.running):
            child = self.training.get(name)
            if child.status in TERMINAL:
                self._report_intermediate(name)
                self._finished(name, child)
            elif self.prunes and child.status == "InProgress":
                running = self.running[name]
                if running.pruned or time.monotonic() - running.checked_at < self.prune_check:
                    continue
                running.checked_at = time.monotonic()
                if self._report_intermediate(name) and running.trial.should_prune():
                    running.pruned = True
                    self._stop_child(name)

    def _report_intermediate(self, name: str) -> bool:
        """Tell the trial the child's new intermediate objective values; True if any."""
        if not self.prunes:
            return False
        running = self.running[name]
        series = self.training.metrics(name, self.settings.objective_name)
        new = []
        for index, point in enumerate(series):
            # The step is the resource: XGBoost's round (0-based) + 1, else the point's index.
            step = (point.step + 1) if point.step is not None else index + 1
            if step > running.last_step and not math.isnan(point.value):
                new.append((step, point.value))
        for step, value in reported_steps(new, self.settings.strategy == "Hyperband"):
            running.trial.report(value, step)
            running.last_step = step
        return bool(new) and running.last_step >= 0

    def _finished(self, name: str, child: TrainingJobRecord) -> None:
        running = self.running.pop(name)
        value = objective_value(child, self.settings.objective_name)
        succeeded = objective_status(child, self.settings.objective_name) == "Succeeded"
        if running.pruned and running.last_step >= 0:
            self.study.tell(running.trial, state=TrialState.PRUNED)
        elif succeeded and value is not None:
            self.study.tell(running.trial, value)
        else:
            self.study.tell(running.trial, state=TrialState.FAIL)
        if succeeded and value is not None:
            if self.settings.better(value, self.best):
                self.best = value
                self.not_improving = 0
            else:
                self.not_improving += 1

    def _stop_child(self, name: str) -> None:
        with contextlib.suppress(ValidationError):  # it may have ended meanwhile
            self.training.stop(name)

    def _stop_children(self) -> None:
        """Stop every running child and wait for each to end (their results are kept)."""
        for name in list(self.running):
            self._stop_child(name)
        deadline = time.monotonic() + 600
        while self.running and time.monotonic() < deadline:
            self._poll_children()
            time.sleep(self.poll)

    # --- the end -------------------------------------------------------------------------
    def _warm_start(self) -> None:
        warm = self.record.warm_start_config
        if not warm:
            return
        children: list[TrainingJobRecord] = []
        for parent in warm["ParentHyperParameterTuningJobs"]:
            prec = self.jobs.get(parent["HyperParameterTuningJobName"])
            token = None
            while True:
                page, token = self.store.training_jobs.list(
                    tuning_job_arn=prec.arn, max_results=100, next_token=token
                )
                children.extend(page)
                if token is None:
                    break
        added = warm_start(self.study, self.settings, children)
        print(f"warm start: {added} trials from {len(children)} parent training jobs")

    def _finish(self, reason: str) -> None:
        details = {"NumberOfTrainingJobsObjectiveNotImproving": self.not_improving}
        self.jobs.update(self.name, completion_details=details)
        if reason == "stopped":
            self._end("Stopped", None)
            return
        if self.best is None:
            children, _ = self.store.training_jobs.list(
                tuning_job_arn=self.record.arn,
                sort_by="CreationTime",
                sort_order="Ascending",
                max_results=1,
            )
            first = children[0].failure_reason if children else None
            self._end(
                "Failed",
                "ClientError: no training job of this tuning job reported the objective metric "
                f"{self.settings.objective_name!r}"
                + (f"; the first failed with: {first}" if first else ""),
            )
            return
        self._end("Completed", None)

    def _end(self, status: str, reason: str | None) -> None:
        now = datetime.now(UTC)
        done = self.jobs.update(
            self.name,
            status=status,
            only_if_status=("InProgress",),
            end_time=now,
            failure_reason=reason[:1024] if reason else None,
        )
        if done is None:  # a stop was asked meanwhile: it wins
            self.jobs.update(
                self.name, status="Stopped", only_if_status=("Stopping",), end_time=now
            )


def main() -> None:
    """Console entry: ``python -m openmaker.tuning.supervisor TUNING_JOB_NAME``."""
    name = sys.argv[1]
    with open_store() as store:
        try:
            supervisor = TuningSupervisor(store, name)
        except Exception as exc:
            traceback.print_exc()
            reason = PlatformError(f"cannot start the search: {exc}").failure_reason
            store.tuning_jobs.update(
                name,
                status="Failed",
                failure_reason=reason[:1024],
                end_time=datetime.now(UTC),
                only_if_status=("InProgress", "Stopping"),
            )
            return

        def on_term(*_: object) -> None:
            store.tuning_jobs.update(name, status="Stopping", only_if_status=("InProgress",))

        signal.signal(signal.SIGTERM, on_term)
        supervisor.run()


if __name__ == "__main__":
    main()
