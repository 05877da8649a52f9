"""CSV (``text/csv``): no header, label column(s) first, numeric cells only.

The fast path is ``pyarrow.csv`` (multithreaded parsing straight to float32, then a threaded
copy into one C-contiguous matrix). When pyarrow refuses the data, the file is scanned again
with the ``csv`` module to name the exact file, 1-based line and column of the problem.

Empty cells and pyarrow's null tokens (``NA``, ``nan``, ``null``...) become NaN. Blank lines are
skipped but still counted in line numbers.
"""

from __future__ import annotations

import csv as _csv
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import numpy as np

from openmaker.data.dataset import Dataset
from openmaker.data.sources import is_local, local_path, open_uri
from openmaker.errors import DataFormatError

DELIMITER_CANDIDATES = ",;\t| "
# pyarrow's default null tokens; the re-scan accepts the same cells the fast path accepts.
NULL_TOKENS = frozenset(
    ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
)  # fmt: skip
FILE_BLOCK_SIZE = 1 << 22  # measured best for pyarrow on 2 cores (1-16 MiB tried)


def sniff_delimiter(line: str) -> str:
    """Guess the delimiter of a CSV line, like SageMaker's XGBoost (``csv.Sniffer``).

    Only ``,`` ``;`` tab ``|`` and space are candidates; anything else (a single column, a
    letter or digit) falls back to ``,``.
    """
    line = line.strip("\r\n")
    if not line:
        return ","
    present = [d for d in DELIMITER_CANDIDATES if d in line]
    if len(present) == 1 and present[0] != " ":
        return present[0]  # unambiguous: skip the (slow) Sniffer, as on every numeric request
    try:
        delimiter = _csv.Sniffer().sniff(line, delimiters=DELIMITER_CANDIDATES).delimiter
    except _csv.Error:
        return ","
    return delimiter if delimiter in DELIMITER_CANDIDATES else ","


def first_line(fh: IO[bytes]) -> str | None:
    """The first non-blank line of a binary file object, decoded; ``None`` when there is none."""
    for raw in fh:
        line = raw.decode("utf-8", errors="replace").strip("\r\n")
        if line.strip():
            return line
    return None


def count_columns(line: str, delimiter: str, source: str | None = None) -> int:
    """Number of cells in the first line of a CSV text (quotes respected).

    Raises:
        DataFormatError: the line is not CSV (a carriage return or NUL inside a cell...).
    """
    try:
        return len(next(_csv.reader([line], delimiter=delimiter)))
    except _csv.Error as exc:
        raise DataFormatError(f"the first line is malformed CSV: {exc}", source=source) from None


def _cell_value(cell: str) -> float | None:
    if cell in NULL_TOKENS or cell.strip() in NULL_TOKENS:
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        return None


def python_rows(
    fh: IO[bytes], delimiter: str, ncols: int, source: str | None, first_line_no: int = 1
) -> Iterator[list[float]]:
    """Parse a CSV file object row by row, raising on the first bad row.

    This is the slow, exact path: it names the 1-based line (and column) of a problem.

    Raises:
        DataFormatError: a row with the wrong number of cells, or a cell that is not a number.
    """
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
    reader = _csv.reader(text, delimiter=delimiter)
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip() and ncols != 1):
                continue
            if len(cells) != ncols:
                raise DataFormatError(
                    f"expected {ncols} columns (as on the first line), found {len(cells)}",
                    source=source,
                    line=reader.line_num + first_line_no - 1,
                )
            row = []
            for j, cell in enumerate(cells):
                value = _cell_value(cell)
                if value is None:
                    raise DataFormatError(
                        f"column {j + 1}: {cell[:40]!r} is not a number",
                        source=source,
                        line=reader.line_num + first_line_no - 1,
                    )
                row.append(value)
            yield row
    except _csv.Error as exc:
        raise DataFormatError(
            f"malformed CSV: {exc}", source=source, line=reader.line_num + first_line_no - 1
        ) from None
    finally:
        text.detach()


def _options(delimiter: str, ncols: int, block_size: int) -> tuple[Any, Any, Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=block_size)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    convert = pacsv.ConvertOptions(column_types={f"f{i}": pa.float32() for i in range(ncols)})
    return read, parse, convert


def _batch_to_numpy(batch: Any, out: np.ndarray, start: int, columns: range) -> None:
    rows = slice(start, start + batch.num_rows)
    sub = batch.select(list(columns))
    if hasattr(sub, "to_tensor"):
        out[rows] = np.asarray(sub.to_tensor(null_to_nan=True, row_major=True)).reshape(
            batch.num_rows, len(columns)
        )
    else:  # pragma: no cover - pyarrow < 15
        for j in range(sub.num_columns):
            out[rows, j] = sub.column(j).to_numpy(zero_copy_only=False)


def table_to_matrices(table: Any, splits: list[range]) -> list[np.ndarray]:
    """Copy column groups of an all-float32 arrow table into C-contiguous float32 matrices.

    The copy runs in threads (numpy and arrow release the GIL), one record batch per task.
    """
    n = table.num_rows
    outs = [np.empty((n, len(cols)), dtype=np.float32) for cols in splits]
    batches = table.to_batches()
    tasks = []
    start = 0
    for batch in batches:
        for out, cols in zip(outs, splits, strict=True):
            if len(cols):
                tasks.append((batch, out, start, cols))
        start += batch.num_rows
    workers = min(len(tasks), os.cpu_count() or 1, 8)
    if workers > 1 and n * sum(len(c) for c in splits) >= 1 << 20:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda t: _batch_to_numpy(*t), tasks))
    else:
        for t in tasks:
            _batch_to_numpy(*t)
    return outs


def column_splits(ncols: int, label_size: int, weight_column: bool) -> list[range]:
    """Column ranges of (features, labels, weights) for a row of ``ncols`` cells."""
    w = 1 if weight_column else 0
    if label_size + w > ncols:
        raise DataFormatError(
            f"rows have {ncols} columns, fewer than label_size={label_size}"
            + (" plus the weight column" if w else "")
        )
    return [
        range(label_size + w, ncols),
        range(0, label_size),
        range(label_size, label_size + w),
    ]


def matrices_to_dataset(parts: list[np.ndarray], label_size: int, weight_column: bool) -> Dataset:
    """A dataset from the (features, labels, weights) matrices of :func:`table_to_matrices`."""
    X, y, w = parts
    labels = None
    if label_size == 1:
        labels = y.reshape(-1)
    elif label_size > 1:
        labels = y
    weights = w.reshape(-1) if weight_column else None
    return Dataset(X=X, y=labels, weights=weights)


def split_matrix(M: np.ndarray, label_size: int, weight_column: bool) -> Dataset:
    """Split a full row matrix (from the slow path) into features, labels and weights."""
    splits = column_splits(M.shape[1], label_size, weight_column)
    parts = [np.ascontiguousarray(M[:, cols.start : cols.stop]) for cols in splits]
    return matrices_to_dataset(parts, label_size, weight_column)


def _arrow_error() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def _header_check(uri: str, delimiter: str, ncols: int) -> bool:
    """Whether the file has data; raises when its first line has the wrong width."""
    with open_uri(uri) as fh:
        line = first_line(fh)
    if line is None:
        return False
    found = count_columns(line, delimiter, uri)
    if found != ncols:
        with open_uri(uri) as fh:
            for _ in python_rows(fh, delimiter, ncols, uri):
                pass  # raises with the line number
    return True


def read_file(
    uri: str, delimiter: str, ncols: int, label_size: int, weight_column: bool
) -> Dataset | None:
    """Read one CSV file into memory; ``None`` when it has no rows.

    Raises:
        DataFormatError: naming the file, line and column of the first bad cell or row.
    """
    import pyarrow.csv as pacsv

    if not _header_check(uri, delimiter, ncols):
        return None
    splits = column_splits(ncols, label_size, weight_column)
    read, parse, convert = _options(delimiter, ncols, FILE_BLOCK_SIZE)
    try:
        if is_local(uri):
            path = local_path(uri)
            with open(path, "rb") as raw:
                gz = raw.read(2) == b"\x1f\x8b"
            if gz:
                with open_uri(uri) as fh:
                    table = pacsv.read_csv(fh, read, parse, convert)
            else:
                table = pacsv.read_csv(path, read, parse, convert)
        else:
            with open_uri(uri) as fh:
                table = pacsv.read_csv(fh, read, parse, convert)
    except _arrow_error():
        with open_uri(uri) as fh:
            M = np.array(list(python_rows(fh, delimiter, ncols, uri)), dtype=np.float32)
        return split_matrix(M.reshape(-1, ncols), label_size, weight_column)
    parts = table_to_matrices(table, splits)
    return matrices_to_dataset(parts, label_size, weight_column)


def iter_file(
    uri: str,
    delimiter: str,
    ncols: int,
    label_size: int,
    weight_column: bool,
    batch_size: int,
    bytes_per_row: int,
) -> Iterator[Dataset]:
    """Stream one CSV file in blocks of about ``batch_size`` rows (sizes vary; re-batch after).

    The file is read in chunks of whole lines, each parsed on its own, so memory holds one
    chunk of text and its rows, never the whole file. (``pyarrow.csv.open_csv`` is not used:
    it reads many blocks ahead.) Quoted cells spanning lines are not supported here.
    """
    if not _header_check(uri, delimiter, ncols):
        return
    splits = column_splits(ncols, label_size, weight_column)
    block = int(min(max(bytes_per_row * batch_size, 1 << 16), 1 << 26))
    line_no = 1
    rest = b""
    with open_uri(uri) as fh:
        while True:
            chunk = fh.read(block)
            data = rest + chunk
            if chunk:
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                rest, data = data[cut + 1 :], data[: cut + 1]
            if data.strip():
                M = parse_chunk(data, delimiter, ncols, uri, line_no, splits)
                yield matrices_to_dataset(M, label_size, weight_column)
            if not chunk:
                return
            line_no += data.count(b"\n")


def parse_chunk(
    data: bytes,
    delimiter: str,
    ncols: int,
    source: str | None,
    first_line_no: int,
    splits: list[range],
) -> list[np.ndarray]:
    """Parse whole lines of CSV into the matrices of ``splits`` (fast path, exact on error).

    Raises:
        DataFormatError: naming the line (counted from ``first_line_no``) of the first problem.
    """
    import pyarrow.csv as pacsv

    read, parse, convert = _options(delimiter, ncols, min(FILE_BLOCK_SIZE, 1 << 20))
    try:
        table = pacsv.read_csv(io.BytesIO(data), read, parse, convert)
        if table.num_columns == ncols:
            return table_to_matrices(table, splits)
    except _arrow_error():
        pass
    rows = list(python_rows(io.BytesIO(data), delimiter, ncols, source, first_line_no))
    M = np.array(rows, dtype=np.float32).reshape(-1, ncols)
    return [np.ascontiguousarray(M[:, c.start : c.stop]) for c in splits]


#: Request bodies up to this size are parsed in Python (faster than pyarrow's set-up for them).
SMALL_BODY_BYTES = 16 * 1024
#: Bodies with more columns than this try numpy first (pyarrow's cost grows with the columns).
WIDE_COLUMNS = 1024


#: The only bytes of a body :func:`plain_numbers` takes (with the delimiter).
_PLAIN_BYTES = b"0123456789.eE+- \t\n"


def plain_numbers(
    body: bytes, delimiter: str, ncols: int, dtype: Any = np.float32
) -> np.ndarray | None:
    """A body of plain decimal numbers, ``ncols`` a line, parsed by numpy in one call; None
    for anything else (then the exact path parses it, and names any problem).

    Made only of digits, signs, points, exponents and whitespace, a cell reads the same with
    numpy and with ``float()`` (the exact path), or neither accepts it; empty cells, null
    tokens, quotes and blank lines are left to the exact path.
    """
    sep = delimiter.encode()
    if b"\r" in body:  # CRLF line ends only: a lone CR ends a row for the csv module
        body = body.replace(b"\r\n", b"\n")
    if body.translate(None, _PLAIN_BYTES + sep):
        return None
    lines = body.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    if not lines or any(line.count(sep) != ncols - 1 for line in lines):
        return None
    try:
        values = np.array(sep.join(lines).split(sep), dtype=np.float64)
    except ValueError:
        return None
    return values.astype(dtype, copy=False).reshape(len(lines), ncols)


def parse_bytes(body: bytes, delimiter: str | None = None, source: str | None = None) -> np.ndarray:
    """Parse an in-memory CSV body (an inference request) into a float32 matrix.

    Raises:
        DataFormatError: naming the 1-based line (and column) of the first bad row or cell.
    """
    import pyarrow.csv as pacsv

    line = first_line(io.BytesIO(body))
    if line is None:
        return np.zeros((0, 0), dtype=np.float32)
    delimiter = delimiter or sniff_delimiter(line)
    ncols = count_columns(line, delimiter, source)
    if len(body) <= SMALL_BODY_BYTES:
        # pyarrow's per-call set-up (~0.3-0.5 ms) dwarfs parsing a few rows in Python.
        plain = plain_numbers(body, delimiter, ncols)
        if plain is not None:
            return plain
        rows = list(python_rows(io.BytesIO(body), delimiter, ncols, source))
        return np.array(rows, dtype=np.float32).reshape(-1, ncols)
    if ncols > WIDE_COLUMNS:
        # pyarrow sets up each column (200,000 columns: 0.5 s); numpy reads them in 40 ms
        plain = plain_numbers(body, delimiter, ncols)
        if plain is not None:
            return plain
    read, parse, convert = _options(delimiter, ncols, FILE_BLOCK_SIZE)
    try:
        table = pacsv.read_csv(io.BytesIO(body), read, parse, convert)
        if table.num_columns != ncols:
            raise DataFormatError(f"expected {ncols} columns", source=source, line=1)
        (M,) = table_to_matrices(table, [range(ncols)])
        return M
    except _arrow_error():
        rows = list(python_rows(io.BytesIO(body), delimiter, ncols, source))
        return np.array(rows, dtype=np.float32).reshape(-1, ncols)


# --- writing ----------------------------------------------------------------------------------


def encode(ds: Dataset) -> bytes:
    """CSV text for a dataset: label column(s), then the weight (if any), then the features.

    Floats are written in the shortest form that reads back to the same float32; NaN is an
    empty cell.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    X = ds.X.toarray() if ds.is_sparse else ds.X  # type: ignore[union-attr]
    columns: list[np.ndarray] = []
    if ds.y is not None:
        y = np.asarray(ds.y, dtype=np.float32)
        columns.extend(y.T if y.ndim == 2 else [y])
    if ds.weights is not None:
        columns.append(np.asarray(ds.weights, dtype=np.float32))
    X = np.asarray(X, dtype=np.float32)
    columns.extend(X.T)
    if not columns or ds.n_rows == 0:
        return b""
    arrays = [pa.array(c, type=pa.float32(), from_pandas=True) for c in columns]
    table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()
