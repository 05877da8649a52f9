"""Tags on any resource, addressed by ARN: AddTags, ListTags, DeleteTags.

Each aggregate keeps its own tags (the ``tags`` column of training jobs, tuning jobs, models,
endpoint configs and endpoints; ``Tags`` inside a transform job's stored request), so
``Describe*`` and ``List*`` need no second lookup. An ARN is resolved through the ``arn``
column of its resource type's table, so it must be exactly the ARN openmaker handed out (names
lower-cased, as SageMaker writes them; the comparison ignores case).

Rules (SageMaker's): at most 50 tags per resource (``ResourceLimitExceeded`` beyond), keys
1-128 characters and unique (adding an existing key replaces its value), values 0-256
characters, keys starting with ``aws:`` are reserved. An unknown ARN or resource type is a
:class:`~openmaker.errors.ValidationError` naming the ARN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, select

from openmaker.errors import ResourceLimitExceededError, ValidationError
from openmaker.store import Store
from openmaker.store import schema as tables

MAX_TAGS = 50
_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:(?P<type>[a-z-]+)/(?P<name>.+)$")

#: ARN resource type -> (table, store attribute).
RESOURCE_TYPES: Mapping[str, tuple[Table, str]] = {
    "training-job": (tables.training_jobs, "training_jobs"),
    "hyper-parameter-tuning-job": (tables.hyperparameter_tuning_jobs, "tuning_jobs"),
    "model": (tables.models, "models"),
    "endpoint-config": (tables.endpoint_configs, "endpoint_configs"),
    "endpoint": (tables.endpoints, "endpoints"),
    "transform-job": (tables.transform_jobs, "transform_jobs"),
}

Tags = list[dict[str, str]]


class TagService:
    """The one implementation of the tag operations.

    Args:
        store: the metadata store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self, arn: str) -> Tags:
        """ListTags: the resource's tags, in the order they were added."""
        kind, name = self._resolve(arn)
        return _read(self._record(kind, name), kind)

    def add(self, arn: str, tags: Sequence[Mapping[str, str]]) -> Tags:
        """AddTags: add or replace ``tags``; returns the resource's tags afterwards.

        Raises:
            ValidationError: unknown ARN, bad key or value.
            ResourceLimitExceededError: the resource would have more than 50 tags.
        """
        new = _checked(tags)
        kind, name = self._resolve(arn)

        def merge(current: Tags) -> Tags:
            merged = {t["Key"]: t["Value"] for t in current}
            merged.update((t["Key"], t["Value"]) for t in new)
            if len(merged) > MAX_TAGS:
                raise ResourceLimitExceededError(
                    f"Resource {arn} would have {len(merged)} tags; the limit is {MAX_TAGS}."
                )
            return [{"Key": k, "Value": v} for k, v in merged.items()]

        return self._change(kind, name, merge)

    def delete(self, arn: str, keys: Iterable[str]) -> Tags:
        """DeleteTags: remove the tags with these keys (absent keys are ignored, as in
        SageMaker). Returns the remaining tags."""
        drop = set(keys)
        kind, name = self._resolve(arn)
        return self._change(kind, name, lambda tags: [t for t in tags if t["Key"] not in drop])

    # --- helpers ----------------------------------------------------------------------------
    def _resolve(self, arn: str) -> tuple[str, str]:
        m = _ARN.match(arn or "")
        if m is None or m.group("type") not in RESOURCE_TYPES:
            raise ValidationError(
                f"Invalid ResourceArn {arn!r}: expected arn:aws:sagemaker:<region>:<account>:"
                f"<type>/<name> with <type> one of {', '.join(RESOURCE_TYPES)}"
            )
        kind = m.group("type")
        table, _ = RESOURCE_TYPES[kind]
        query = (
            select(table.c.name)
            .where(func.lower(table.c.arn) == arn.lower())
            .order_by(table.c.name)
            .limit(1)
        )
        with self.store.database.begin() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise ValidationError(f"Could not find resource {arn!r}.")
        return kind, str(row.name)

    def _aggregate(self, kind: str) -> Any:
        return getattr(self.store, RESOURCE_TYPES[kind][1])

    def _record(self, kind: str, name: str) -> Any:
        return self._aggregate(kind).get(name)

    def _change(self, kind: str, name: str, change: Callable[[Tags], Tags]) -> Tags:
        aggregate = self._aggregate(kind)
        if kind == "training-job":
            # The training-job store sets fields (no compare-and-set); tags are only written here.
            updated = aggregate.update(name, tags=change(_read(aggregate.get(name), kind)))
        elif kind == "transform-job":
            updated = aggregate.update(
                name, request=lambda rec: {**rec.request, "Tags": change(_read(rec, kind))}
            )
        else:
            updated = aggregate.update(name, tags=lambda rec: change(_read(rec, kind)))
        return _read(updated, kind)


def _read(record: Any, kind: str) -> Tags:
    raw = record.request.get("Tags") if kind == "transform-job" else record.tags
    return [{"Key": str(t["Key"]), "Value": str(t.get("Value", ""))} for t in raw or []]


def _checked(tags: Sequence[Mapping[str, str]]) -> Tags:
    out: Tags = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationError(f"Tag key {key!r} must be 1-128 characters")
        if key.lower().startswith("aws:"):
            raise ValidationError(f"Tag key {key!r}: the prefix 'aws:' is reserved")
        if not isinstance(value, str) or len(value) > 256:
            raise ValidationError(f"Tag {key!r}: the value must be at most 256 characters")
        out.append({"Key": key, "Value": value})
    if len(out) > MAX_TAGS:
        raise ResourceLimitExceededError(f"At most {MAX_TAGS} tags; got {len(out)}")
    return out
