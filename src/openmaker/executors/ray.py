"""The ``ray`` executor: the same jobs, with their hosts on a Ray cluster.

Select it with ``OPENMAKER_EXECUTOR=ray`` (cluster at ``RAY_ADDRESS``) or ``ray://host:10001``
(``--executor`` on the CLI). A job's supervisor still runs as a detached process on the machine
that submitted it (it alone writes the metadata store, so SQLite stays safe), and connects to
the cluster as a Ray driver; each of the job's ``InstanceCount`` hosts is a Ray actor holding
the CPUs / GPUs its ``InstanceType`` maps to (:data:`INSTANCE_TYPES`), reserved together in a
placement group (spread over the nodes, like instances), see
:mod:`openmaker.executors.ray_hosts`. Tuning trials are training jobs like any other, so
``MaxParallelTrainingJobs`` of them run at once across the cluster; transform jobs deal their
input files out to Ray tasks (:mod:`openmaker.transform.distributed`).

Without ``RAY_ADDRESS`` a supervisor joins a Ray instance already running on this machine
(``ray start --head``), else starts a private one for its job.

The InstanceType table can be changed with ``OPENMAKER_RAY_INSTANCE_TYPES``: JSON (or the path
of a JSON file) such as ``{"ml.m5.large": {"cpus": 1}, "my.gpu": {"cpus": 8, "gpus": 1}}``;
entries are added to / replace the built-in ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openmaker.errors import MissingExtraError, ValidationError
from openmaker.executors.local import LocalExecutor

INSTANCE_TYPES_ENV = "OPENMAKER_RAY_INSTANCE_TYPES"


@dataclass(frozen=True)
class InstanceResources:
    """What one host of a given InstanceType gets on the cluster.

    Attributes:
        cpus: Ray CPUs (vCPUs of the instance type; fractions allowed).
        gpus: Ray GPUs.
        memory_gib: the instance type's memory (documentation; not reserved).
    """

    cpus: float
    gpus: float = 0.0
    memory_gib: float = 0.0


#: SageMaker training instance types -> resources (vCPUs, GPUs, GiB), as AWS lists them.
INSTANCE_TYPES: dict[str, InstanceResources] = {
    "local": InstanceResources(1, 0, 0),  # the SageMaker SDK's local mode
    "ml.t3.medium": InstanceResources(2, 0, 4),
    "ml.t3.large": InstanceResources(2, 0, 8),
    "ml.t3.xlarge": InstanceResources(4, 0, 16),
    "ml.t3.2xlarge": InstanceResources(8, 0, 32),
    "ml.m4.xlarge": InstanceResources(4, 0, 16),
    "ml.m4.2xlarge": InstanceResources(8, 0, 32),
    "ml.m4.4xlarge": InstanceResources(16, 0, 64),
    "ml.m4.10xlarge": InstanceResources(40, 0, 160),
    "ml.m4.16xlarge": InstanceResources(64, 0, 256),
    "ml.m5.large": InstanceResources(2, 0, 8),
    "ml.m5.xlarge": InstanceResources(4, 0, 16),
    "ml.m5.2xlarge": InstanceResources(8, 0, 32),
    "ml.m5.4xlarge": InstanceResources(16, 0, 64),
    "ml.m5.12xlarge": InstanceResources(48, 0, 192),
    "ml.m5.24xlarge": InstanceResources(96, 0, 384),
    "ml.c4.xlarge": InstanceResources(4, 0, 7.5),
    "ml.c4.2xlarge": InstanceResources(8, 0, 15),
    "ml.c4.4xlarge": InstanceResources(16, 0, 30),
    "ml.c4.8xlarge": InstanceResources(36, 0, 60),
    "ml.c5.xlarge": InstanceResources(4, 0, 8),
    "ml.c5.2xlarge": InstanceResources(8, 0, 16),
    "ml.c5.4xlarge": InstanceResources(16, 0, 32),
    "ml.c5.9xlarge": InstanceResources(36, 0, 72),
    "ml.c5.18xlarge": InstanceResources(72, 0, 144),
    "ml.r5.large": InstanceResources(2, 0, 16),
    "ml.r5.xlarge": InstanceResources(4, 0, 32),
    "ml.r5.2xlarge": InstanceResources(8, 0, 64),
    "ml.r5.4xlarge": InstanceResources(16, 0, 128),
    "ml.r5.12xlarge": InstanceResources(48, 0, 384),
    "ml.r5.24xlarge": InstanceResources(96, 0, 768),
    "ml.p2.xlarge": InstanceResources(4, 1, 61),
    "ml.p2.8xlarge": InstanceResources(32, 8, 488),
    "ml.p2.16xlarge": InstanceResources(64, 16, 732),
    "ml.p3.2xlarge": InstanceResources(8, 1, 61),
    "ml.p3.8xlarge": InstanceResources(32, 4, 244),
    "ml.p3.16xlarge": InstanceResources(64, 8, 488),
    "ml.g4dn.xlarge": InstanceResources(4, 1, 16),
    "ml.g4dn.2xlarge": InstanceResources(8, 1, 32),
    "ml.g4dn.4xlarge": InstanceResources(16, 1, 64),
    "ml.g4dn.12xlarge": InstanceResources(48, 4, 192),
    "ml.g5.xlarge": InstanceResources(4, 1, 16),
    "ml.g5.2xlarge": InstanceResources(8, 1, 32),
    "ml.g5.12xlarge": InstanceResources(48, 4, 192),
    "ml.g5.48xlarge": InstanceResources(192, 8, 768),
    "ml.p4d.24xlarge": InstanceResources(96, 8, 1152),
}


def instance_types() -> dict[str, InstanceResources]:
    """The InstanceType table in force: :data:`INSTANCE_TYPES` plus the user's overrides.

    Raises:
        ValidationError: ``OPENMAKER_RAY_INSTANCE_TYPES`` is not valid JSON of that shape.
    """
    table = dict(INSTANCE_TYPES)
    raw = os.environ.get(INSTANCE_TYPES_ENV, "").strip()
    if not raw:
        return table
    text = raw if raw.startswith("{") else Path(raw).expanduser().read_text()
    try:
        given = json.loads(text)
        for name, spec in given.items():
            unknown = set(spec) - {"cpus", "gpus", "memory_gib"}
            if unknown:
                raise ValueError(f"unknown key(s) {sorted(unknown)} for {name!r}")
            res = InstanceResources(
                float(spec["cpus"]), float(spec.get("gpus", 0)), float(spec.get("memory_gib", 0))
            )
            if res.cpus <= 0 or res.gpus < 0:
                raise ValueError(f"{name!r}: cpus must be > 0 and gpus >= 0")
            table[str(name)] = res
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(
            f"{INSTANCE_TYPES_ENV} must map instance types to {{'cpus': N, 'gpus': N}}: {exc}"
        ) from None
    return table


def instance_resources(instance_type: str) -> InstanceResources:
    """The resources of one host of ``instance_type``.

    Raises:
        ValidationError: the type is not in the table (the message says how to add it).
    """
    table = instance_types()
    if instance_type not in table:
        raise ValidationError(
            f"InstanceType {instance_type!r} is not known to the ray executor; known: "
            f'{", ".join(sorted(table))}. Add it with {INSTANCE_TYPES_ENV}=\'{{"{instance_type}"'
            ': {"cpus": 4, "gpus": 0}}\''
        )
    return table[instance_type]


def require_ray() -> Any:
    """Import ray, or raise MissingExtraError naming the ``ray`` extra."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    return ray


def connect(address: str | None) -> Any:
    """Connect this process to the Ray cluster at ``address`` (see the module docstring)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {
        "namespace": "openmaker",
        "log_to_driver": False,
        "logging_level": "ERROR",
        "configure_logging": False,
    }
    if address:
        ray.init(address=address, **options)
        return ray
    try:
        ray.init(address="auto", **options)
    except ConnectionError:
        ray.init(include_dashboard=False, **options)
    return ray


class RayExecutor(LocalExecutor):
    """Supervisors run detached on this machine; a job's hosts run on the Ray cluster.

    Args:
        address: the cluster (``host:port``, ``ray://host:10001``; None: see the module
            docstring).
    """

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address

    def environment(self) -> dict[str, str]:
        env = {"OPENMAKER_EXECUTOR": "ray"}
        if self.address:
            env["RAY_ADDRESS"] = self.address
        return env

    def submit(
        self, job_name: str, runner: str = "openmaker.jobs.runner", args: Sequence[str] = ()
    ) -> str:
        require_ray()  # fail now, not in the detached supervisor
        return super().submit(job_name, runner, args)

    def check_resource_config(self, resource: dict[str, Any]) -> None:
        """Refuse an InstanceType the table does not know, before the job starts."""
        instance_resources(str(resource.get("InstanceType")))
