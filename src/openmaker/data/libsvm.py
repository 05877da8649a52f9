"""LibSVM (``text/libsvm``): ``label[:weight] index:value index:value ...`` per line -> CSR.

Indices are **zero-based**, as SageMaker's XGBoost documents: index ``i`` is column ``i``.
A file written with one-based indices therefore reads with an extra, empty column 0 (nothing
is shifted or guessed). The width is ``max index + 1`` unless ``n_features`` says otherwise.

Parsing is vectorised over whole blocks of bytes: numpy finds token and line boundaries and
counts colons, pyarrow's CSV parser turns every number of the block into a float64 in one
call. Only when something is wrong is the block re-read line by line in Python, to name the
exact 1-based line. Blank lines are skipped (and counted). When only some lines carry a
``:weight``, the others get weight 1.0.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from openmaker.data.dataset import Dataset
from openmaker.errors import DataFormatError

BLOCK_BYTES = 1 << 24  # file-mode block: bounds the temporaries of the vectorised parser

_NL, _SP, _TAB, _CR, _COLON = 10, 32, 9, 13, 58


@dataclass
class Block:
    """The rows of one parsed block, as CSR pieces."""

    labels: np.ndarray  # float32 (n,)
    weights: np.ndarray | None  # float32 (n,)
    indptr: np.ndarray  # int64 (n + 1,)
    indices: np.ndarray  # int64 (nnz,)
    values: np.ndarray  # float32 (nnz,)

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    @property
    def width(self) -> int:
        return int(self.indices.max()) + 1 if len(self.indices) else 0


def _parse_numbers(buf: np.ndarray) -> np.ndarray | None:
    """Every number in ``buf`` (fields separated by newlines) as float64; ``None`` on failure."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(buf.tobytes()),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter="\x01", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={"f0": pa.float64()}),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_columns != 1:
        return None
    return table.column(0).to_numpy()


def parse_block(
    data: bytes, source: str | None, first_line: int = 1, *, inference: bool = False
) -> Block:
    """Parse complete lines of libsvm text.

    Args:
        data: whole lines (a final line without ``\\n`` is fine).
        source: named in errors.
        first_line: the 1-based line number of the first line in ``data``.
        inference: request mode: a first token without ``:`` is an (ignored) label, and lines
            without a label token are fine; labels come back as NaN.

    Raises:
        DataFormatError: naming the line of the first malformed token.
    """
    if not data.endswith(b"\n"):
        data = data + b"\n"
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = buf == _NL
    ws = nl | (buf == _SP) | (buf == _TAB) | (buf == _CR)
    prev_ws = np.empty_like(ws)
    prev_ws[0] = True
    prev_ws[1:] = ws[:-1]
    starts = np.flatnonzero(~ws & prev_ws)
    ends = np.flatnonzero(~ws[:-1] & ws[1:]) + 1
    nl_pos = np.flatnonzero(nl)
    tok_line = np.searchsorted(nl_pos, starts)
    colon_pos = np.flatnonzero(buf == _COLON)
    colons = np.searchsorted(colon_pos, ends) - np.searchsorted(colon_pos, starts)
    del ws, prev_ws, nl

    is_first = np.ones(len(starts), dtype=bool)
    is_first[1:] = tok_line[1:] != tok_line[:-1]
    if inference:
        is_label = is_first & (colons == 0)
        bad = ~is_label & (colons != 1)
    else:
        is_label = is_first
        bad = np.where(is_label, colons > 1, colons != 1)
    if bad.any():
        _raise_at_line(data, source, first_line, int(tok_line[np.argmax(bad)]), inference)

    n_fields = colons + 1
    field_start = np.zeros(len(starts), dtype=np.int64)
    np.cumsum(n_fields[:-1], out=field_start[1:])
    fields = buf.copy()
    fields[(fields == _COLON) | (fields == _SP) | (fields == _TAB) | (fields == _CR)] = _NL
    numbers = _parse_numbers(fields) if len(starts) else np.zeros(0)
    if numbers is None or len(numbers) != int(n_fields.sum()):
        _raise_at_line(data, source, first_line, None, inference)
    assert numbers is not None

    row_of_tok = np.cumsum(is_first) - 1
    n_rows = int(is_first.sum())
    label_toks = np.flatnonzero(is_label)
    labels = np.full(n_rows, np.nan, dtype=np.float32)
    weights = None
    if not inference:
        labels[:] = numbers[field_start[label_toks]]
        has_w = colons[label_toks] == 1
        if has_w.any():
            weights = np.ones(n_rows, dtype=np.float32)
            weights[has_w] = numbers[field_start[label_toks[has_w]] + 1]
    pair_toks = np.flatnonzero(~is_label)
    idx = numbers[field_start[pair_toks]]
    vals = numbers[field_start[pair_toks] + 1].astype(np.float32)
    bad_idx = ~(np.isfinite(idx) & (idx >= 0) & (idx == np.floor(idx)) & (idx < 2**62))
    if bad_idx.any():
        tok = pair_toks[np.argmax(bad_idx)]
        raise DataFormatError(
            f"feature index {_token(data, starts, ends, tok).split(':')[0]!r} is not a "
            "non-negative integer",
            source=source,
            line=first_line + int(tok_line[tok]),
        )
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of_tok[pair_toks], minlength=n_rows), out=indptr[1:])
    return Block(labels, weights, indptr, idx.astype(np.int64), vals)


def _token(data: bytes, starts: np.ndarray, ends: np.ndarray, tok: int) -> str:
    return data[starts[tok] : ends[tok]].decode("utf-8", errors="replace")


def _raise_at_line(
    data: bytes, source: str | None, first_line: int, line_index: int | None, inference: bool
) -> None:
    """Re-read lines in Python and raise for the first bad one (``line_index`` if known)."""
    lines = data.split(b"\n")
    order = range(len(lines)) if line_index is None else [line_index]
    for i in order:
        problem = _line_problem(lines[i], inference)
        if problem:
            raise DataFormatError(problem, source=source, line=first_line + i)
    raise DataFormatError("malformed libsvm data", source=source, line=first_line)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text in ("NA", "NaN", "nan", "null", "NULL", "N/A", "n/a")
    return True


def _line_problem(raw: bytes, inference: bool) -> str | None:
    tokens = raw.decode("utf-8", errors="replace").split()
    for pos, tok in enumerate(tokens):
        parts = tok.split(":")
        if pos == 0 and (len(parts) == 1 or not inference):
            if len(parts) > 2:
                return f"label token {tok!r} should be 'label' or 'label:weight'"
            if inference:
                continue
            for part, what in zip(parts, ("label", "weight"), strict=False):
                if not _number(part):
                    return f"{what} {part!r} is not a number"
            continue
        if len(parts) != 2:
            return f"token {tok!r} should be 'index:value'"
        idx, val = parts
        if not idx.isdigit():
            return f"feature index {idx!r} is not a non-negative integer"
        if not _number(val):
            return f"value {val!r} of feature {idx} is not a number"
    return None


def block_to_dataset(block: Block, keep_labels: bool, width: int | None = None) -> Dataset:
    """A CSR dataset from a parsed block (width ``max index + 1`` unless given)."""
    import scipy.sparse as sp

    w = block.width if width is None else max(width, block.width)
    X = sp.csr_matrix((block.values, block.indices, block.indptr), shape=(block.n_rows, w))
    if not X.has_sorted_indices:
        X.sort_indices()
    if not keep_labels:
        return Dataset(X=X)
    return Dataset(X=X, y=block.labels, weights=block.weights)


def iter_blocks(
    fh: IO[bytes], source: str | None, block_bytes: int = BLOCK_BYTES
) -> Iterator[Block]:
    """Parse a libsvm file object block by block (whole lines per block)."""
    line_no = 1
    rest = b""
    while True:
        chunk = fh.read(block_bytes)
        if not chunk:
            break
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        data = data[: cut + 1]
        block = parse_block(data, source, line_no)
        line_no += data.count(b"\n")
        if block.n_rows:
            yield block
    if rest.strip():
        block = parse_block(rest, source, line_no)
        if block.n_rows:
            yield block


def max_width(fh: IO[bytes], source: str | None) -> int:
    """The width (``max index + 1``) of a libsvm file, streamed."""
    return max((b.width for b in iter_blocks(fh, source)), default=0)


def _SEP(text: str) -> Any:  # a large_string scalar, to join large_string arrays
    import pyarrow as pa

    return pa.scalar(text, pa.large_string())


def _fmt(arr: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.array(np.asarray(arr, dtype=np.float32)).cast(pa.large_string())


def encode(ds: Dataset) -> bytes:
    """libsvm text: ``label[:weight] index:value ...`` with zero-based indices.

    Dense rows write every non-zero entry (NaN included). Rows without a label get ``0``.
    Multi-column labels are refused (libsvm has one label per row).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import scipy.sparse as sp

    n = ds.n_rows
    if n == 0:
        return b""
    if ds.y is not None and np.asarray(ds.y).ndim == 2 and np.asarray(ds.y).shape[1] != 1:
        raise ValueError("libsvm holds one label per row; this dataset has several")
    X = sp.csr_matrix(ds.X, dtype=np.float32)
    X.sort_indices()
    y = np.zeros(n, np.float32) if ds.y is None else np.asarray(ds.y, np.float32).reshape(n)
    head = _fmt(y)
    if ds.weights is not None:
        head = pc.binary_join_element_wise(head, _fmt(ds.weights), _SEP(":"))
    pairs = pc.binary_join_element_wise(
        pa.array(X.indices.astype(np.int64)).cast(pa.large_string()), _fmt(X.data), _SEP(":")
    )
    rows = pa.LargeListArray.from_arrays(pa.array(X.indptr.astype(np.int64)), pairs)
    body = pc.binary_join(rows, _SEP(" "))
    has = pa.array(np.diff(X.indptr) > 0)
    line = pc.if_else(has, pc.binary_join_element_wise(head, body, _SEP(" ")), head)
    line = pc.binary_join_element_wise(line, _SEP(""), _SEP("\n"))  # appends the newline
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int64)[line.offset : line.offset + n + 1]
    return line.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
