"""Pipe mode: iter_batches streams with memory bounded by the batch, not the data."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openmaker.data import Dataset, iter_batches, write_dataset
from openmaker.data.parquet import to_table

BATCH = 1_000
WIDTH = 10
FORMATS = [
    ("text/csv", "csv"),
    ("text/libsvm", "libsvm"),
    ("application/x-recordio-protobuf", "pbr"),
    ("application/x-parquet", "parquet"),
]


def _write(path: str, content_type: str, n_rows: int, gzip: bool) -> None:
    rng = np.random.default_rng(n_rows)
    ds = Dataset(
        X=rng.random((n_rows, WIDTH), dtype=np.float32), y=rng.random(n_rows, dtype=np.float32)
    )
    if content_type == "application/x-parquet":
        pq.write_table(to_table(ds), path, row_group_size=BATCH)  # Pipe mode reads by row group
    else:
        write_dataset(ds, path, content_type, gzip=gzip)


def _stream_peak(path: str, content_type: str) -> tuple[int, int, int]:
    """(rows, peak Python/numpy bytes, peak pyarrow pool bytes) while streaming ``path``."""
    for _ in iter_batches([path], content_type, batch_size=10, n_features=WIDTH):
        break  # warm up: lazy imports and caches are not part of the measurement
    base_arrow = pa.total_allocated_bytes()
    arrow_peak = 0
    rows = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for batch in iter_batches([path], content_type, batch_size=BATCH, n_features=WIDTH):
            assert batch.n_rows <= BATCH
            rows += batch.n_rows
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - base_arrow)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak, arrow_peak


CASES = [
    pytest.param(ct, ext, gz, id=f"{ext}{'-gzip' if gz else ''}")
    for ct, ext in FORMATS
    for gz in (False, True)
    if not (gz and ext == "parquet")  # parquet compresses internally
]


@pytest.mark.parametrize(("content_type", "ext", "gzip"), CASES)
def test_memory_does_not_grow_with_the_data(tmp_path, content_type, ext, gzip):
    small, large = str(tmp_path / f"small.{ext}"), str(tmp_path / f"large.{ext}")
    _write(small, content_type, 4 * BATCH, gzip)
    _write(large, content_type, 40 * BATCH, gzip)
    rows_s, peak_s, arrow_s = _stream_peak(small, content_type)
    rows_l, peak_l, arrow_l = _stream_peak(large, content_type)
    assert (rows_s, rows_l) == (4 * BATCH, 40 * BATCH)
    batch_bytes = BATCH * (WIDTH + 1) * 4  # one decoded batch
    # Ten times the data must not need much more memory...
    assert peak_l < 1.5 * peak_s + 4 * batch_bytes, (peak_s, peak_l)
    assert arrow_l < 1.5 * arrow_s + 4 * batch_bytes, (arrow_s, arrow_l)
    # ...and the peak is a multiple of one batch, below what the decoded file alone would take.
    assert peak_l < 32 * batch_bytes < 40 * batch_bytes, peak_l
    assert arrow_l < 32 * batch_bytes, arrow_l
