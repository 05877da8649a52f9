"""The job supervisor: ``python -m openmaker.jobs.runner JOB_NAME``.

It plays SageMaker's part around the container: lays out the job folder, fetches (File mode)
or lists (Pipe mode) the input, runs the algorithm in a subprocess, follows its log, parses
metrics, enforces ``MaxRuntimeInSeconds`` and stop requests, syncs checkpoints, and uploads
``model.tar.gz``. Every status change goes through the store's compare-and-set transitions,
so a job that was stopped never turns Completed.

With ``ResourceConfig.InstanceCount`` = N > 1 it runs N hosts (``algo-1`` ... ``algo-N``), each
with its own container folder and its share of every channel (``S3DataDistributionType``), on
this machine (``local`` executor) or as Ray actors (``ray`` executor); see
:mod:`openmaker.executors.hosts`. The hosts meet through the job's coordinator
(:mod:`openmaker.distributed`). All hosts' log lines go to the job's log (lines of ``algo-k``,
k > 1, prefixed ``[algo-k]``); metrics are parsed from ``algo-1``, which writes the model. When a
host fails or is lost, the others are stopped and the job fails with that host's reason. The
supervisor alone writes the metadata store.

A host is *lost* when its process vanishes without a result: its Ray actor or node died, or
its process was killed by a signal the supervisor did not send. A lost host fails the job with
``PlatformError: host algo-k was lost: ...`` unless ``RetryStrategy.MaximumRetryAttempts``
allows restarting every host (secondary status ``Restarting``, then ``Training``; the first
``MaxRuntimeInSeconds`` deadline still holds). Algorithm and data errors are never retried.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openmaker import artifacts, uris
from openmaker.errors import OpenmakerError, PlatformError
from openmaker.executors.hosts import HostGroup, HostPlan, LocalHosts
from openmaker.jobs.layout import JobLayout
from openmaker.jobs.metrics import MetricParser, job_definitions
from openmaker.jobs.warm import ENDED_FD
from openmaker.settings import get_settings
from openmaker.store import Store, TrainingJobRecord, open_store

RUNNING = ("InProgress",)
ACTIVE = ("InProgress", "Stopping")
POLL_SECONDS = 0.5
CHECKPOINT_SYNC_SECONDS = 30.0
#: Seconds the other hosts get to end after one host failed, before they are killed.
HOST_FAILURE_GRACE = 10.0
#: Exit code of a host that ended because another host left the job (see the entrypoint).
PEER_LEFT_EXIT = 3


def stop_grace_seconds() -> float:
    """Seconds between SIGTERM and SIGKILL on stop (SageMaker: 120; ``OPENMAKER_STOP_GRACE``)."""
    return float(os.environ.get("OPENMAKER_STOP_GRACE", "120"))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    """How the algorithm processes ended.

    Attributes:
        returncode: the exit code of the failed host (else of ``algo-1``).
        stopped: a stop was asked for.
        timed_out: ``MaxRuntimeInSeconds`` passed.
        failed_host: rank of the host the job failed on (None: none failed).
        lost: why that host was lost (its machine or actor vanished), else None.
    """

    returncode: int
    stopped: bool = False
    timed_out: bool = False
    failed_host: int | None = None
    lost: str | None = None


class JobRunner:
    """Supervises one training job from Starting to a terminal status."""

    def __init__(
        self, store: Store, name: str, warm: subprocess.Popen[bytes] | None = None
    ) -> None:
        self.store = store
        self.jobs = store.training_jobs
        self.name = name
        self.record: TrainingJobRecord = self.jobs.get(name)
        self.layout = JobLayout(get_settings().jobs_dir / name).create()
        self.count = max(1, int(self.record.resource_config.get("InstanceCount") or 1))
        self.hosts = tuple(f"algo-{i + 1}" for i in range(self.count))
        self.group: HostGroup = LocalHosts(self.layout)  # the real one is chosen in run()
        self._plans: list[HostPlan] = []
        self._deadline: float | None = None
        self._warm = warm  # algo-1's process, started warm with the supervisor (jobs.warm)
        # The pipe whose end of file tells the submitter that this supervisor is gone (see
        # openmaker.executors.standby): kept open for the process's life, out of the
        # environment so that no host process is told of it.
        os.environ.pop(ENDED_FD, None)

    def _num_gpus(self) -> int:
        """GPUs one host may use: its InstanceType's on Ray (Ray sets CUDA_VISIBLE_DEVICES)."""
        if self.record.executor != "ray":
            return 0
        from openmaker.executors.ray import instance_resources

        return int(instance_resources(self.record.resource_config["InstanceType"]).gpus)

    def _host_group(self) -> HostGroup:
        """Where the hosts run: Ray actors for the ``ray`` executor, else local processes."""
        warm, self._warm = self._warm, None  # a warm process serves the first launch only
        if warm is not None and (
            self.record.executor == "ray" or self.count > 1 or self.record.environment
        ):
            from openmaker.jobs.warm import discard

            discard(warm)  # see openmaker.jobs.warm: it would not be the same process
            warm = None
        if self.record.executor == "ray":
            from openmaker.executors.ray_hosts import RayHosts

            return RayHosts(self.record)
        return LocalHosts(self.layout, warm=warm)

    def _num_cpus(self) -> int:
        """CPUs one host may use."""
        given = self.record.resource_config.get("OpenmakerCpus")
        if self.record.executor == "ray":
            from openmaker.executors.ray import instance_resources

            cpus = instance_resources(self.record.resource_config["InstanceType"]).cpus
            return max(1, int(given or cpus))
        return max(1, int(given or (os.cpu_count() or 1) // self.count))

    # --- status helpers ----------------------------------------------------------------
    def _transition(self, secondary: str, message: str, **kw: object) -> bool:
        kw.setdefault("only_if_status", RUNNING)
        return self.jobs.transition(self.name, secondary, message, **kw) is not None  # type: ignore[arg-type]

    def _fail(self, reason: str) -> None:
        self.jobs.transition(
            self.name,
            "Failed",
            "Training job failed",
            status="Failed",
            failure_reason=reason[:1024],
            only_if_status=ACTIVE,
            training_end_time=now(),
        )

    # --- the phases ----------------------------------------------------------------------
    def run(self) -> None:
        """Run every phase; any unexpected error fails the job with a PlatformError reason."""
        try:
            self.group = self._host_group()
            self._prepare()
            if not self._transition(
                "Training",
                "Training image download completed. Training in progress.",
                training_start_time=now(),
            ):
                return self._finish_stopped_before_start()
            outcome = self._train()
            outcome = self._retry(outcome)
            self._finish(outcome)
        except OpenmakerError as exc:
            self._fail(exc.failure_reason)
        except Exception as exc:  # never leave a job InProgress behind
            traceback.print_exc()
            self._fail(PlatformError(f"{type(exc).__name__}: {exc}").failure_reason)
        finally:
            self.group.close()
            if self._warm is not None:  # failed before the hosts were chosen
                from openmaker.jobs.warm import discard

                discard(self._warm)

    def _retry(self, outcome: Outcome) -> Outcome:
        """Run the hosts again while a host was lost and ``RetryStrategy`` allows it.

        Only a lost host (its node or process vanished: a platform failure, SageMaker's
        InternalServerError) is retried; an algorithm or data error is not.
        """
        attempts = int(
            (self.record.resource_config.get("RetryStrategy") or {}).get("MaximumRetryAttempts")
            or 0
        )
        attempt = 0
        while (
            outcome.lost is not None
            and not (outcome.stopped or outcome.timed_out)
            and attempt < attempts
        ):
            attempt += 1
            host = self.hosts[outcome.failed_host or 0]
            message = (
                f"Restarting the training job: host {host} was lost ({outcome.lost}); "
                f"retry {attempt} of {attempts}"
            )
            with open(self.layout.log_file, "ab") as log:
                log.write(f"[openmaker] {message}\n".encode())
            if not self._transition("Restarting", message):
                break
            self.group.close()
            try:
                self.group = self._host_group()
                self.group.prepare(self._plans)
            except OpenmakerError as exc:
                raise PlatformError(
                    f"host {host} was lost ({outcome.lost}) and the restart failed: {exc}"
                ) from exc
            if not self._transition("Training", "Training in progress (restarted)."):
                break
            outcome = self._train()
        return outcome

    def _prepare(self) -> None:
        rec = self.record
        self.jobs.update(self.name, job_dir=str(self.layout.root))
        settings = get_settings()
        mode = rec.algorithm_specification.get("TrainingInputMode", "File")
        inputdataconfig = {}
        for ch in rec.input_data_config:
            channel_mode = ch.get("InputMode") or mode
            inputdataconfig[ch["ChannelName"]] = {
                "ContentType": ch.get("ContentType"),
                # FastFile reads on demand; local links give the same behaviour as File here.
                "TrainingInputMode": "File" if channel_mode == "FastFile" else channel_mode,
                "S3DistributionType": ch["DataSource"]["S3DataSource"].get(
                    "S3DataDistributionType", "FullyReplicated"
                ),
                "RecordWrapperType": ch.get("RecordWrapperType", "None"),
                "CompressionType": ch.get("CompressionType", "None"),
            }
        job_meta = {
            "job_name": self.name,
            "algorithm": rec.algorithm,
            "num_cpus": self._num_cpus(),
            "num_gpus": self._num_gpus(),
            "home": str(settings.home),
        }
        # List every channel first (its S3DataType: prefix, manifest, augmented manifest): an
        # unreadable URI or a missing listed object fails the job before any download.
        from openmaker.data import manifest
        from openmaker.distributed.sharding import shard_files

        sources = {}
        base_uris = {}
        augmented = {}
        for ch in rec.input_data_config:
            data = manifest.resolve(ch["DataSource"]["S3DataSource"])
            base_uris[ch["ChannelName"]] = data.base
            sources[ch["ChannelName"]] = data.files
            if data.data_type == manifest.AUGMENTED_MANIFEST_FILE:
                augmented[ch["ChannelName"]] = ch  # sharded by line, on the host
        file_channels = [n for n, c in inputdataconfig.items() if c["TrainingInputMode"] != "Pipe"]
        checkpoint_uri = (rec.checkpoint_config or {}).get("S3Uri") or None
        plans = []
        for rank in range(self.count):
            mine = {
                name: files
                if name in augmented
                else shard_files(
                    files, rank, self.count, inputdataconfig[name]["S3DistributionType"], name
                )
                for name, files in sources.items()
            }
            configs: dict[str, Any] = {
                "hyperparameters": rec.hyperparameters,
                "inputdataconfig": inputdataconfig,
                "resourceconfig": {
                    "current_host": self.hosts[rank],
                    "hosts": list(self.hosts),
                    "network_interface_name": "lo",
                },
                "openmaker-job": job_meta,
                "openmaker-sources": mine,
            }
            plans.append(
                HostPlan(
                    job_name=self.name,
                    rank=rank,
                    hosts=self.hosts,
                    configs=configs,
                    file_channels={n: (base_uris[n], mine[n]) for n in file_channels},
                    augmented_channels={
                        n: manifest.augmented_source(ch, rank, self.count)
                        for n, ch in augmented.items()
                    },
                    checkpoint_uri=checkpoint_uri,
                    environment=dict(rec.environment or {}),
                )
            )
        self._plans = plans
        if file_channels and not self._transition("Downloading", "Downloading input data"):
            return
        self.group.prepare(plans)

    @staticmethod
    def _materialise(base: str, files: list[str], dest: Path) -> None:
        """Put a channel's files in ``dest``: local files are linked, remote ones downloaded."""
        from openmaker.executors.hosts import materialise

        materialise(base, files, dest)

    def _train(self) -> Outcome:
        rec = self.record
        parser = MetricParser(job_definitions(rec.algorithm, rec.algorithm_specification))
        group = self.group
        token = address = None
        if self.count > 1:
            from openmaker.distributed.coordinator import new_token

            token = new_token()
            address = group.coordinator_address(token)
        group.launch(address, token)

        if self._deadline is None:  # a restarted job keeps its first deadline
            max_runtime = float(rec.stopping_condition.get("MaxRuntimeInSeconds") or 86400)
            self._deadline = time.monotonic() + max_runtime
        deadline = self._deadline
        outcome = Outcome(returncode=0)
        codes: dict[int, int] = {}
        running = set(range(self.count))
        pending = []
        last_flush = last_poll = last_sync = time.monotonic()
        terminate_at: float | None = None
        give_up_at: float | None = None
        with open(self.layout.log_file, "ab") as log:
            while running:
                try:
                    event = group.events.get(timeout=0.2)
                except queue.Empty:
                    event = None
                t = time.monotonic()
                if event is not None and event.kind == "line":
                    line: bytes = event.data
                    if event.rank == 0:
                        log.write(line)
                        pending.extend(parser.feed(line.decode("utf-8", "replace").rstrip("\n")))
                    else:
                        log.write(f"[{self.hosts[event.rank]}] ".encode() + line)
                elif event is not None:
                    running.discard(event.rank)
                    failed = event.kind == "lost" or event.data != 0
                    lost = event.data if event.kind == "lost" else None
                    if event.kind == "lost":
                        codes[event.rank] = -9
                    else:
                        codes[event.rank] = int(event.data)
                        if event.data < 0 and terminate_at is None:  # a signal we did not send
                            lost = (
                                f"its process was killed by signal {-int(event.data)} "
                                "(out of memory, or killed from outside)"
                            )
                    if lost is not None:
                        log.write(f"[{self.hosts[event.rank]}] lost: {lost}\n".encode())
                    if failed and self._blame(outcome, codes, event.rank, lost is not None):
                        outcome.lost = lost
                    if failed and running and terminate_at is None:
                        # the others would only wait for the failed host: end them
                        group.signal(signal.SIGTERM)
                        terminate_at = t + HOST_FAILURE_GRACE
                if pending and (t - last_flush > 1.0 or len(pending) > 500):
                    log.flush()
                    self.jobs.add_metrics(self.name, pending)
                    pending, last_flush = [], t
                elif t - last_flush > 1.0:
                    log.flush()
                    last_flush = t
                if terminate_at is None and t - last_poll > POLL_SECONDS:
                    last_poll = t
                    if t > deadline:
                        outcome.timed_out = True
                    elif self.jobs.get(self.name).status == "Stopping":
                        outcome.stopped = True
                    if outcome.timed_out or outcome.stopped:
                        group.signal(signal.SIGTERM)
                        terminate_at = t + stop_grace_seconds()
                if terminate_at is not None and t > terminate_at and give_up_at is None:
                    group.signal(signal.SIGKILL)
                    give_up_at = t + 60.0
                if give_up_at is not None and t > give_up_at:
                    for rank in sorted(running):  # killed but never reported back: lost
                        codes[rank] = -9
                        if self._blame(outcome, codes, rank):
                            outcome.lost = "it did not end after SIGKILL"
                    running.clear()
                if t - last_sync > CHECKPOINT_SYNC_SECONDS:
                    self._sync_checkpoints()
                    last_sync = t
            log.flush()
        if outcome.failed_host is None:
            outcome.returncode = codes.get(0, 0)
        else:
            outcome.returncode = codes[outcome.failed_host] or 1
        if pending:
            self.jobs.add_metrics(self.name, pending)
        if outcome.failed_host is None or outcome.stopped or outcome.timed_out:
            try:
                group.collect(self.layout)
            except OpenmakerError as exc:
                if outcome.failed_host is None:
                    raise
                print(f"could not fetch the model of the stopped job: {exc}", file=sys.stderr)
        self._sync_checkpoints()
        return outcome

    @staticmethod
    def _blame(outcome: Outcome, codes: dict[int, int], rank: int, lost: bool = False) -> bool:
        """Make ``rank`` the host the job failed on, unless a likelier cause is blamed already.

        The cause is, first, a host that was lost (its machine or process vanished: the others'
        errors follow from it, and may be reported before the loss is noticed); then a host
        that failed on its own; last, a host that ended only because another one left (exit
        code 3).
        """
        current = outcome.failed_host
        if current is None:
            take = True
        elif outcome.lost is not None:
            take = False
        elif lost:
            take = True
        else:
            take = codes.get(current) == PEER_LEFT_EXIT and codes[rank] != PEER_LEFT_EXIT
        if take:
            outcome.failed_host = rank
        return take

    def _sync_checkpoints(self) -> None:
        conf = self.record.checkpoint_config
        if conf and conf.get("S3Uri"):
            try:
                artifacts.sync_folder_to(self.layout.checkpoint_dir, conf["S3Uri"])
            except OpenmakerError as exc:
                print(f"checkpoint upload failed: {exc}", file=sys.stderr)

    def _upload(self) -> str:
        rec = self.record
        base = rec.output_data_config.get("S3OutputPath") or get_settings().artifacts_uri
        out_uri = uris.join(base, self.name, "output", "model.tar.gz")
        archive = artifacts.pack(self.layout.model_dir, self.layout.root / "model.tar.gz")
        artifacts.upload(archive, out_uri)
        data_dir = self.layout.output_dir / "data"
        if data_dir.exists() and any(data_dir.iterdir()):
            out = artifacts.pack(data_dir, self.layout.root / "output.tar.gz")
            artifacts.upload(out, uris.join(base, self.name, "output", "output.tar.gz"))
        return out_uri

    def _finish(self, outcome: Outcome) -> None:
        if outcome.stopped or outcome.timed_out:
            model_uri = self._upload() if any(self.layout.model_dir.iterdir()) else None
            if outcome.timed_out:
                secondary, message = (
                    "MaxRuntimeExceeded",
                    "Training job reached MaxRuntimeInSeconds",
                )
            else:
                secondary, message = "Stopped", "Training job stopped"
            self.jobs.transition(
                self.name,
                secondary,
                message,
                status="Stopped",
                only_if_status=ACTIVE,
                model_artifacts=model_uri,
                training_end_time=now(),
                failure_reason=message if outcome.timed_out else None,
            )
            return
        if outcome.lost is not None and outcome.failed_host is not None:
            host = self.hosts[outcome.failed_host]
            self._fail(PlatformError(f"host {host} was lost: {outcome.lost}").failure_reason)
            return
        if outcome.returncode != 0:
            rank = outcome.failed_host or 0
            reason = self.group.failure(rank) or (
                f"AlgorithmError: the algorithm exited with code {outcome.returncode}; "
                f"last log lines: {_tail(self.layout.log_file)}"
            )
            if self.count > 1:
                reason = f"{reason} (on host {self.hosts[rank]})"
            self._fail(reason)
            return
        if not self._transition("Uploading", "Uploading generated training model"):
            return
        model_uri = self._upload()
        self.jobs.transition(
            self.name,
            "Completed",
            "Training job completed",
            status="Completed",
            only_if_status=RUNNING,
            model_artifacts=model_uri,
            training_end_time=now(),
        )

    def _finish_stopped_before_start(self) -> None:
        self.jobs.transition(
            self.name,
            "Stopped",
            "Training job stopped",
            status="Stopped",
            only_if_status=("Stopping",),
            training_end_time=now(),
        )


def _tail(path: Path, n: int = 5) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-600:]


def main(argv: list[str] | None = None, warm: subprocess.Popen[bytes] | None = None) -> None:
    """Console entry: ``python -m openmaker.jobs.runner JOB_NAME``.

    ``warm``: ``algo-1``'s process, already started by :mod:`openmaker.jobs.warm`.
    """
    name = (sys.argv[1:] if argv is None else argv)[0]
    # The supervisor must outlive a SIGTERM sent to it only by finishing the job as Stopped.
    with open_store() as store:
        runner = JobRunner(store, name, warm)

        def on_term(*_: object) -> None:
            store.training_jobs.transition(
                name,
                "Stopping",
                "Stopping the training job",
                status="Stopping",
                only_if_status=RUNNING,
            )

        signal.signal(signal.SIGTERM, on_term)
        runner.run()


if __name__ == "__main__":
    main()
