"""A warm algorithm process: started with the supervisor, handed its job when the job is ready.

A training job starts two fresh interpreters one after the other: the supervisor, which
imports SQLAlchemy to reach the store, and then the algorithm's process, which imports its
libraries (xgboost, numpy, pyarrow, ...). On a small job those starts are most of its time
(0.3 s and 0.35 s of a 1,000-row XGBoost job's 0.9 s on a 2-core machine). So for a
single-host job on the local executor the supervisor is started as
``python -m openmaker.jobs.warm JOB ALGORITHM``: before it imports anything heavy it starts the
algorithm's process in *warm* mode (``python -m openmaker.jobs.entrypoint --warm ALGORITHM
JOB_DIR``), which imports the algorithm (its spec's ``preload``) on the other core while the
supervisor opens the store and lays out the container folder, then waits on its stdin.

The supervisor hands the warm process the host's environment as one JSON line
(:func:`release`); from then on it is the host's process exactly as a cold one would be (same
folder, environment, output pipe, process group, exit codes). What a library reads from the
environment when it is imported is the same both ways: the job's own ``Environment`` is the
one thing that could differ, and a job that sets one is never run warm. A warm process that is
not used (several hosts, an ``Environment``, a stop before training) is killed; one whose
supervisor died sees its stdin close and exits.

This module imports only the standard library (and the settings): it runs before the
supervisor's imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

#: The algorithm process's module (also :data:`openmaker.executors.hosts.ENTRYPOINT`).
ENTRYPOINT = "openmaker.jobs.entrypoint"
#: The variable naming a pipe's write end that the supervisor holds until it exits: its end of
#: file tells :mod:`openmaker.executors.standby` to start the next job's standby.
ENDED_FD = "OPENMAKER_ENDED_FD"


def start(job_dir: Path | None, algorithm: str) -> subprocess.Popen[bytes] | None:
    """Start the algorithm's process in warm mode; None if it cannot start.

    ``job_dir``: the job's folder (its working directory); None for a standby, whose folder
    comes with :func:`release` (it waits in the jobs folder).
    """
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # read at interpreter start: as a cold host process has it
    if job_dir is None:
        from openmaker.settings import get_settings

        cwd = get_settings().jobs_dir
        cwd.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", ENTRYPOINT, "--warm", algorithm]
    else:
        cwd = job_dir
        argv = [sys.executable, "-m", ENTRYPOINT, "--warm", algorithm, str(job_dir)]
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(cwd),
            start_new_session=True,
        )
    except OSError:
        return None


def release(proc: subprocess.Popen[bytes], env: dict[str, str], job_dir: Path) -> bool:
    """Give the warm process its environment and folder and let it run the job.

    Returns False when the process is gone (it is then reaped and a cold one should start).
    """
    if proc.poll() is not None or proc.stdin is None:
        discard(proc)
        return False
    try:
        message = {"env": env, "job_dir": str(job_dir)}
        proc.stdin.write(json.dumps(message).encode() + b"\n")
        proc.stdin.close()
    except OSError:  # it died while warming up
        discard(proc)
        return False
    return True


def in_background(function: Callable[..., object], *args: object) -> threading.Thread:
    """Run ``function(*args)`` in a thread at the lowest CPU priority (Linux's nice value is a
    per-thread attribute): a standby's warm-up takes only CPU time a running job leaves idle.

    Errors are swallowed: what failed to import is imported again, and reported, by the job.
    """

    def work() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        with contextlib.suppress(Exception):
            function(*args)

    thread = threading.Thread(target=work, name="openmaker-warm-up", daemon=True)
    thread.start()
    return thread


def discard(proc: subprocess.Popen[bytes]) -> None:
    """Kill an unused warm process and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def wait_for_release() -> tuple[dict[str, str], Path] | None:
    """In the warm process: block until the supervisor sends the environment and the job's
    folder (None: it never will). Standard input is /dev/null afterwards, as for a cold host
    process, and the working directory is the job's folder."""
    line = sys.stdin.buffer.readline()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if not line.strip():
        return None
    message = json.loads(line)
    job_dir = Path(message["job_dir"])
    os.chdir(job_dir)
    return {str(k): str(v) for k, v in message["env"].items()}, job_dir


def main() -> None:
    """Console entry: ``python -m openmaker.jobs.warm JOB_NAME ALGORITHM`` (the supervisor of
    one job), or ``--standby ALGORITHM`` (a supervisor started before its job exists:
    :mod:`openmaker.executors.standby`)."""
    if sys.argv[1] == "--standby":
        from openmaker.executors import standby

        standby.serve(sys.argv[2])
        return
    from openmaker.settings import get_settings

    name, algorithm = sys.argv[1], sys.argv[2]
    proc = start(get_settings().jobs_dir / name, algorithm)
    from openmaker.jobs import runner

    runner.main([name], warm=proc)


if __name__ == "__main__":
    main()
