"""One transform request through the model, with ``DataProcessing`` and bad-record handling.

Fast path (no filters, no join): the request body goes to ``model.predict`` as is. When it
fails, it is predicted again in halves, and the failing halves in halves again, until the bad
records stand alone (a few dozen calls for a bad record among 100,000): with
``BadRecordPolicy`` ``Fail`` (default) the first raises
:class:`~openmaker.transform.splitting.RecordError` (file and record number); with ``Skip``
every bad record is left out and reported.

Filters (``InputFilter`` / ``JoinSource`` / ``OutputFilter``) work per record: a ``text/csv``
record is the array of its cells, a JSON Lines / JSON record is the parsed value. The model's
answer is split per record (``text/csv`` and ``application/jsonlines``: lines;
``application/json``: the ``predictions`` list) and must have one result per record. Joined
CSV appends the output cells to the input cells; joined JSON puts the output in
``SageMakerOutput`` (``{"SageMakerInput": ..., "SageMakerOutput": ...}`` for non-objects).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from openmaker.errors import OpenmakerError, ValidationError
from openmaker.transform import jsonpath
from openmaker.transform.splitting import (
    ByteRange,
    RecordError,
    Request,
    line_count,
    read_range,
    split_records,
)

JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines")


@dataclass(frozen=True)
class Settings:
    """What every request of a job shares (picklable: sent to the pool workers)."""

    content_type: str
    accept: str | None
    split_type: str
    assemble_with: str
    input_filter: str = "$"
    output_filter: str = "$"
    join_source: str = "None"
    skip_bad_records: bool = False
    sources: tuple[str, ...] = ()

    @property
    def per_record(self) -> bool:
        """Whether records must be handled one by one (filters or join)."""
        return self.input_filter != "$" or self.output_filter != "$" or self.join_source == "Input"


@dataclass
class Result:
    """A request's output bytes, the records it covered and the records skipped.

    Attributes:
        relative: record numbers (``skipped``, ``error``) count from the request's first
            line, not the file's (a :class:`~openmaker.transform.splitting.ByteRange`).
        error: ``(record number, message)`` of the record that failed the request (with
            ``BadRecordPolicy`` ``Fail``); the supervisor raises it.
    """

    file_index: int
    count: int
    output: bytes
    skipped: list[tuple[int, str]] = field(default_factory=list)
    last: bool = False
    relative: bool = False
    error: tuple[int, str] | None = None


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_filters(settings: Settings) -> None:
    """Refuse filters that cannot apply (called when the job is created)."""
    jsonpath.parse(settings.input_filter, "DataProcessing.InputFilter")
    jsonpath.parse(settings.output_filter, "DataProcessing.OutputFilter")
    if settings.per_record:
        if _media(settings.content_type) not in ("text/csv", *JSON_TYPES):
            raise ValidationError(
                "DataProcessing filters and JoinSource need TransformInput.ContentType text/csv, "
                f"application/json or application/jsonlines; got {settings.content_type!r}"
            )
        if settings.split_type == "RecordIO":
            raise ValidationError("DataProcessing filters do not apply to SplitType RecordIO")


class Transformer:
    """Predicts requests with one loaded model (one per pool worker)."""

    def __init__(self, model: Any, settings: Settings) -> None:
        self.model = model
        self.s = settings
        self.input_steps = jsonpath.parse(settings.input_filter)
        self.output_steps = jsonpath.parse(settings.output_filter)
        self.csv_in = _media(settings.content_type) == "text/csv"

    def run_range(self, task: ByteRange, fds: dict[str, int] | None = None) -> Result:
        """Read and transform a byte range; a failing record comes back in ``Result.error``."""
        body = read_range(task.path, task.start, task.end, fds)
        count = line_count(body)
        request = Request(task.file_index, 1, count, body if body.strip() else b"", task.last)
        try:
            result = self.run(request)
        except RecordError as exc:
            return Result(task.file_index, count, b"", last=task.last, relative=True,
                          error=(exc.record, exc.detail))  # fmt: skip
        result.relative = True
        return result

    def run(self, request: Request) -> Result:
        """Transform one request."""
        result = Result(request.file_index, request.count, b"", last=request.last)
        if not request.body:
            return result
        if not self.s.per_record:
            try:
                out, _ = self.model.predict(request.body, self.s.content_type, self.s.accept)
                result.output = self._assemble([out])
                return result
            except Exception as exc:
                if request.count <= 1 and not self.s.skip_bad_records:
                    raise self._record_error(exc, request, request.first_record) from exc
        records = split_records(request.body, self.s.split_type)
        present = [(offset, r) for offset, r in enumerate(records) if r is not None]
        outputs: list[bytes] = []
        # the whole request failed (fast path): go straight to its halves
        self._locate(present, request, result, outputs, failed=not self.s.per_record)
        result.output = self._assemble(outputs)
        return result

    def _locate(self, part: list[tuple[int, bytes]], request: Request, result: Result,
                outputs: list[bytes], *, failed: bool) -> None:  # fmt: skip
        """Predict ``part`` (``(offset, record)`` pairs), halving it until the bad records
        stand alone: about ``2 log2(n)`` calls per bad record instead of one call per record.
        A bad record raises (``Fail``) or goes to ``result.skipped``; the good ones' outputs,
        in order, go to ``outputs``.
        """
        if not part:
            return
        if not failed or len(part) == 1:
            try:
                outputs.extend(self._filtered_batch([r for _, r in part], request))
                return
            except Exception as exc:
                if len(part) == 1:
                    number = request.first_record + part[0][0]
                    err = self._record_error(exc, request, number)
                    if not self.s.skip_bad_records:
                        raise err from exc
                    result.skipped.append((number, err.detail))
                    return
        mid = len(part) // 2
        self._locate(part[:mid], request, result, outputs, failed=False)
        self._locate(part[mid:], request, result, outputs, failed=False)

    # --- per record -------------------------------------------------------------------------
    def _filtered_batch(self, records: list[bytes | None], request: Request) -> list[bytes]:
        present = [r for r in records if r is not None]
        if not self.s.per_record:
            out, _ = self.model.predict(b"\n".join(present) if self.s.split_type == "Line"
                                        else b"".join(present), self.s.content_type,
                                        self.s.accept)  # fmt: skip
            return [out]
        parsed = [self._parse(r) for r in present]
        filtered = [jsonpath.apply(self.input_steps, p) for p in parsed]
        body = b"\n".join(self._encode_input(f) for f in filtered)
        out, out_type = self.model.predict(body, self.s.content_type, self.s.accept)
        results = self._split_output(out, out_type)
        if len(results) != len(present):
            raise ValidationError(
                f"the model returned {len(results)} results for {len(present)} records; "
                "JoinSource and OutputFilter need one result per record"
            )
        lines = []
        for original, output in zip(parsed, results, strict=True):
            joined = self._join(original, output) if self.s.join_source == "Input" else output
            lines.append(self._encode_output(jsonpath.apply(self.output_steps, joined)))
        return lines

    def _parse(self, record: bytes) -> Any:
        text = record.decode("utf-8")
        if self.csv_in:
            return next(csv.reader([text]))
        from openmaker import json_input

        return json_input.loads(text)  # an input record: deep or odd JSON is a user error

    def _encode_input(self, value: Any) -> bytes:
        if self.csv_in:
            return _csv_line(value if isinstance(value, list) else [value])
        return json.dumps(value).encode("utf-8")

    def _split_output(self, out: bytes, out_type: str) -> list[Any]:
        media = _media(out_type)
        if media == "application/json":
            data = json.loads(out)
            if isinstance(data, dict) and isinstance(data.get("predictions"), list):
                return list(data["predictions"])
            return data if isinstance(data, list) else [data]
        lines = [line for line in out.decode("utf-8").splitlines() if line.strip()]
        if media in JSON_TYPES:
            return [json.loads(line) for line in lines]
        if media == "text/csv":
            return [next(csv.reader([line])) for line in lines]
        raise ValidationError(
            f"JoinSource and OutputFilter need text/csv or JSON output; the model answered "
            f"{out_type!r}"
        )

    def _join(self, original: Any, output: Any) -> Any:
        if self.csv_in:
            tail = output if isinstance(output, list) else [output]
            return [*original, *tail]
        if isinstance(output, list) and len(output) == 1 and not isinstance(output[0], dict):
            output = output[0]
        if isinstance(original, dict):
            return {**original, "SageMakerOutput": output}
        return {"SageMakerInput": original, "SageMakerOutput": output}

    def _encode_output(self, value: Any) -> bytes:
        if self.csv_in and not isinstance(value, dict):
            return _csv_line(value if isinstance(value, list) else [value])
        return json.dumps(value).encode("utf-8")

    # --- helpers ----------------------------------------------------------------------------
    def _assemble(self, outputs: list[bytes]) -> bytes:
        if self.s.assemble_with != "Line":
            return b"".join(outputs)
        return b"".join(o if o.endswith(b"\n") else o + b"\n" for o in outputs if o)

    def _record_error(self, exc: BaseException, request: Request, number: int) -> RecordError:
        source = self.s.sources[request.file_index] if self.s.sources else "input"
        if isinstance(exc, RecordError):
            return exc
        detail = exc.message if isinstance(exc, OpenmakerError) else f"{type(exc).__name__}: {exc}"
        return RecordError(detail, source=source, record=number)


def _csv_line(values: list[Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(
        [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
    )
    return buf.getvalue().encode("utf-8")


# --- pool worker entry points ----------------------------------------------------------------
_WORKER: Transformer | None = None
_FDS: dict[str, int] = {}  # a worker's open input files


def adopt(transformer: Transformer) -> None:
    """Make ``transformer`` the one pool workers forked from this process use.

    The supervisor loads the model once and forks its workers after this call: they share
    the loaded model (copy on write) instead of each importing and loading it again.
    """
    global _WORKER
    _WORKER = transformer


def init_forked_worker(threads: int) -> None:
    """Pool initializer (after fork): cap the math threads at this worker's share."""
    import os

    os.environ["SAGEMAKER_BATCH"] = "true"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # the libraries loaded before the fork read the environment


def make_transformer(model_record: Any, settings: Settings) -> Transformer:
    """Load the model (see :func:`load_model_lean`) and wrap it."""
    return Transformer(load_model_lean(model_record), settings)


def load_model_lean(model_record: Any) -> Any:
    """``load_record``, with scikit-learn hidden from the imports while the model loads.

    XGBoost imports scikit-learn (and with it SciPy's statistics and pandas) eagerly, only to
    define its scikit-learn wrappers, which predicting never uses: about a second of CPU per
    transform job on a small machine, as long as the prediction of a million rows. If the
    model needs scikit-learn after all, it is loaded again with it.
    """
    import sys

    from openmaker.hosting.loading import load_record

    if "sklearn" in sys.modules:  # already imported: nothing to save
        return load_record(model_record)
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # import sklearn -> ImportError
    try:
        return load_record(model_record)
    except ImportError:
        pass
    finally:
        if "sklearn" in sys.modules and sys.modules["sklearn"] is None:
            del sys.modules["sklearn"]
    return load_record(model_record)


def run_task(
    transformer: Transformer, task: Request | ByteRange, fds: dict[str, int] | None = None
) -> Result:
    """Transform a request, or read and transform a byte range (``fds``: open files)."""
    if isinstance(task, ByteRange):
        return transformer.run_range(task, fds)
    return transformer.run(task)


def run_in_worker(task: Request | ByteRange) -> Result:
    """Pool task: transform one request (or byte range) with this worker's model."""
    assert _WORKER is not None
    return run_task(_WORKER, task, _FDS)
