"""Standby supervisors: the next local job's processes, started before that job exists.

A local training job costs two interpreter starts and their imports before it trains: the
supervisor (SQLAlchemy, the store) and the algorithm's process (xgboost, numpy, ...), about
0.4 s on a 2-core machine even when they overlap (:mod:`openmaker.jobs.warm`). That is most
of a small job and a tuning trial. So when a single-host local job of an algorithm ends, the
process that submitted it (the server, a notebook, a tuning job's supervisor) starts a
*standby* for that algorithm: ``python -m openmaker.jobs.warm --standby ALGORITHM``, a
supervisor that starts its warm algorithm process, does its imports, and waits for a job.
The next job of that algorithm submitted from the same process, with the same environment,
is handed to it and starts at once (if it comes while the imports are still going on, it
starts when they are done); a new standby follows that job.

What a standby is and is not:

* It is a fresh process that has imported code and nothing else: no job's data, model or
  environment has been in it, so a job it runs is the same as one run cold (the job's own
  ``Environment`` is never run warm, see :mod:`openmaker.jobs.warm`).
* Its environment is the one its job would get (``OPENMAKER_HOME``, database URL, ...); a job
  submitted with any other environment, interpreter or working directory starts cold.
* It waits ``OPENMAKER_STANDBY_SECONDS`` (default 120; ``0`` turns standbys off), then
  exits; it also exits when the process that started it does (its stdin closes).
* It starts when the job before it has ended, and imports in threads at the lowest CPU
  priority (nice 19: Linux's nice value is per thread), so that a job submitted meanwhile is
  not slowed by it; it runs its own job from its main thread at normal priority. The
  processes it starts are started from the main thread, so they do not inherit the low
  priority; numpy (whose BLAS threads do a job's work) is imported in the main thread. An
  idle standby costs memory only (about 150 MB with XGBoost).

The hand-over: the submitter writes the job's name on the standby's stdin; the standby
answers ``ack`` on its stdout and from then on writes to the job's ``runner.log`` as a cold
supervisor does. No answer (it timed out or died in the meantime) and the job starts cold.
The next standby is started when the job's supervisor has exited (the submitter waits for
the end of file of a pipe the supervisor holds: ``OPENMAKER_ENDED_FD``, for a standby its
old stdout), not before, so it never takes the CPU from the job.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from functools import cache

#: The runner whose jobs a standby can take: the warm single-host supervisor.
WARM_RUNNER = "openmaker.jobs.warm"
#: The most standbys one process keeps (one per algorithm and environment).
MAX_STANDBYS = 4
_ACK = b"ack\n"
_HAND_OVER_TIMEOUT = 30.0


def fingerprint(env: dict[str, str]) -> str:
    """What a job's supervisor depends on besides its name: environment, interpreter, folder."""
    blob = json.dumps([sorted(env.items()), sys.executable, os.getcwd()])
    return hashlib.sha256(blob.encode()).hexdigest()


class StandbyPool:
    """The standbys of one process, by algorithm and environment fingerprint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        self._generation = 0  # close() moves it on: standbys promised before it never start

    def take(self, algorithm: str, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
        """The standby for ``algorithm`` started with ``env``, if one is alive (it is removed
        from the pool)."""
        with self._lock:
            proc = self._ready.pop((algorithm, fingerprint(env)), None)
        if proc is not None and proc.poll() is not None:
            _reap(proc)
            return None
        return proc

    def hand_over(self, proc: subprocess.Popen[bytes], job_name: str) -> bool:
        """Give ``job_name`` to the standby ``proc``; False (and ``proc`` is killed) when it
        does not take it: the job must then start cold."""
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(job_name.encode() + b"\n")
            proc.stdin.close()
            if _read_line(proc.stdout.fileno(), _HAND_OVER_TIMEOUT) == _ACK:
                return True  # its stdout's end of file says when it is gone: start_when_ended
        except OSError:
            pass
        _kill(proc)
        return False

    def start_when_ended(self, fd: int, algorithm: str, env: dict[str, str]) -> None:
        """Start a standby for ``algorithm`` once the supervisor holding the other end of the
        pipe ``fd`` has exited (end of file), then close ``fd``.

        Not before: on a small machine a standby's start (two interpreters and their imports,
        0.6-0.8 s of CPU) takes about as much from a running job as it saves the next one,
        even at the lowest priority (measured: +0.3 s for a 100k-row XGBoost job on 2 cores).
        """

        generation = self._generation

        def wait_then_start() -> None:
            try:
                with contextlib.suppress(OSError, ValueError):
                    select.select([fd], [], [])
                if generation == self._generation:
                    self.start(algorithm, env)
            finally:
                with contextlib.suppress(OSError):
                    os.close(fd)

        threading.Thread(target=wait_then_start, name="openmaker-standby", daemon=True).start()

    def start(self, algorithm: str, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
        """Start a standby for ``algorithm`` with ``env`` unless one is there already."""
        key = (algorithm, fingerprint(env))
        with self._lock:
            if key in self._ready and self._ready[key].poll() is None:
                return self._ready[key]
        argv = [sys.executable, "-m", WARM_RUNNER, "--standby", algorithm]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            return None
        evicted: list[subprocess.Popen[bytes]] = []
        with self._lock:
            old = self._ready.pop(key, None)
            if old is not None:
                evicted.append(old)
            while len(self._ready) >= MAX_STANDBYS:
                evicted.append(self._ready.pop(next(iter(self._ready))))
            self._ready[key] = proc
        for stale in evicted:
            _kill(stale)
        return proc

    def standbys(self) -> list[subprocess.Popen[bytes]]:
        """The standbys waiting now (for tests and benchmarks)."""
        with self._lock:
            return [p for p in self._ready.values() if p.poll() is None]

    def close(self) -> None:
        """Kill every standby, and start none of those promised to jobs still running."""
        with self._lock:
            self._generation += 1
            procs, self._ready = list(self._ready.values()), {}
        for proc in procs:
            _kill(proc)


@cache
def standby_pool() -> StandbyPool:
    """This process's standbys: they belong to the process (like its child processes), so
    there is one pool per process, whatever number of executors it builds."""
    return StandbyPool()


def _read_line(fd: int, timeout: float) -> bytes:
    """One line from ``fd`` within ``timeout`` seconds (b"" at end of file or timeout)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b""
        chunk = os.read(fd, 1)
        if not chunk:
            return b""
        data += chunk
    return data


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    _reap(proc)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# --- in the standby process ---------------------------------------------------------------------


def serve(algorithm: str) -> None:
    """The standby supervisor: warm up at the lowest CPU priority, wait for a job's name, then
    supervise that job at normal priority.

    Runs as ``python -m openmaker.jobs.warm --standby ALGORITHM``.
    """
    if _stdin_closed():
        return  # whoever started it is gone already (a one-shot script): import nothing
    from openmaker.jobs import warm
    from openmaker.settings import get_settings

    settings = get_settings()
    proc = warm.start(None, algorithm)  # from this thread: it must not inherit a low priority
    loading = warm.in_background(importlib.import_module, "openmaker.jobs.runner")
    name = _wait_for_job(settings.standby_seconds)
    if name is None:
        if proc is not None:
            warm.discard(proc)
        return
    loading.join()
    from openmaker.jobs import runner

    job_dir = settings.jobs_dir / name
    job_dir.mkdir(parents=True, exist_ok=True)
    os.write(1, _ACK)
    # the pipe to the submitter stays open (not inherited) until this process exits
    os.dup(1)
    log = os.open(job_dir / "runner.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # as a cold supervisor: stdin /dev/null, output into runner.log
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(devnull)
    runner.main([name], warm=proc)


def _stdin_closed() -> bool:
    """True when stdin is at end of file (readable with nothing to read); consumes nothing."""
    import fcntl
    import struct
    import termios

    if not select.select([0], [], [], 0)[0]:
        return False
    pending = struct.unpack("i", fcntl.ioctl(0, termios.FIONREAD, b"\0\0\0\0"))[0]
    return pending == 0


def _wait_for_job(timeout: float) -> str | None:
    line = _read_line(0, timeout).strip()
    return line.decode() if line else None
