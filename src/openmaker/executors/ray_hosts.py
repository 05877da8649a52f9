"""A training job's hosts as Ray actors (the ``ray`` executor's :class:`HostGroup`).

Each host is a :class:`HostActor` holding its InstanceType's CPUs / GPUs; the job's hosts are
reserved together in one placement group (strategy ``SPREAD``: on different nodes where the
cluster has room, like separate instances), so two jobs never each hold half of what they need.
A job whose hosts cannot fit the whole cluster fails at once; one that must wait for room
waits up to ``OPENMAKER_RAY_PLACEMENT_TIMEOUT`` seconds (default 600), then fails.

On its node an actor builds the host's container folder (under ``OPENMAKER_RAY_WORKDIR``,
default ``<tmp>/openmaker-ray``), materialises its File-mode data (local paths must be visible
on that node, e.g. a shared file system; ``s3://`` works anywhere), starts the algorithm
process and keeps its output. ``algo-1``'s actor also runs the job's coordinator
(:mod:`openmaker.distributed`), so the hosts talk to each other inside the cluster.

The supervisor polls every actor for its new log lines and exit status (a background thread
turns them into :class:`~openmaker.executors.hosts.HostEvent` s). An actor whose method calls
fail (its node died, its process was killed) is reported ``lost`` with Ray's reason, and the
supervisor fails the job: it never waits on a dead host. At the end ``algo-1``'s actor sends
back ``model/`` and ``output/data/`` (and uploads its checkpoints), then every actor removes
its folder and is killed.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import signal
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from openmaker.errors import OpenmakerError, PlatformError, ResourceLimitExceededError
from openmaker.executors.hosts import (
    HostEvent,
    HostPlan,
    HostProcess,
    build_container,
    host_environment,
)
from openmaker.jobs.layout import JobLayout
from openmaker.store import TrainingJobRecord

PLACEMENT_TIMEOUT_ENV = "OPENMAKER_RAY_PLACEMENT_TIMEOUT"
WORKDIR_ENV = "OPENMAKER_RAY_WORKDIR"
#: Seconds one actor call may take before the host counts as unresponsive.
CALL_TIMEOUT = 120.0
#: Lines an actor hands over per poll at most.
LINES_PER_POLL = 2000


def _workdir() -> Path:
    return Path(os.environ.get(WORKDIR_ENV) or Path(tempfile.gettempdir()) / "openmaker-ray")


def _tar(folder: Path) -> bytes | None:
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return buf.getvalue()


def _untar(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")


class HostActor:
    """One host of a job, on whichever node Ray placed it (used as a Ray actor class)."""

    def __init__(self, job_name: str, rank: int) -> None:
        import uuid

        self.job_name = job_name
        self.rank = rank
        self.root = _workdir() / f"{job_name}-{uuid.uuid4().hex[:8]}" / f"algo-{rank + 1}"
        self.events: queue.Queue[HostEvent] = queue.Queue()
        self.layout: JobLayout | None = None
        self.plan: HostPlan | None = None
        self.proc: HostProcess | None = None
        self.coordinator: Any = None

    def node_ip(self) -> str:
        """The IP address of this actor's node."""
        import ray

        return str(ray.util.get_node_ip_address())

    def prepare(self, plan: HostPlan) -> dict[str, str]:
        """Build the host's container and fetch its data; returns where it runs."""
        import ray

        self.plan = plan
        self.layout = build_container(self.root, plan)
        return {"ip": self.node_ip(), "node": str(ray.get_runtime_context().get_node_id())}

    def start_coordinator(self, size: int, token: str) -> str:
        """Run the job's coordinator in this actor; returns its ``ip:port``."""
        from openmaker.distributed.coordinator import Coordinator

        self.coordinator = Coordinator(size, token, bind="0.0.0.0", advertise=self.node_ip())
        self.coordinator.start()
        return str(self.coordinator.address)

    def launch(self, coordinator: str | None, token: str | None) -> None:
        """Start the algorithm process."""
        assert self.layout is not None and self.plan is not None
        env = host_environment(self.layout, self.plan, coordinator, token, host_ip=self.node_ip())
        self.proc = HostProcess(self.rank, self.layout, env, self.events)

    def read(self, wait: float = 0.5) -> list[tuple[str, Any]]:
        """New events (``("line", bytes)`` / ``("exit", code)``), waiting up to ``wait`` s."""
        out: list[tuple[str, Any]] = []
        try:
            event = self.events.get(timeout=wait)
        except queue.Empty:
            return out
        out.append((event.kind, event.data))
        while len(out) < LINES_PER_POLL:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            out.append((event.kind, event.data))
        return out

    def signal(self, sig: int) -> None:
        """Signal the algorithm's process group."""
        if self.proc is not None:
            self.proc.signal(sig)

    def failure(self) -> str | None:
        """The failure reason the algorithm wrote."""
        return self.layout.read_failure() if self.layout is not None else None

    def collect(self) -> dict[str, bytes | None]:
        """``model/`` and ``output/data/`` as tar.gz bytes; checkpoints are uploaded."""
        assert self.layout is not None and self.plan is not None
        if self.plan.checkpoint_uri and self.layout.checkpoint_dir.is_dir():
            from openmaker import artifacts

            artifacts.sync_folder_to(self.layout.checkpoint_dir, self.plan.checkpoint_uri)
        return {
            "model": _tar(self.layout.model_dir),
            "output": _tar(self.layout.output_dir / "data"),
        }

    def cleanup(self) -> None:
        """End the algorithm process and the coordinator; remove the host's folder."""
        self.signal(signal.SIGKILL)
        if self.coordinator is not None:
            self.coordinator.close()
        shutil.rmtree(self.root.parent, ignore_errors=True)


class RayHosts:
    """The hosts of one job as Ray actors, reserved together.

    Args:
        record: the training job (its executor is ``ray``; RAY_ADDRESS names the cluster).
    """

    def __init__(self, record: TrainingJobRecord) -> None:
        from openmaker.executors.ray import instance_resources

        self.record = record
        self.count = max(1, int(record.resource_config.get("InstanceCount") or 1))
        self.resources = instance_resources(str(record.resource_config.get("InstanceType")))
        self.events: queue.Queue[HostEvent] = queue.Queue()
        self.actors: list[Any] = []
        self._pg: Any = None
        self._ray: Any = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._lost: dict[int, str] = {}

    # --- start -----------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._ray is None:
            from openmaker.executors.ray import connect

            self._ray = connect(os.environ.get("RAY_ADDRESS") or None)
        return self._ray

    def _reserve(self) -> Any:
        """A placement group with one bundle per host, ready (or a clear error)."""
        ray = self._connect()
        from ray.util.placement_group import placement_group, remove_placement_group

        res = self.resources
        bundle = {"CPU": float(res.cpus)}
        if res.gpus:
            bundle["GPU"] = float(res.gpus)
        total = ray.cluster_resources()
        for key, need in bundle.items():
            have = float(total.get(key, 0.0))
            if need * self.count > have:
                raise ResourceLimitExceededError(
                    f"{self.count} x {self.record.resource_config.get('InstanceType')} need "
                    f"{need * self.count:g} {key} but the Ray cluster has {have:g}"
                )
        pg = placement_group([dict(bundle) for _ in range(self.count)], strategy="SPREAD")
        timeout = float(os.environ.get(PLACEMENT_TIMEOUT_ENV, "600"))
        try:
            ray.get(pg.ready(), timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            remove_placement_group(pg)
            raise ResourceLimitExceededError(
                f"the Ray cluster had no room for {self.count} x "
                f"{self.record.resource_config.get('InstanceType')} within {timeout:g} s"
            ) from None
        return pg

    def prepare(self, plans: list[HostPlan]) -> None:
        ray = self._connect()
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        self._pg = self._reserve()
        cls = ray.remote(HostActor)
        for plan in plans:
            strategy = PlacementGroupSchedulingStrategy(
                placement_group=self._pg, placement_group_bundle_index=plan.rank
            )
            actor = cls.options(
                num_cpus=float(self.resources.cpus),
                num_gpus=float(self.resources.gpus),
                max_restarts=0,
                max_concurrency=4,
                scheduling_strategy=strategy,
            ).remote(self.record.name, plan.rank)
            self.actors.append(actor)
        refs = [a.prepare.remote(p) for a, p in zip(self.actors, plans, strict=True)]
        places = self._get(refs, "preparing the hosts", timeout=None)
        for rank, place in enumerate(places):
            line = f"[openmaker] algo-{rank + 1} runs on Ray node {place['node']} ({place['ip']})"
            self.events.put(HostEvent(0, "line", (line + "\n").encode()))

    def coordinator_address(self, token: str) -> str | None:
        if self.count <= 1:
            return None
        return str(
            self._get(self.actors[0].start_coordinator.remote(self.count, token), "starting algo-1")
        )

    def launch(self, coordinator: str | None, token: str | None) -> None:
        self._get([a.launch.remote(coordinator, token) for a in self.actors], "starting hosts")
        self._poller = threading.Thread(target=self._poll, name="ray-hosts", daemon=True)
        self._poller.start()

    def _get(self, refs: Any, what: str, timeout: float | None = CALL_TIMEOUT) -> Any:
        ray = self._ray
        try:
            return ray.get(refs, timeout=timeout)
        except OpenmakerError:
            raise
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            if isinstance(cause, OpenmakerError):
                raise cause from None
            raise PlatformError(f"Ray: {what} failed: {_short(exc)}") from None
        except (ray.exceptions.RayError, TimeoutError) as exc:
            raise PlatformError(f"Ray: {what} failed: {_short(exc)}") from None

    # --- following the hosts ------------------------------------------------------------------
    def _poll(self) -> None:
        ray = self._ray
        outstanding = {a.read.remote(): rank for rank, a in enumerate(self.actors)}
        while outstanding and not self._stop.is_set():
            ready, _ = ray.wait(list(outstanding), num_returns=1, timeout=1.0)
            for ref in ready:
                rank = outstanding.pop(ref)
                try:
                    items = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    self._lost[rank] = _short(exc)
                    self.events.put(HostEvent(rank, "lost", f"its Ray actor died: {_short(exc)}"))
                    continue
                ended = False
                for kind, data in items:
                    self.events.put(HostEvent(rank, kind, data))
                    ended = ended or kind == "exit"
                if not ended:
                    outstanding[self.actors[rank].read.remote()] = rank

    # --- control -----------------------------------------------------------------------------
    def signal(self, sig: int) -> None:
        for rank, actor in enumerate(self.actors):
            if rank not in self._lost:
                with contextlib.suppress(Exception):
                    actor.signal.remote(sig)

    def failure(self, rank: int) -> str | None:
        if rank in self._lost or rank >= len(self.actors):
            return None
        try:
            return self._get(self.actors[rank].failure.remote(), "reading the failure", 30.0)
        except OpenmakerError:
            return None

    def collect(self, layout: JobLayout) -> None:
        if not self.actors or 0 in self._lost:
            raise PlatformError("host algo-1 is gone: its model cannot be fetched")
        parts = self._get(self.actors[0].collect.remote(), "fetching the model from algo-1")
        if parts.get("model"):
            _untar(parts["model"], layout.model_dir)
        if parts.get("output"):
            _untar(parts["output"], layout.output_dir / "data")

    def close(self) -> None:
        self._stop.set()
        if self._ray is None:
            return
        ray = self._ray
        refs = [a.cleanup.remote() for r, a in enumerate(self.actors) if r not in self._lost]
        with contextlib.suppress(Exception):
            ray.wait(refs, num_returns=len(refs), timeout=15.0)
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        if self._pg is not None:
            from ray.util.placement_group import remove_placement_group

            with contextlib.suppress(Exception):
                remove_placement_group(self._pg)
        if self._poller is not None:
            self._poller.join(timeout=5.0)


def _short(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
