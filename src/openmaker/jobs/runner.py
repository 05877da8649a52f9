"""The job supervisor: ``python -m openmaker.jobs.runner JOB_NAME``.

It plays SageMaker's part around the container: lays out the job folder, fetches (File mode)
or lists (Pipe mode) the input, runs the algorithm in a subprocess, follows its log, parses
metrics, enforces ``MaxRuntimeInSeconds`` and stop requests, syncs checkpoints, and uploads
``model.tar.gz``. Every status change goes through the store's compare-and-set transitions,
so a job that was stopped never turns Completed.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from openmaker import artifacts, uris
from openmaker.errors import OpenmakerError, PlatformError
from openmaker.jobs.layout import JobLayout
from openmaker.jobs.metrics import MetricParser, definitions_for
from openmaker.settings import get_settings
from openmaker.spec.metrics import MetricDefinition
from openmaker.store import Store, TrainingJobRecord, open_store

RUNNING = ("InProgress",)
ACTIVE = ("InProgress", "Stopping")
POLL_SECONDS = 0.5
CHECKPOINT_SYNC_SECONDS = 30.0


def stop_grace_seconds() -> float:
    """Seconds between SIGTERM and SIGKILL on stop (SageMaker: 120; ``OPENMAKER_STOP_GRACE``)."""
    return float(os.environ.get("OPENMAKER_STOP_GRACE", "120"))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    """How the algorithm process ended."""

    returncode: int
    stopped: bool = False
    timed_out: bool = False


class JobRunner:
    """Supervises one training job from Starting to a terminal status."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.jobs = store.training_jobs
        self.name = name
        self.record: TrainingJobRecord = self.jobs.get(name)
        self.layout = JobLayout(get_settings().jobs_dir / name).create()

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
            self._prepare()
            if not self._transition(
                "Training",
                "Training image download completed. Training in progress.",
                training_start_time=now(),
            ):
                return self._finish_stopped_before_start()
            outcome = self._train()
            self._finish(outcome)
        except OpenmakerError as exc:
            self._fail(exc.failure_reason)
        except Exception as exc:  # never leave a job InProgress behind
            traceback.print_exc()
            self._fail(PlatformError(f"{type(exc).__name__}: {exc}").failure_reason)

    def _prepare(self) -> None:
        rec = self.record
        self.jobs.update(self.name, job_dir=str(self.layout.root))
        layout = self.layout
        settings = get_settings()
        layout.write_config("hyperparameters", rec.hyperparameters)
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
        layout.write_config("inputdataconfig", inputdataconfig)
        layout.write_config(
            "resourceconfig",
            {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"},
        )
        layout.write_config(
            "openmaker-job",
            {
                "job_name": self.name,
                "algorithm": rec.algorithm,
                "num_cpus": rec.resource_config.get("OpenmakerCpus") or os.cpu_count(),
                "home": str(settings.home),
            },
        )
        # List every channel first: an unreadable URI fails the job before any download.
        from openmaker.data.sources import list_files

        sources = {}
        for ch in rec.input_data_config:
            uri = ch["DataSource"]["S3DataSource"]["S3Uri"]
            sources[ch["ChannelName"]] = list_files(uri)
        layout.write_config("openmaker-sources", sources)

        if rec.checkpoint_config and rec.checkpoint_config.get("S3Uri"):
            layout.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            artifacts.sync_folder_from(rec.checkpoint_config["S3Uri"], layout.checkpoint_dir)

        file_channels = [n for n, c in inputdataconfig.items() if c["TrainingInputMode"] != "Pipe"]
        if file_channels:
            if not self._transition("Downloading", "Downloading input data"):
                return
            for name in file_channels:
                uri = next(
                    c["DataSource"]["S3DataSource"]["S3Uri"]
                    for c in rec.input_data_config
                    if c["ChannelName"] == name
                )
                self._materialise(uri, sources[name], layout.channel_dir(name))

    @staticmethod
    def _materialise(base: str, files: list[str], dest: Path) -> None:
        """Put a channel's files in ``dest``: local files are linked, remote ones downloaded."""
        dest.mkdir(parents=True, exist_ok=True)
        base_path = uris.filesystem(base)[1].rstrip("/")
        for i, src in enumerate(files):
            src_path = uris.filesystem(src)[1]
            rel = src_path[len(base_path) :].lstrip("/") if src_path != base_path else ""
            target = dest / (rel or Path(src_path).name or f"part-{i}")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            if uris.is_local(src):
                os.symlink(os.path.abspath(uris.local_path(src)), target)
            else:
                artifacts.download(src, target)

    def _train(self) -> Outcome:
        rec = self.record
        spec_metrics: tuple[MetricDefinition, ...] = ()
        try:
            from openmaker.algorithms import registry

            spec_metrics = registry.get(rec.algorithm).metrics
        except OpenmakerError:
            pass
        parser = MetricParser(
            definitions_for(spec_metrics, rec.algorithm_specification.get("MetricDefinitions", []))
        )
        env = dict(os.environ)
        env.update(rec.environment or {})
        env.update(
            {
                "SM_MODEL_DIR": str(self.layout.model_dir),
                "SM_OUTPUT_DIR": str(self.layout.output_dir),
                "SM_OUTPUT_DATA_DIR": str(self.layout.output_dir / "data"),
                "SM_INPUT_DIR": str(self.layout.root / "input"),
                "SM_CHECKPOINT_DIR": str(self.layout.checkpoint_dir),
                "SM_HPS": json.dumps(rec.hyperparameters),
                "SM_CURRENT_HOST": "algo-1",
                "SM_HOSTS": '["algo-1"]',
                "TRAINING_JOB_NAME": self.name,
                "PYTHONUNBUFFERED": "1",
            }
        )
        for ch in rec.input_data_config:
            env[f"SM_CHANNEL_{ch['ChannelName'].upper()}"] = str(
                self.layout.channel_dir(ch["ChannelName"])
            )
        proc = subprocess.Popen(
            [sys.executable, "-m", "openmaker.jobs.entrypoint", str(self.layout.root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(self.layout.root),
            start_new_session=True,
        )
        lines: queue.Queue[bytes | None] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(proc, lines), daemon=True)
        reader.start()

        max_runtime = float(rec.stopping_condition.get("MaxRuntimeInSeconds") or 86400)
        deadline = time.monotonic() + max_runtime
        outcome = Outcome(returncode=0)
        pending = []
        last_flush = last_poll = last_sync = time.monotonic()
        terminate_at: float | None = None
        with open(self.layout.log_file, "ab") as log:
            while True:
                try:
                    item = lines.get(timeout=0.2)
                except queue.Empty:
                    item = b""
                if item is None:
                    break
                if item:
                    log.write(item)
                    pending.extend(parser.feed(item.decode("utf-8", "replace").rstrip("\n")))
                t = time.monotonic()
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
                        _signal(proc, signal.SIGTERM)
                        terminate_at = t + stop_grace_seconds()
                if terminate_at is not None and t > terminate_at and proc.poll() is None:
                    _signal(proc, signal.SIGKILL)
                if t - last_sync > CHECKPOINT_SYNC_SECONDS:
                    self._sync_checkpoints()
                    last_sync = t
            log.flush()
        outcome.returncode = proc.wait()
        if pending:
            self.jobs.add_metrics(self.name, pending)
        self._sync_checkpoints()
        return outcome

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
        if outcome.returncode != 0:
            reason = self.layout.read_failure() or (
                f"AlgorithmError: the algorithm exited with code {outcome.returncode}; "
                f"last log lines: {_tail(self.layout.log_file)}"
            )
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


def _pump(proc: subprocess.Popen[bytes], out: queue.Queue[bytes | None]) -> None:
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, b""):
        out.put(line)
    out.put(None)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _tail(path: Path, n: int = 5) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-600:]


def main() -> None:
    """Console entry: ``python -m openmaker.jobs.runner JOB_NAME``."""
    name = sys.argv[1]
    # The supervisor must outlive a SIGTERM sent to it only by finishing the job as Stopped.
    with open_store() as store:
        runner = JobRunner(store, name)

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
