"""The routing table each serving worker keeps: endpoint -> variants -> warm models.

A worker never queries the store on the request path. It polls
:meth:`~openmaker.store.endpoints.EndpointStore.revisions` (one small query) every
``OPENMAKER_SERVE_POLL_SECONDS`` (default 0.5) and when a request names an endpoint it does
not know yet. A changed endpoint's route is rebuilt off the request path: models not in the
worker's cache are loaded first, then the whole table is replaced in one assignment, so
requests in flight keep the old route and no request sees a half-loaded model. Models are
cached by (model name, creation time); a model deleted after deployment keeps serving, as in
SageMaker. A route that cannot be built (artifact gone) keeps its previous version and is
retried when the endpoint changes again.

Traffic split: a variant is drawn with probability ``CurrentWeight / sum(CurrentWeight)``;
``X-Amzn-SageMaker-Target-Variant`` picks one by name.

Each loaded model has one :class:`~openmaker.hosting.batching.MicroBatcher` per worker, kept
with the model across rebuilds, so the requests of every variant serving it batch together.
"""

from __future__ import annotations

import bisect
import logging
import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openmaker.errors import ValidationError
from openmaker.hosting.batching import BatchSettings, MicroBatcher
from openmaker.hosting.capture import CaptureTarget, CaptureWriter
from openmaker.serving import LoadedModel
from openmaker.settings import get_settings
from openmaker.store import EndpointRecord, ModelRecord, Store

log = logging.getLogger("openmaker.serve")

SERVING_STATUSES = ("InService", "Updating")


def poll_seconds() -> float:
    """How often workers look for endpoint changes (``OPENMAKER_SERVE_POLL_SECONDS``)."""
    return float(os.environ.get("OPENMAKER_SERVE_POLL_SECONDS", "0.5"))


@dataclass(frozen=True)
class Variant:
    """One production variant as a worker serves it.

    Attributes:
        batcher: the model's micro-batcher (shared by every variant serving the same loaded
            model; one is made when none is given).
        header: the ``X-Amzn-Invoked-Production-Variant`` answer header, encoded.
    """

    name: str
    model_name: str
    model: LoadedModel
    weight: float
    capture: CaptureTarget | None
    batcher: MicroBatcher = field(default=None)  # type: ignore[assignment]
    header: tuple[bytes, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batcher is None:
            object.__setattr__(self, "batcher", MicroBatcher(self.model))
        # the answer's X-Amzn-Invoked-Production-Variant header, encoded once
        header = (b"x-amzn-invoked-production-variant", self.name.encode("latin-1"))
        object.__setattr__(self, "header", header)


@dataclass(frozen=True)
class Route:
    """An endpoint's live variants and its weighted draw."""

    endpoint: str
    revision: int
    variants: tuple[Variant, ...]
    by_name: dict[str, Variant] = field(default_factory=dict)
    cumulative: tuple[float, ...] = ()
    async_config: Mapping[str, Any] | None = None

    @classmethod
    def build(
        cls,
        endpoint: str,
        revision: int,
        variants: tuple[Variant, ...],
        async_config: Mapping[str, Any] | None = None,
    ) -> Route:
        """A route with its lookup table and cumulative weights.

        Args:
            endpoint: the endpoint's name.
            revision: the endpoint record's revision it was built from.
            variants: the live variants.
            async_config: the endpoint's ``AsyncInferenceConfig`` (None: no async invocations).
        """
        total = 0.0
        cumulative = []
        for v in variants:
            total += max(v.weight, 0.0)
            cumulative.append(total)
        return cls(
            endpoint,
            revision,
            variants,
            {v.name: v for v in variants},
            tuple(cumulative),
            async_config,
        )

    def choose(self, target: str | None = None) -> Variant:
        """The variant to serve a request (``target`` forces one by name).

        Raises:
            ValidationError: unknown target variant, or no variant has traffic weight.
        """
        if target:
            found = self.by_name.get(target)
            if found is None:
                raise ValidationError(
                    f"Target variant {target} not found for endpoint {self.endpoint}; "
                    f"variants: {', '.join(self.by_name)}"
                )
            return found
        if len(self.variants) == 1:
            return self.variants[0]
        total = self.cumulative[-1] if self.cumulative else 0.0
        if total <= 0:
            raise ValidationError(
                f"Endpoint {self.endpoint} has no production variant with a traffic weight "
                "above 0; name one with X-Amzn-SageMaker-Target-Variant"
            )
        i = bisect.bisect_right(self.cumulative, random.random() * total)
        return self.variants[min(i, len(self.variants) - 1)]


class RoutingTable:
    """Every servable endpoint of one worker, refreshed from the store.

    Args:
        store: the metadata store.
        capture: the worker's capture writer.
    """

    def __init__(self, store: Store, capture: CaptureWriter) -> None:
        self.store = store
        self.capture = capture
        self.routes: dict[str, Route] = {}
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._batchers: dict[int, MicroBatcher] = {}  # by id() of a model in self._models
        self.batch_settings = BatchSettings.from_env()
        self._failed: dict[str, int] = {}
        self._lock = threading.Lock()

    def not_found(self, endpoint: str) -> ValidationError:
        """The runtime's error for an unknown endpoint (SageMaker's wording)."""
        return ValidationError(
            f"Endpoint {endpoint} of account {get_settings().account_id} not found."
        )

    def refresh(self) -> bool:
        """Bring the table up to date with the store. Returns whether anything changed."""
        with self._lock:  # one refresh at a time per worker
            revisions = self.store.endpoints.revisions()
            current = self.routes
            fresh: dict[str, Route] = {}
            changed = False
            for name, (revision, status) in revisions.items():
                if status not in SERVING_STATUSES:
                    continue
                old = current.get(name)
                if old is not None and old.revision == revision:
                    fresh[name] = old
                    continue
                if self._failed.get(name) == revision:
                    if old is not None:
                        fresh[name] = old
                    continue
                try:
                    fresh[name] = self._build(self.store.endpoints.get(name))
                    changed = True
                except Exception:
                    log.exception("endpoint %s: cannot load revision %s", name, revision)
                    self._failed[name] = revision
                    if old is not None:
                        fresh[name] = old
            changed = changed or set(fresh) != set(current)
            if changed:
                self.routes = fresh  # one assignment: requests see the old or the new table
                self._forget_unused(fresh)
            return changed

    def _build(self, rec: EndpointRecord) -> Route:
        from openmaker.hosting.async_inference import stored_async_config

        variants = []
        for v in rec.production_variants:
            model = self._model(v["ModelName"])
            capture = self.capture.target(rec.name, v["VariantName"], rec.data_capture_config)
            batcher = self._batchers.get(id(model))
            if batcher is None or batcher.model is not model:
                batcher = self._batchers[id(model)] = MicroBatcher(model, self.batch_settings)
            variants.append(
                Variant(
                    name=v["VariantName"],
                    model_name=v["ModelName"],
                    model=model,
                    weight=float(v.get("CurrentWeight", 1.0)),
                    capture=capture,
                    batcher=batcher,
                )
            )
        async_config = stored_async_config(rec.production_variants)
        return Route.build(rec.name, rec.revision, tuple(variants), async_config)

    def _model(self, model_name: str) -> LoadedModel:
        from openmaker.errors import ResourceNotFoundError
        from openmaker.hosting.loading import load_record

        try:
            record: ModelRecord = self.store.models.get(model_name)
        except ResourceNotFoundError:
            for (cached_name, _), model in self._models.items():
                if cached_name == model_name:
                    return model
            raise
        key = (record.name, record.creation_time.isoformat())
        cached = self._models.get(key)
        if cached is None:
            cached = self._models[key] = load_record(record)
        return cached

    def _forget_unused(self, routes: dict[str, Route]) -> None:
        used = {id(v.model) for r in routes.values() for v in r.variants}
        self._models = {k: m for k, m in self._models.items() if id(m) in used}
        self._batchers = {k: b for k, b in self._batchers.items() if k in used}
