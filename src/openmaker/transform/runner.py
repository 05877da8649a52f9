"""The transform supervisor: ``python -m openmaker.transform.runner _transform/NAME``.

It lists the input (a file, a folder or a prefix; local or ``s3://``), cuts each file into
requests (:mod:`openmaker.transform.splitting`), predicts them with
``MaxConcurrentTransforms`` worker processes, and writes
``<S3OutputPath>/<path under the input prefix>.out`` per input file, atomically, in input
order. One transform runs in this process. With more, the supervisor loads the model once and
then forks the workers (they share it; each pins its math threads to its share of the CPUs).
A local, uncompressed file split by ``Line`` into ``MultiRecord`` requests is handed out as
byte ranges that each worker reads itself, so the supervisor only plans the cuts and writes
the answers while the workers read, parse and predict; other inputs are read here and sent to
the workers. At most ``2 * MaxConcurrentTransforms`` requests are in flight, so memory does
not grow with the input. Progress goes to the store about once a second, log lines to stdout
(the job's ``runner.log``). A stop request ends the workers and removes the outputs already
written (as SageMaker stores no output for a stopped job). Any record that fails fails the job
with the file and record number, unless ``BadRecordPolicy`` is ``Skip``.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any

from openmaker import artifacts, uris
from openmaker.errors import OpenmakerError, PlatformError
from openmaker.store import Store, TransformJobRecord
from openmaker.store.types import utcnow
from openmaker.transform.predicting import Result, Settings
from openmaker.transform.splitting import (
    ByteRange,
    RecordError,
    Request,
    iter_requests,
    plan_line_ranges,
)

PROGRESS_SECONDS = 1.0


class Stopped(Exception):
    """The job was asked to stop."""


def log(message: str) -> None:
    """One log line, flushed."""
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


def output_uri(output: str, input_root: str, source: str, single: bool) -> str:
    """``<output>/<path of source under the input>.out``."""
    if single:
        rel = os.path.basename(source.rstrip("/"))
    else:
        root = input_root.rstrip("/")
        rel = (
            source[len(root) :].lstrip("/") if source.startswith(root) else os.path.basename(source)
        )
    return uris.join(output, rel + ".out")


class TransformRunner:
    """Runs one transform job from ``InProgress`` to a terminal status."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self.record: TransformJobRecord = store.transform_jobs.get(name)
        self.req = self.record.request
        self.progress = dict(self.record.progress)
        self.written: list[str] = []
        self.skipped: list[dict[str, Any]] = []
        self._last_progress = 0.0

    def run(self) -> None:
        """Run the job; every error ends it ``Failed`` with the reason."""
        try:
            self._run()
            self._finish("Completed")
        except Stopped:
            self._remove_outputs()
            self._finish("Stopped")
        except OpenmakerError as exc:
            log(f"failed: {exc.failure_reason}")
            self._finish("Failed", exc.failure_reason)
        except Exception as exc:
            traceback.print_exc()
            self._finish("Failed", PlatformError(f"{type(exc).__name__}: {exc}").failure_reason)

    # --- phases --------------------------------------------------------------------------
    def _run(self) -> None:
        from openmaker.data import manifest

        self.store.transform_jobs.update(self.name, transform_start_time=utcnow())
        tin, tout = self.req["TransformInput"], self.req["TransformOutput"]
        source = tin["DataSource"]["S3DataSource"]
        data = manifest.resolve(source)  # a prefix, or a manifest's objects (named after it)
        root, files = data.base, data.files
        single = (
            data.data_type != manifest.MANIFEST_FILE
            and len(files) == 1
            and files[0].rstrip("/") == root.rstrip("/").removeprefix("file://")
        )
        self.progress["FilesTotal"] = len(files)
        self._save_progress(force=True)
        log(
            f"transforming {len(files)} file(s) from {source['S3Uri']} "
            f"with model {self.record.model_name}"
        )
        processing = self.req["DataProcessing"]
        settings = Settings(
            content_type=tin["ContentType"],
            accept=tout.get("Accept"),
            split_type=tin["SplitType"],
            assemble_with=tout["AssembleWith"],
            input_filter=processing["InputFilter"],
            output_filter=processing["OutputFilter"],
            join_source=processing["JoinSource"],
            skip_bad_records=self.req.get("BadRecordPolicy") == "Skip",
            sources=tuple(files),
        )
        outputs = [output_uri(tout["S3OutputPath"], root, f, single) for f in files]
        workers = int(self.req["MaxConcurrentTransforms"])
        model_record = self.store.models.get(self.record.model_name)
        for key, value in self.req.get("Environment", {}).items():
            os.environ[key] = str(value)
        os.environ["SAGEMAKER_BATCH"] = "true"
        if self.record.executor == "ray":  # the files are dealt out across the cluster
            from openmaker.transform.distributed import transform_on_ray

            results = transform_on_ray(self.req, model_record, settings, files, log)
            self._write(results, outputs, files)
        elif workers <= 1:
            from openmaker.transform.predicting import make_transformer, run_task

            transformer = make_transformer(model_record, settings)
            fds: dict[str, int] = {}
            try:
                self._write(
                    (run_task(transformer, task, fds) for task in self._tasks(files, settings)),
                    outputs,
                    files,
                )
            finally:
                for fd in fds.values():
                    os.close(fd)
        else:
            self._run_pool(workers, model_record, settings, outputs, files)
        if self.skipped:
            report = uris.join(tout["S3OutputPath"], "_skipped-records.jsonl")
            self._put(report, "".join(json.dumps(s) + "\n" for s in self.skipped).encode())
            log(f"skipped {len(self.skipped)} bad record(s); listed in {report}")

    def _run_pool(
        self,
        workers: int,
        model_record: Any,
        settings: Settings,
        outputs: list[str],
        files: list[str],
    ) -> None:
        from openmaker.transform import predicting

        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)  # read by the math libraries the model loads
        predicting.adopt(predicting.make_transformer(model_record, settings))
        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(workers, initializer=predicting.init_forked_worker, initargs=(threads,))
        try:

            def results() -> Iterator[Result]:
                window: deque[Any] = deque()
                for task in self._tasks(files, settings):
                    window.append(pool.apply_async(predicting.run_in_worker, (task,)))
                    if len(window) >= 2 * workers:
                        yield window.popleft().get()
                while window:
                    yield window.popleft().get()

            self._write(results(), outputs, files)
            pool.close()
        finally:
            pool.terminate()
            pool.join()

    def _tasks(self, files: list[str], settings: Settings) -> Iterator[Request | ByteRange]:
        """Byte ranges where the workers can read the file themselves, requests elsewhere."""
        from openmaker.data import open_uri

        limit = int(self.req["MaxPayloadInMB"]) * 1024 * 1024
        ranged = settings.split_type == "Line" and self.req["BatchStrategy"] == "MultiRecord"
        for index, source in enumerate(files):
            if ranged and _plain_local_file(source):
                yield from plan_line_ranges(
                    uris.local_path(source), file_index=index, source=source, max_payload=limit
                )
                continue
            with open_uri(source) as fh:
                yield from iter_requests(
                    fh,
                    file_index=index,
                    source=source,
                    split_type=settings.split_type,
                    strategy=self.req["BatchStrategy"],
                    max_payload=limit,
                )

    def _write(self, results: Iterator[Result], outputs: list[str], files: list[str]) -> None:
        current: Any = None
        tmp_path = ""
        first = 1  # the number of the current file's next record
        for result in results:
            base = first - 1 if result.relative else 0  # renumber from the file's first line
            first += result.count
            if result.error is not None:
                number, message = result.error
                raise RecordError(message, source=files[result.file_index], record=base + number)
            if current is None:
                target = outputs[result.file_index]
                folder = None
                if uris.is_local(target):  # write next to the target: a rename, not a copy
                    folder = os.path.dirname(uris.local_path(target)) or "."
                    os.makedirs(folder, exist_ok=True)
                fd, tmp_path = tempfile.mkstemp(prefix=".transform-", suffix=".tmp", dir=folder)
                current = os.fdopen(fd, "wb")
            current.write(result.output)
            self.progress["RecordsDone"] += result.count
            for number, message in result.skipped:
                entry = {"file": files[result.file_index], "record": base + number,
                         "error": message}  # fmt: skip
                self.skipped.append(entry)
                self.progress["RecordsSkipped"] += 1
                log(f"skipped {entry['file']}, record {number}: {message}")
            if result.last:
                first = 1
                current.close()
                current = None
                target = outputs[result.file_index]
                if uris.is_local(target):
                    os.replace(tmp_path, uris.local_path(target))
                else:
                    artifacts.upload(tmp_path, target)
                    os.unlink(tmp_path)
                self.written.append(target)
                self.progress["FilesDone"] += 1
                log(f"wrote {target}")
            self._save_progress()
        if current is not None:
            current.close()
            os.unlink(tmp_path)

    # --- store -----------------------------------------------------------------------------
    def _save_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_SECONDS:
            return
        self._last_progress = now
        rec = self.store.transform_jobs.update(self.name, progress=dict(self.progress))
        if rec is not None and rec.status == "Stopping":
            raise Stopped()

    def _finish(self, status: str, reason: str | None = None) -> None:
        fields: dict[str, Any] = {"progress": dict(self.progress), "transform_end_time": utcnow()}
        if reason:
            fields["failure_reason"] = reason[:1024]
        allowed = ("Stopping",) if status == "Stopped" else ("InProgress", "Stopping")
        if status == "Completed" and self.store.transform_jobs.get(self.name).status == "Stopping":
            self._remove_outputs()
            status, allowed = "Stopped", ("Stopping",)
        self.store.transform_jobs.update(self.name, only_if_status=allowed, status=status, **fields)
        log(f"transform job {status}")

    def _remove_outputs(self) -> None:
        for uri in self.written:
            fs, path = uris.filesystem(uri)
            with contextlib.suppress(OSError):
                fs.rm(path)
        self.written = []

    @staticmethod
    def _put(uri: str, data: bytes) -> None:
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            artifacts.upload(tmp.name, uri)
        finally:
            os.unlink(tmp.name)


def _plain_local_file(source: str) -> bool:
    """Whether ``source`` is a local file that is not gzip-compressed (workers can read it)."""
    from openmaker.data.sources import GZIP_MAGIC

    if not uris.is_local(source):
        return False
    try:
        with open(uris.local_path(source), "rb") as f:
            return f.read(2) != GZIP_MAGIC
    except OSError:
        return False  # reported by the streaming path, with its usual error


def main(argv: list[str] | None = None) -> None:
    """Entry point: the argument is ``_transform/<job name>``."""
    from openmaker.store import open_store

    args = sys.argv[1:] if argv is None else argv
    name = args[0].split("/", 1)[-1]
    with open_store() as store:
        TransformRunner(store, name).run()


if __name__ == "__main__":
    main()
