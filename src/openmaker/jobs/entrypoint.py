"""What runs inside the job's "container": ``python -m openmaker.jobs.entrypoint JOB_DIR``.

Reads the configuration files SageMaker would mount, validates, calls the algorithm's
``train`` and, on error, writes ``output/failure`` (the platform copies it into
``FailureReason``) and exits non-zero. Exit codes: 0 success, 1 algorithm error, 2 user error,
3 another host of a multi-host job left it (this host only followed; the supervisor blames the
other one).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

from openmaker.errors import AlgorithmError, OpenmakerError
from openmaker.jobs.layout import JobLayout


def build_channels(layout: JobLayout, spec_channels: dict[str, str]) -> dict:
    """ChannelInputs for the algorithm from the config files."""
    from openmaker.spec.algorithm import ChannelInput
    from openmaker.spec.channels import parse_content_type

    config = layout.read_config("inputdataconfig", {})
    sources = layout.read_config("openmaker-sources", {})
    channels = {}
    for name, conf in config.items():
        raw_type = conf.get("ContentType") or spec_channels[name]
        content_type, params = parse_content_type(raw_type)
        channels[name] = ChannelInput(
            name=name,
            content_type=content_type,
            params=params,
            input_mode=conf.get("TrainingInputMode", "File"),
            path=layout.channel_dir(name),
            uris=tuple(sources.get(name, ())),
            compression=conf.get("CompressionType", "None") or "None",
            distribution=conf.get("S3DistributionType", "FullyReplicated") or "FullyReplicated",
        )
    return channels


def run(job_dir: Path) -> int:
    """Run the algorithm in ``job_dir``; return the process exit code."""
    layout = JobLayout(job_dir)
    try:
        from openmaker.algorithms import registry
        from openmaker.spec.algorithm import TrainingContext

        meta = layout.read_config("openmaker-job", {})
        spec = registry.get(meta["algorithm"])
        hyperparameters = spec.validate_hyperparameters(layout.read_config("hyperparameters", {}))
        config = layout.read_config("inputdataconfig", {})
        canonical = spec.validate_channels(
            {
                n: (c.get("ContentType"), c.get("TrainingInputMode", "File"))
                for n, c in config.items()
            }
        )
        channels = build_channels(layout, canonical)
        resource = layout.read_config("resourceconfig", {})
        context = TrainingContext(
            job_name=meta.get("job_name", job_dir.name),
            model_dir=layout.model_dir,
            output_dir=layout.output_dir,
            checkpoint_dir=layout.checkpoint_dir,
            hosts=tuple(resource.get("hosts", ["algo-1"])),
            current_host=resource.get("current_host", "algo-1"),
            num_cpus=int(meta.get("num_cpus") or os.cpu_count() or 1),
            num_gpus=int(meta.get("num_gpus") or 0),
        )
        spec.train_function()(hyperparameters, channels, context)
        return 0
    except OpenmakerError as exc:
        from openmaker.distributed.collective import HostLeftError

        _fail(layout, exc.failure_reason)
        if isinstance(exc, HostLeftError):
            return 3
        return 2 if exc.kind == "user" else 1
    except MemoryError:
        _fail(layout, AlgorithmError("Out of memory while training").failure_reason)
        return 1
    except Exception as exc:  # the algorithm's own bug: report it, with the traceback in the log
        traceback.print_exc()
        _fail(layout, AlgorithmError(f"{type(exc).__name__}: {exc}").failure_reason)
        return 1


def _fail(layout: JobLayout, reason: str) -> None:
    print(reason, file=sys.stderr, flush=True)
    layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
    layout.failure_file.write_text(reason)


def preload(algorithm: str) -> None:
    """Import what ``algorithm``'s training needs (its train module and its spec's
    ``preload``) before the job's configuration exists: a warm process (:mod:`openmaker.jobs.warm`).

    Any error is left for :func:`run` to meet again and report as the job's failure.
    """
    try:
        from openmaker.algorithms import registry

        registry.get(algorithm).preload_training()
        # what every algorithm reads its channels with (0.1 s of fsspec and readers)
        for module in ("fsspec", "openmaker.data.sources", "openmaker.data.readers"):
            importlib.import_module(module)
    except Exception:  # run() meets it again and reports it, with the job's context
        return


def _numpy_first() -> None:
    """Import numpy in the main thread: the BLAS threads it starts inherit the priority of the
    thread that imports it, and they will do the job's work."""
    import contextlib

    with contextlib.suppress(ImportError):
        import numpy  # noqa: F401


def main() -> None:
    """Console entry: ``python -m openmaker.jobs.entrypoint JOB_DIR``, or ``--warm ALGORITHM
    [JOB_DIR]`` to import the algorithm first and wait for the supervisor's go, which names the
    job's folder (:mod:`openmaker.jobs.warm`)."""
    # SIGTERM becomes KeyboardInterrupt-free exit unless the algorithm installs its own handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = sys.argv[1:]
    if args[0] == "--warm":
        from openmaker.jobs import warm

        loading = None
        if len(args) > 2:  # the process of a job being set up: warm up at full speed
            preload(args[1])
        else:  # a standby's: only in CPU time that others leave idle
            _numpy_first()
            loading = warm.in_background(preload, args[1])
        released = warm.wait_for_release()
        if released is None:  # the supervisor did not use this process, or is gone
            sys.exit(0)
        if loading is not None:
            loading.join()
        env, job_dir = released
        os.environ.clear()
        os.environ.update(env)
        args = [str(job_dir)]
    sys.exit(run(Path(args[0])))


if __name__ == "__main__":
    main()
