"""Data capture: sampled requests and responses in SageMaker's capture JSON Lines format.

Each captured invocation is one line::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "0.5", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2024-01-02T03:04:05Z",
                       "inferenceId": "...", "customAttributes": ["..."]},
     "eventVersion": "0"}

``encoding`` is ``CSV`` for the config's ``CsvContentTypes``, ``JSON`` for its
``JsonContentTypes`` (text kept as is) and ``BASE64`` otherwise. Files go to
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<MM-SS-mmm>-<uuid>.jsonl`` (UTC hour of
the invocation), through fsspec (local paths or ``s3://``); local files appear atomically.

The request path only draws the sample and appends a small tuple to a buffer; a daemon thread
encodes and writes the buffers every ``OPENMAKER_CAPTURE_FLUSH_SECONDS`` (default 1) and when
the worker stops. Capture never fails a request: write errors are logged and the batch is
dropped.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("openmaker.capture")


def flush_seconds() -> float:
    """How often the capture buffers are written (``OPENMAKER_CAPTURE_FLUSH_SECONDS``)."""
    return float(os.environ.get("OPENMAKER_CAPTURE_FLUSH_SECONDS", "1.0"))


@dataclass
class CaptureTarget:
    """Where and what one variant of one endpoint captures (built from a DataCaptureConfig)."""

    endpoint: str
    variant: str
    destination: str
    percentage: float
    capture_input: bool
    capture_output: bool
    csv_types: frozenset[str]
    json_types: frozenset[str]
    buffer: list[tuple[Any, ...]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(
        cls, endpoint: str, variant: str, config: Mapping[str, Any] | None
    ) -> CaptureTarget | None:
        """The target for a config, or None when capture is off."""
        if not config or not config.get("EnableCapture", True):
            return None
        pct = float(config.get("InitialSamplingPercentage", 0))
        if pct <= 0:
            return None
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
        headers = config.get("CaptureContentTypeHeader") or {}
        return cls(
            endpoint=endpoint,
            variant=variant,
            destination=str(config["DestinationS3Uri"]),
            percentage=pct,
            capture_input=bool(modes & {"Input", "InputAndOutput"}),
            capture_output=bool(modes & {"Output", "InputAndOutput"}),
            csv_types=frozenset(t.lower() for t in headers.get("CsvContentTypes") or ["text/csv"]),
            json_types=frozenset(
                t.lower() for t in headers.get("JsonContentTypes") or ["application/json"]
            ),
        )

    def sample(self) -> bool:
        """Whether this invocation is captured."""
        return self.percentage >= 100 or random.random() * 100 < self.percentage

    def add(
        self,
        body: bytes,
        content_type: str,
        output: bytes,
        output_type: str,
        inference_id: str | None,
        custom_attributes: str | None,
    ) -> None:
        """Buffer one invocation (cheap: encoding happens on the writer thread)."""
        item = (datetime.now(UTC), body, content_type, output, output_type, inference_id,
                custom_attributes)  # fmt: skip
        with self.lock:
            self.buffer.append(item)

    def drain(self) -> list[tuple[Any, ...]]:
        """Take the buffered invocations."""
        with self.lock:
            items, self.buffer = self.buffer, []
        return items

    # --- encoding -----------------------------------------------------------------------
    def _payload(self, data: bytes, content_type: str, mode: str) -> dict[str, str]:
        media = (content_type or "").split(";")[0].strip().lower()
        encoding = "BASE64"
        text: str | None = None
        if media in self.csv_types or media in self.json_types:
            try:
                text = data.decode("utf-8")
                encoding = "CSV" if media in self.csv_types else "JSON"
            except UnicodeDecodeError:
                text = None
        if text is None:
            text = base64.b64encode(data).decode("ascii")
        return {"observedContentType": content_type, "mode": mode, "data": text,
                "encoding": encoding}  # fmt: skip

    def line(self, item: tuple[Any, ...]) -> str:
        """One capture record as a JSON line."""
        when, body, ctype, output, otype, inference_id, custom = item
        data: dict[str, Any] = {}
        if self.capture_input:
            data["endpointInput"] = self._payload(body, ctype, "INPUT")
        if self.capture_output:
            data["endpointOutput"] = self._payload(output, otype, "OUTPUT")
        meta: dict[str, Any] = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{when.microsecond // 1000:03d}Z",
        }
        if inference_id:
            meta["inferenceId"] = inference_id
        if custom:
            meta["customAttributes"] = [custom]
        return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"})

    def write(self, items: list[tuple[Any, ...]]) -> list[str]:
        """Write items into one file per UTC hour; returns the URIs written."""
        from openmaker import uris

        by_hour: dict[datetime, list[str]] = {}
        for item in items:
            hour = item[0].replace(minute=0, second=0, microsecond=0)
            by_hour.setdefault(hour, []).append(self.line(item))
        written = []
        now = datetime.now(UTC)
        for hour, lines in by_hour.items():
            name = now.strftime("%M-%S-") + f"{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            uri = uris.join(self.destination, self.endpoint, self.variant,
                            hour.strftime("%Y"), hour.strftime("%m"), hour.strftime("%d"),
                            hour.strftime("%H"), name)  # fmt: skip
            _write_text(uri, "\n".join(lines) + "\n")
            written.append(uri)
        return written


def _write_text(uri: str, text: str) -> None:
    from openmaker import uris

    fs, path = uris.filesystem(uri)
    if uris.is_local(uri):
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    else:
        fs.pipe_file(path, text.encode("utf-8"))


class CaptureWriter:
    """The background thread that writes every target's buffer periodically."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = flush_seconds() if interval is None else interval
        self._targets: dict[tuple[str, str], CaptureTarget] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def target(
        self, endpoint: str, variant: str, config: Mapping[str, Any] | None
    ) -> CaptureTarget | None:
        """The (shared) target for an endpoint variant; a changed config replaces it."""
        fresh = CaptureTarget.from_config(endpoint, variant, config)
        with self._lock:
            old = self._targets.get((endpoint, variant))
            if fresh is None:
                if old is not None:
                    self._flush_one(old)
                    del self._targets[(endpoint, variant)]
                return None
            if old is not None and (old.destination, old.percentage, old.capture_input,
                                    old.capture_output) == (fresh.destination, fresh.percentage,
                                                            fresh.capture_input,
                                                            fresh.capture_output):  # fmt: skip
                return old
            if old is not None:
                self._flush_one(old)
            self._targets[(endpoint, variant)] = fresh
            self._ensure_thread()
            return fresh

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def _flush_one(self, target: CaptureTarget) -> None:
        items = target.drain()
        if not items:
            return
        try:
            target.write(items)
        except Exception:  # capture must never take the server down
            log.exception("data capture: could not write %d records", len(items))

    def flush(self) -> None:
        """Write every buffer now."""
        with self._lock:
            targets = list(self._targets.values())
        for target in targets:
            self._flush_one(target)

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
