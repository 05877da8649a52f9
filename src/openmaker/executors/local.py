"""The local executor: each job's supervisor is a detached subprocess on this machine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from openmaker.settings import get_settings


class LocalExecutor:
    """Runs a job's supervisor (``python -m <runner> JOB``, by default the training runner) in
    its own session, so it outlives the caller.

    Handles look like ``pid:<pid>:<create_time>@<hostname>`` so a recycled pid is not mistaken
    for the job's process after a restart.
    """

    name = "local"

    def submit(
        self, job_name: str, runner: str = "openmaker.jobs.runner", args: Sequence[str] = ()
    ) -> str:
        """Start ``python -m <runner> <job_name> *args`` detached; return its handle.

        A single-host job on the warm runner goes to this process's standby for its algorithm
        when there is one (:mod:`openmaker.executors.standby`), and leaves one behind it.
        """
        from openmaker.executors import standby

        settings = get_settings()
        log_dir = settings.jobs_dir / job_name
        log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["OPENMAKER_HOME"] = str(settings.home)
        env["OPENMAKER_DATABASE_URL"] = settings.database_url
        env.update(self.environment())
        keep_warm = runner == standby.WARM_RUNNER and len(args) == 1 and settings.standby_seconds
        if keep_warm:
            pool = standby.standby_pool()
            ready = pool.take(args[0], env)
            if ready is not None and pool.hand_over(ready, job_name):
                assert ready.stdout is not None
                # the standby for the job after this one, once this one has ended
                pool.start_when_ended(os.dup(ready.stdout.fileno()), args[0], env)
                ready.stdout.close()
                return self._handle(ready.pid)
        ended_r = ended_w = None
        job_env = env
        if keep_warm:
            ended_r, ended_w = os.pipe()
            from openmaker.jobs.warm import ENDED_FD

            job_env = {**env, ENDED_FD: str(ended_w)}
        try:
            with open(log_dir / "runner.log", "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", runner, job_name, *args],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=job_env,
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=() if ended_w is None else (ended_w,),
                )
        except BaseException:
            if ended_r is not None:
                os.close(ended_r)
            raise
        finally:
            if ended_w is not None:
                os.close(ended_w)
        if ended_r is not None:
            standby.standby_pool().start_when_ended(ended_r, args[0], env)
        return self._handle(proc.pid)

    @staticmethod
    def _handle(pid: int) -> str:
        import psutil

        created = psutil.Process(pid).create_time()
        return f"pid:{pid}:{created:.3f}@{socket.gethostname()}"

    def environment(self) -> dict[str, str]:
        """Variables the supervisor gets on top of this process's environment."""
        return {"OPENMAKER_EXECUTOR": self.name}

    @staticmethod
    def _parse(handle: str) -> tuple[int, float, str] | None:
        try:
            head, _, host = handle.partition("@")
            _, pid, created = head.split(":")
            return int(pid), float(created), host
        except ValueError:
            return None

    def is_alive(self, handle: str) -> bool | None:
        import psutil

        parsed = self._parse(handle)
        if parsed is None:
            return None
        pid, created, host = parsed
        if host != socket.gethostname():
            return None
        try:
            proc = psutil.Process(pid)
            return abs(proc.create_time() - created) < 1.0 and proc.status() != "zombie"
        except psutil.NoSuchProcess:
            return False

    def kill(self, handle: str) -> None:
        parsed = self._parse(handle)
        if parsed is None or not self.is_alive(handle):
            return
        pid = parsed[0]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
