"""The hosts of a training job: one SageMaker-like container folder and one algorithm process
per host (``algo-1`` ... ``algo-N``, N = ``ResourceConfig.InstanceCount``).

The job's supervisor (:mod:`openmaker.jobs.runner`) describes each host with a :class:`HostPlan`
(its config files, its share of every channel, its environment) and hands the plans to a
:class:`HostGroup`, which says *where* the processes run: :class:`LocalHosts` (subprocesses on
this machine; ``algo-1`` uses the job folder itself, ``algo-k`` the folder ``hosts/algo-k``)
or :class:`~openmaker.executors.ray_hosts.RayHosts` (one Ray actor per host on a cluster).
Either way the group reports what happens as :class:`HostEvent` s on one queue: log lines,
exits, and hosts lost (a Ray node died). Only the supervisor writes the metadata store.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from openmaker import artifacts, uris
from openmaker.jobs.layout import JobLayout
from openmaker.jobs.warm import ENTRYPOINT, discard, release

if TYPE_CHECKING:
    from openmaker.data.manifest import AugmentedSource


@dataclass(frozen=True)
class HostPlan:
    """Everything one host needs to build its container and run the algorithm.

    Attributes:
        job_name: the training job.
        rank: 0 for ``algo-1``.
        hosts: every host's name.
        configs: ``input/config/<name>.json`` contents (resourceconfig names this host).
        file_channels: File-mode channels to materialise: name -> (base URI, this host's files).
        augmented_channels: ``AugmentedManifestFile`` channels (Pipe mode): name -> what this
            host streams; the container gets the stream as one local file (see
            :mod:`openmaker.data.manifest`).
        checkpoint_uri: ``CheckpointConfig.S3Uri`` (or None).
        environment: the job's ``Environment``.
    """

    job_name: str
    rank: int
    hosts: tuple[str, ...]
    configs: dict[str, Any]
    file_channels: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    augmented_channels: dict[str, AugmentedSource] = field(default_factory=dict)
    checkpoint_uri: str | None = None
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """This host's name (``algo-1`` ...)."""
        return self.hosts[self.rank]


@dataclass(frozen=True)
class HostEvent:
    """Something that happened on a host.

    Attributes:
        rank: the host (0 for ``algo-1``).
        kind: ``line`` (a log line, ``data`` holds its bytes), ``exit`` (``data`` is the exit
            code), ``lost`` (the host vanished; ``data`` says why).
    """

    rank: int
    kind: Literal["line", "exit", "lost"]
    data: Any


class HostGroup(Protocol):
    """Runs the hosts of one job somewhere and reports their events."""

    events: queue.Queue[HostEvent]

    def prepare(self, plans: list[HostPlan]) -> None:
        """Build every host's container and materialise its File-mode data."""
        ...

    def launch(self, coordinator: str | None, token: str | None) -> None:
        """Start the algorithm on every host (the coordinator first, for several hosts)."""
        ...

    def coordinator_address(self, token: str) -> str | None:
        """Start the job's coordinator where this group wants it; its address (N > 1 only)."""
        ...

    def signal(self, sig: int) -> None:
        """Send ``sig`` to every host's algorithm process (group)."""
        ...

    def failure(self, rank: int) -> str | None:
        """The failure reason host ``rank``'s algorithm wrote, if any."""
        ...

    def collect(self, layout: JobLayout) -> None:
        """Bring ``algo-1``'s model and output data into the supervisor's job folder."""
        ...

    def close(self) -> None:
        """Release everything (processes, actors, the coordinator)."""
        ...


# --- building a container --------------------------------------------------------------------


def build_container(root: Path, plan: HostPlan) -> JobLayout:
    """Lay out ``root`` as host ``plan.host``'s container: configs, data, model, checkpoints."""
    layout = JobLayout(root).create()
    layout.failure_file.unlink(missing_ok=True)  # a restarted job starts clean
    for path in layout.model_dir.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    configs = dict(plan.configs)
    if plan.augmented_channels:
        from openmaker.data.manifest import write_augmented_stream

        sources = dict(configs.get("openmaker-sources") or {})
        for name, augmented in plan.augmented_channels.items():
            stream = layout.data_dir / f"{name}_augmented.rec"
            write_augmented_stream(augmented, stream)
            sources[name] = [str(stream)]
        configs["openmaker-sources"] = sources
    for name, content in configs.items():
        layout.write_config(name, content)
    if plan.checkpoint_uri:
        layout.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        artifacts.sync_folder_from(plan.checkpoint_uri, layout.checkpoint_dir)
    for name, (base, files) in plan.file_channels.items():
        materialise(base, files, layout.channel_dir(name))
    return layout


def materialise(base: str, files: list[str], dest: Path) -> None:
    """Put a channel's files in ``dest``: local files are linked, remote ones downloaded.

    Each file keeps its name relative to ``base`` (the prefix, or a manifest's prefix); a file
    outside ``base`` gets its base name.

    Raises:
        DataSourceError: a file whose relative name would leave ``dest``.
    """
    from openmaker.errors import DataSourceError

    dest.mkdir(parents=True, exist_ok=True)
    root = os.path.normpath(dest)
    base_path = uris.filesystem(base)[1].rstrip("/")
    for i, src in enumerate(files):
        src_path = uris.filesystem(src)[1]
        inside = src_path.startswith(base_path + "/") or src_path == base_path
        rel = src_path[len(base_path) :].lstrip("/") if inside else Path(src_path).name
        target = dest / (rel or Path(src_path).name or f"part-{i}")
        if not os.path.normpath(target).startswith(root + os.sep):  # not resolve(): links
            raise DataSourceError(f"{src!r} would be laid out outside the channel", uri=src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        if uris.is_local(src):
            os.symlink(os.path.abspath(uris.local_path(src)), target)
        else:
            artifacts.download(src, target)


def host_environment(
    layout: JobLayout,
    plan: HostPlan,
    coordinator: str | None = None,
    token: str | None = None,
    base: dict[str, str] | None = None,
    host_ip: str = "127.0.0.1",
) -> dict[str, str]:
    """The algorithm process's environment: SageMaker's ``SM_*`` variables for this host."""
    from openmaker.distributed.wire import ADDRESS_ENV, HOST_IP_ENV, TOKEN_ENV

    env = dict(os.environ if base is None else base)
    env.update(plan.environment or {})
    env.update(
        {
            "SM_MODEL_DIR": str(layout.model_dir),
            "SM_OUTPUT_DIR": str(layout.output_dir),
            "SM_OUTPUT_DATA_DIR": str(layout.output_dir / "data"),
            "SM_INPUT_DIR": str(layout.root / "input"),
            "SM_CHECKPOINT_DIR": str(layout.checkpoint_dir),
            "SM_HPS": json.dumps(plan.configs.get("hyperparameters", {})),
            "SM_CURRENT_HOST": plan.host,
            "SM_HOSTS": json.dumps(list(plan.hosts)),
            "SM_NUM_HOSTS": str(len(plan.hosts)),
            "TRAINING_JOB_NAME": plan.job_name,
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name in plan.configs.get("inputdataconfig", {}):
        env[f"SM_CHANNEL_{name.upper()}"] = str(layout.channel_dir(name))
    env[HOST_IP_ENV] = host_ip
    env.pop(ADDRESS_ENV, None)
    env.pop(TOKEN_ENV, None)
    if coordinator and token:
        env[ADDRESS_ENV] = coordinator
        env[TOKEN_ENV] = token
    return env


# --- one host's process -------------------------------------------------------------------------


class HostProcess:
    """The algorithm process of one host, its output pumped into an event queue.

    ``warm``: a process :mod:`openmaker.jobs.warm` started in this host's folder, waiting for
    its environment; it is used instead of starting one (unless it died: then one starts).
    """

    def __init__(
        self,
        rank: int,
        layout: JobLayout,
        env: dict[str, str],
        out: queue.Queue,
        warm: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.rank = rank
        self.layout = layout
        if warm is not None and release(warm, env, layout.root):
            self.proc = warm
        else:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", ENTRYPOINT, str(layout.root)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(layout.root),
                start_new_session=True,
            )
        self._thread = threading.Thread(target=self._pump, args=(out,), daemon=True)
        self._thread.start()

    def _pump(self, out: queue.Queue[HostEvent]) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            out.put(HostEvent(self.rank, "line", line))
        out.put(HostEvent(self.rank, "exit", self.proc.wait()))

    def signal(self, sig: int) -> None:
        """Signal the algorithm's whole process group."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)


class LocalHosts:
    """Every host a subprocess on this machine (the ``local`` executor).

    ``algo-1`` runs in the job folder itself, ``algo-k`` in ``<job folder>/hosts/algo-k``; the
    coordinator of a multi-host job runs in the supervisor, on the loopback interface.
    """

    def __init__(self, layout: JobLayout, warm: subprocess.Popen[bytes] | None = None) -> None:
        self.layout = layout
        self.warm = warm  # algo-1's process, started early (openmaker.jobs.warm); single host
        self.events: queue.Queue[HostEvent] = queue.Queue()
        self.plans: list[HostPlan] = []
        self.layouts: list[JobLayout] = []
        self.procs: list[HostProcess] = []
        self._coordinator: Any = None

    def root(self, rank: int) -> Path:
        """Host ``rank``'s container folder."""
        return self.layout.root if rank == 0 else self.layout.root / "hosts" / f"algo-{rank + 1}"

    def prepare(self, plans: list[HostPlan]) -> None:
        self.plans = plans
        self.layouts = [build_container(self.root(p.rank), p) for p in plans]

    def coordinator_address(self, token: str) -> str | None:
        if len(self.plans) <= 1:
            return None
        from openmaker.distributed.coordinator import Coordinator

        self._coordinator = Coordinator(len(self.plans), token).start()
        return str(self._coordinator.address)

    def launch(self, coordinator: str | None, token: str | None) -> None:
        warm, self.warm = self.warm, None
        for plan, layout in zip(self.plans, self.layouts, strict=True):
            env = host_environment(layout, plan, coordinator, token)
            mine = warm if plan.rank == 0 and layout.root == self.layout.root else None
            self.procs.append(HostProcess(plan.rank, layout, env, self.events, warm=mine))
            if mine is not None:
                warm = None
        if warm is not None:
            discard(warm)

    def signal(self, sig: int) -> None:
        for proc in self.procs:
            proc.signal(sig)

    def failure(self, rank: int) -> str | None:
        return self.layouts[rank].read_failure() if rank < len(self.layouts) else None

    def collect(self, layout: JobLayout) -> None:
        """Nothing to move: ``algo-1`` wrote into the job folder itself."""

    def close(self) -> None:
        if self.warm is not None:  # never launched (stopped, or failed, before training)
            discard(self.warm)
            self.warm = None
        self.signal(signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.proc.wait(timeout=10)
        if self._coordinator is not None:
            self._coordinator.close()
