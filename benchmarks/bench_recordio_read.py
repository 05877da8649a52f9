"""Read speed: openmaker's recordio-protobuf and CSV readers against pandas.read_csv.

Generates ``--rows`` x 50 float32 features plus a label, writes them as recordio-protobuf
(openmaker's writer, byte-compatible with the SageMaker SDK) and as CSV, then times (best of
``--repeat``):

* ``openmaker.data.read_dataset`` on the recordio file,
* ``pandas.read_csv(engine="c")`` on the CSV file (the peer),
* ``openmaker.data.read_dataset`` on the CSV file.

Throughput is the size of the file read divided by the time (MB/s, 1 MB = 10^6 bytes).

With ``--sparse``, the sparse path instead: ``--rows`` one-hot-style rows of ``--nnz`` non-zeros
over 1,000,000 columns (what Factorization Machines reads), written with ``encode_sparse``
(byte-compatible with the SDK's ``write_spmatrix_to_sparse_tensor``), decoded to CSR by
openmaker's vectorised wire-format parser, by openmaker's protobuf path (``vectorised=False``) and
by the SageMaker SDK's ``read_records`` (the peer: it only parses the records into protobuf
messages, building no matrix).

    python benchmarks/bench_recordio_read.py --rows 500000
    python benchmarks/bench_recordio_read.py --sparse --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sparse", action="store_true", help="time the sparse decoders")
    parser.add_argument("--nnz", type=int, default=4, help="--sparse: non-zeros per row")
    args = parser.parse_args()
    if args.sparse:
        _sparse(args)
        return

    import pandas as pd

    from openmaker.data import Dataset, read_dataset, write_dataset

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.cols)).astype(np.float32)
    y = rng.integers(0, 2, args.rows).astype(np.float32)
    ds = Dataset(X=X, y=y)
    with tempfile.TemporaryDirectory() as tmp:
        pbr = os.path.join(tmp, "data.pbr")
        csv = os.path.join(tmp, "data.csv")
        write_dataset(ds, pbr, "application/x-recordio-protobuf")
        write_dataset(ds, csv, "text/csv")
        pbr_mb = os.path.getsize(pbr) / 1e6
        csv_mb = os.path.getsize(csv) / 1e6

        got = read_dataset([pbr], "application/x-recordio-protobuf")
        assert np.array_equal(got.X, X) and np.array_equal(got.y, y)
        got = read_dataset([csv], "text/csv")
        assert np.array_equal(got.X, X) and np.array_equal(got.y, y)
        del got

        t_pbr = _best(lambda: read_dataset([pbr], "application/x-recordio-protobuf"), args.repeat)
        t_pd = _best(lambda: pd.read_csv(csv, header=None, engine="c"), args.repeat)
        t_csv = _best(lambda: read_dataset([csv], "text/csv"), args.repeat)

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print(f"data: {args.rows} rows x {args.cols} float32 features + label")
    print(f"files: recordio-protobuf {pbr_mb:.1f} MB, csv {csv_mb:.1f} MB")
    rows = [
        ("openmaker read_dataset recordio-protobuf", t_pbr, pbr_mb),
        ("pandas.read_csv(engine='c') csv", t_pd, csv_mb),
        ("openmaker read_dataset csv", t_csv, csv_mb),
    ]
    for name, secs, mb in rows:
        print(
            f"{name:<42} {secs:7.3f} s {mb / secs:9.1f} MB/s {args.rows / secs / 1e6:6.2f} Mrows/s"
        )
    print(f"ratio recordio MB/s / pandas csv MB/s: {(pbr_mb / t_pbr) / (csv_mb / t_pd):.2f}")
    print(f"ratio recordio rows/s / pandas csv rows/s: {t_pd / t_pbr:.2f}")
    print(f"ratio openmaker csv / pandas csv (speed): {t_pd / t_csv:.2f}")


def _sparse(args: argparse.Namespace) -> None:
    """Sparse RecordIO-protobuf: vectorised parser vs protobuf path vs the SDK's reader."""
    import io

    import scipy.sparse as sp

    from openmaker.data import recordio

    n, nnz, d = args.rows, args.nnz, 1_000_000
    rng = np.random.default_rng(0)
    cols = np.sort(rng.integers(0, d, (n, nnz)), axis=1).ravel()
    data = rng.random(n * nnz).astype(np.float32)
    X = sp.csr_matrix((data, cols, np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
    y = rng.random(n).astype(np.float32)
    t0 = time.perf_counter()
    blob = recordio.encode_sparse(X, y)
    t_enc = time.perf_counter() - t0
    # the slow paths read a tenth of the rows (then scaled to rows/s)
    part = max(1, n // 10)
    small = recordio.encode_sparse(X[:part], y[:part])
    got = recordio.decode_bytes(blob)
    ref = recordio.decode_bytes(small, vectorised=False)
    assert (got.X[:part] != ref.X).nnz == 0 and np.array_equal(got.y[:part], ref.y)

    def sdk_read() -> None:
        from sagemaker.amazon.common import read_records

        read_records(io.BytesIO(small))

    t_vec = _best(lambda: recordio.decode_bytes(blob), args.repeat)
    t_pb = _best(lambda: recordio.decode_bytes(small, vectorised=False), args.repeat)
    t_sdk = _best(sdk_read, args.repeat)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}")
    print(f"data: {n} rows x {d} columns, {nnz} non-zeros a row + label; {len(blob) / 1e6:.1f} MB")
    print(f"encode_sparse                              {n / t_enc:12,.0f} rows/s")
    print(f"openmaker decode, vectorised parser -> CSR {n / t_vec:12,.0f} rows/s")
    print(f"openmaker decode, protobuf path -> CSR     {part / t_pb:12,.0f} rows/s")
    print(f"SageMaker SDK read_records (parse only)    {part / t_sdk:12,.0f} rows/s")
    print(f"ratio vectorised / protobuf path: {(n / t_vec) / (part / t_pb):.1f}")
    print(f"ratio vectorised / SDK read_records: {(n / t_vec) / (part / t_sdk):.1f}")


if __name__ == "__main__":
    main()
