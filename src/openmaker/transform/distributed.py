"""Batch transform across a Ray cluster (transform jobs of the ``ray`` executor).

The job's input files are dealt out to ``TransformResources.InstanceCount x
MaxConcurrentTransforms`` Ray actors (one CPU each, at most as many as the cluster has CPUs
and the job has files). Each actor loads the model once and transforms whole files: it splits
a file into requests exactly as the local runner does (:mod:`openmaker.transform.splitting`)
and returns their :class:`~openmaker.transform.predicting.Result` s. The supervisor takes the
files' results back in input order (a bounded window of files in flight) and writes them
through the same code as the local runner: one ``<file>.out`` per input file, atomically,
progress in the store, bad-record handling unchanged. The model and the input must be
readable from every node (``s3://``, or a file system every node mounts).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from openmaker.errors import OpenmakerError, PlatformError
from openmaker.transform.predicting import Result, Settings


class TransformActor:
    """One transform worker on the cluster: the model loaded once, whole files transformed."""

    def __init__(self, model_record: Any, settings: Settings, environment: dict[str, str]) -> None:
        os.environ.update(environment)
        os.environ["SAGEMAKER_BATCH"] = "true"
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from openmaker.transform.predicting import make_transformer

        self.settings = settings
        self.transformer = make_transformer(model_record, settings)

    def run_file(self, index: int, source: str, strategy: str, max_payload: int) -> list[Result]:
        """Every request of one input file, transformed, in order."""
        from openmaker.data import open_uri
        from openmaker.transform.splitting import iter_requests

        with open_uri(source) as fh:
            return [
                self.transformer.run(request)
                for request in iter_requests(
                    fh,
                    file_index=index,
                    source=source,
                    split_type=self.settings.split_type,
                    strategy=strategy,
                    max_payload=max_payload,
                )
            ]


def actor_count(request: dict[str, Any], files: int, cluster_cpus: float) -> int:
    """How many transform actors a job gets (see the module docstring)."""
    instances = int((request.get("TransformResources") or {}).get("InstanceCount") or 1)
    wanted = instances * int(request.get("MaxConcurrentTransforms") or 1)
    return max(1, min(wanted, files, int(cluster_cpus) or 1))


def transform_on_ray(
    request: dict[str, Any], model_record: Any, settings: Settings, files: list[str], log: Any
) -> Iterator[Result]:
    """The results of every file, in input order, computed on the Ray cluster.

    Raises:
        OpenmakerError: the error a file's transform raised (bad record, bad model...).
        PlatformError: the cluster failed (a node died, Ray is unreachable).
    """
    from openmaker.executors.ray import connect

    ray = connect(os.environ.get("RAY_ADDRESS") or None)
    count = actor_count(request, len(files), ray.cluster_resources().get("CPU", 1))
    env = {str(k): str(v) for k, v in (request.get("Environment") or {}).items()}
    cls = ray.remote(num_cpus=1, max_restarts=0)(TransformActor)
    actors = [cls.remote(model_record, settings, env) for _ in range(count)]
    log(f"transforming on Ray with {count} actor(s)")
    strategy = request["BatchStrategy"]
    max_payload = int(request["MaxPayloadInMB"]) * 1024 * 1024
    try:
        pending: list[Any] = []
        window = 2 * count
        for index, source in enumerate(files):
            actor = actors[index % count]
            pending.append(actor.run_file.remote(index, source, strategy, max_payload))
            if len(pending) >= window:
                yield from _results(ray, pending.pop(0))
        while pending:
            yield from _results(ray, pending.pop(0))
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)


def _results(ray: Any, ref: Any) -> list[Result]:
    try:
        results: list[Result] = ray.get(ref)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, OpenmakerError):
            raise cause from None
        detail = " ".join(str(exc).split())[:400]
        raise PlatformError(f"transform on Ray failed: {detail}") from None
    return results
