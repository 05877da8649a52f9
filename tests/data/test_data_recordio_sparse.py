"""The vectorised recordio-protobuf decoder and sparse encoder against the protobuf path.

``recordio.decode_bytes(..., vectorised=False)`` decodes every ``Float32Tensor`` record with
protobuf, one by one: the reference. Whatever the input, the vectorised decoder must give the
same dataset, array for array and byte for byte, or the same error naming the same record.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.data import Dataset, iter_batches, read_dataset, recordio, write_dataset
from openmaker.data.record_proto import messages
from openmaker.data.recordio_sparse import parse_records
from openmaker.errors import DataFormatError

MAGIC_FLOAT = float(np.frombuffer(recordio.MAGIC_BYTES, dtype="<f4")[0])


@pytest.fixture(autouse=True)
def _vectorise_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small inputs go to protobuf in production (cheaper); here the vectorised parser must
    see every run, however short, so it is compared with protobuf on all of them."""
    monkeypatch.setattr(recordio, "_MIN_VECTOR_RECORDS", 0)


def _proto_frames(X: sp.csr_matrix, y: np.ndarray | None) -> bytes:
    """Each row serialized with protobuf, as the SageMaker SDK's sparse writer does."""
    out = []
    labels = None if y is None else np.asarray(y, np.float32).reshape(X.shape[0], -1)
    for i in range(X.shape[0]):
        rec = messages().Record()
        row = X.getrow(i)
        t = rec.features["values"].float32_tensor
        t.values.extend(row.data.tolist())
        t.keys.extend(row.indices.tolist())
        t.shape.append(X.shape[1])
        if labels is not None:
            rec.label["values"].float32_tensor.values.extend(labels[i].tolist())
        out.append(recordio.frame(rec.SerializeToString()))
    return b"".join(out)


def _outcome(fn):
    """The decoded arrays, or the error's (type, message, record)."""
    try:
        ds = fn()
    except DataFormatError as exc:
        return ("error", str(exc), exc.record)
    if ds is None:
        return None
    if isinstance(ds, list):
        return [_arrays(d) for d in ds]
    return _arrays(ds)


def _arrays(ds: Dataset) -> tuple:
    X = ds.X
    if sp.issparse(X):
        x = (X.shape, X.has_sorted_indices)
        x += tuple((a.dtype.str, a.tobytes()) for a in (X.data, X.indices, X.indptr))
    else:
        x = (X.shape, X.dtype.str, X.tobytes())
    y = None if ds.y is None else (ds.y.shape, ds.y.dtype.str, ds.y.tobytes())
    return x, y


def _same_as_protobuf(data: bytes, **kw) -> object:
    fast = _outcome(lambda: recordio.decode_bytes(data, "f.pbr", **kw))
    ref = _outcome(lambda: recordio.decode_bytes(data, "f.pbr", vectorised=False, **kw))
    assert fast == ref
    return fast


def _one_hot(n: int, fields: list[int], seed: int = 0) -> sp.csr_matrix:
    """Factorization-machines style rows: one non-zero per field, fields side by side."""
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(fields)[:-1]])
    cols = np.stack([o + rng.integers(0, f, n) for o, f in zip(offsets, fields, strict=True)], 1)
    data = rng.standard_normal(cols.size).astype(np.float32)
    indptr = np.arange(0, cols.size + 1, len(fields))
    return sp.csr_matrix((data, cols.ravel(), indptr), shape=(n, sum(fields)))


@pytest.mark.parametrize("labels", [None, 1, 3])
@pytest.mark.parametrize("seed", range(3))
def test_random_sparse_round_trip_is_byte_for_byte(seed, labels):
    rng = np.random.default_rng(seed)
    n, width = 200, int(rng.choice([7, 300, 70_000, 3_000_000]))
    # about 3 non-zeros a row (sp.random would enumerate all n x width cells: slow when wide)
    cells = np.unique(rng.integers(0, n * width, size=min(3 * n, n * width)))
    X = sp.csr_matrix(
        (rng.random(cells.size, dtype=np.float32), (cells // width, cells % width)),
        shape=(n, width),
    )
    X.data[::7] = 0.0  # explicit zeros are kept, as protobuf keeps them
    y = None if labels is None else rng.standard_normal((n, labels)).astype(np.float32)
    data = recordio.encode_sparse(X, y)
    assert data == _proto_frames(X, y)
    _same_as_protobuf(data)
    ds = recordio.decode_bytes(data)
    assert ds.is_sparse and ds.X.shape == (n, width)
    np.testing.assert_array_equal(ds.X.indptr, X.indptr)
    np.testing.assert_array_equal(ds.X.indices, X.indices)
    assert ds.X.data.tobytes() == X.data.tobytes()
    if y is None:
        assert ds.y is None
    else:
        assert ds.y.tobytes() == (y.ravel() if labels == 1 else y).tobytes()


def test_one_hot_rows_with_keys_of_every_varint_length():
    X = _one_hot(500, [100, 20_000, 3_000_000, 2], seed=1)
    keys = np.array([0, 127, 128, 16_383, 16_384, 2**21 - 1, 2**21, 2**28, 2**35, 2**55 - 1])
    big = sp.csr_matrix(
        (np.arange(1, len(keys) + 1, dtype=np.float32), keys, [0, len(keys)]), shape=(1, 2**55)
    )
    for m in (X, big):
        data = recordio.encode_sparse(m, np.ones(m.shape[0], np.float32))
        assert data == _proto_frames(m, np.ones(m.shape[0], np.float32))
        _same_as_protobuf(data)
        ds = recordio.decode_bytes(data)
        np.testing.assert_array_equal(ds.X.indices, m.indices)
        np.testing.assert_array_equal(ds.X.data, m.data)


def test_empty_rows_and_empty_matrix():
    X = sp.csr_matrix(np.array([[0, 0, 0], [0, 2.5, 0], [0, 0, 0]], np.float32))
    data = recordio.encode_sparse(X, np.array([1, 2, 3], np.float32))
    assert data == _proto_frames(X, np.array([1, 2, 3], np.float32))
    _same_as_protobuf(data)
    ds = recordio.decode_bytes(data)
    assert ds.X.shape == (3, 3) and ds.X.nnz == 1
    assert recordio.encode_sparse(sp.csr_matrix((0, 5), dtype=np.float32)) == b""


def test_dense_records_of_any_width_match_protobuf():
    rng = np.random.default_rng(3)
    for width in (1, 2, 31, 40):
        X = rng.standard_normal((9, width)).astype(np.float32)
        y = rng.standard_normal(9).astype(np.float32)
        data = recordio.encode_dense(X, y)
        _same_as_protobuf(data)
        _same_as_protobuf(data, keep_labels=False)
        # a run shorter than the template path's minimum goes through the parser
        ds = recordio.decode_bytes(data[: len(data) // 9 * 2])
        assert ds.X.tobytes() == X[:2].tobytes() and ds.y.tobytes() == y[:2].tobytes()


def _record(kind: str, rng: np.random.Generator, width: int, label: str = "f32") -> bytes:
    """One record of a given kind: usual ones and ones the vectorised parser leaves to protobuf
    or that are malformed."""
    rec = messages().Record()
    f = rec.features["values"]
    vals = rng.standard_normal(width).astype(np.float32).tolist()
    k = int(rng.integers(0, min(width, 4) + 1))
    keys = sorted(rng.choice(width, k, replace=False).tolist())
    if kind == "sparse":
        f.float32_tensor.values.extend(vals[:k])
        f.float32_tensor.keys.extend(keys)
        f.float32_tensor.shape.append(width)
    elif kind == "dense":
        f.float32_tensor.values.extend(vals)
    elif kind == "dense_shaped":
        f.float32_tensor.values.extend(vals)
        f.float32_tensor.shape.append(width)
    elif kind == "empty_sparse":
        f.float32_tensor.shape.append(width)
    elif kind == "wider_sparse":
        f.float32_tensor.values.append(1.0)
        f.float32_tensor.keys.append(2 * width)
        f.float32_tensor.shape.append(2 * width + 1)
    elif kind == "magic_value":
        f.float32_tensor.keys.extend([0, width - 1] if width > 1 else [0])
        f.float32_tensor.values.extend([MAGIC_FLOAT, 1.0][: len(f.float32_tensor.keys)])
        f.float32_tensor.shape.append(width)
    elif kind == "float64":
        f.float64_tensor.values.extend(vals)
    elif kind == "int32_sparse":
        f.int32_tensor.values.append(3)
        f.int32_tensor.keys.append(width - 1)
        f.int32_tensor.shape.append(width)
    elif kind == "uid":
        f.float32_tensor.values.extend(vals)
        rec.uid = "row"
    elif kind == "extra_key":
        f.float32_tensor.values.extend(vals)
        rec.features["other"].float32_tensor.values.append(1.0)
    elif kind == "other_width":
        f.float32_tensor.values.extend([*vals, 1.0])
    elif kind == "key_outside":
        f.float32_tensor.values.append(1.0)
        f.float32_tensor.keys.append(width)
        f.float32_tensor.shape.append(width)
    elif kind == "keys_without_shape":
        f.float32_tensor.values.append(1.0)
        f.float32_tensor.keys.append(0)
    elif kind == "more_values_than_keys":
        f.float32_tensor.values.extend([1.0, 2.0])
        f.float32_tensor.keys.append(0)
        f.float32_tensor.shape.append(width)
    elif kind == "two_dim_shape":
        f.float32_tensor.values.append(1.0)
        f.float32_tensor.keys.append(1)
        f.float32_tensor.shape.extend([2, width])
    elif kind == "no_features":
        del rec.features["values"]
    if label == "f32":
        rec.label["values"].float32_tensor.values.append(float(rng.random()))
    elif label == "two":
        rec.label["values"].float32_tensor.values.extend([1.0, 2.0])
    elif label == "float64":
        rec.label["values"].float64_tensor.values.append(1.0)
    payload = rec.SerializeToString()
    if kind == "garbage":
        payload = b"\x0a\xff\xff\xff\x0f" + payload[5:]
    elif kind == "cut":
        payload = payload[:-3]
    return payload


GOOD = ["sparse", "empty_sparse", "wider_sparse", "magic_value", "int32_sparse", "uid"]
DENSE = ["dense", "dense_shaped", "float64", "extra_key", "uid"]
BAD = [
    "other_width", "key_outside", "keys_without_shape", "more_values_than_keys",
    "two_dim_shape", "no_features", "garbage", "cut",
]  # fmt: skip
LABELS = ["f32", "none", "two", "float64"]


def _multi_part(payload: bytes) -> bytes:
    """dmlc-style frames split where the magic sits at an aligned offset (if it does)."""
    cuts = [i for i in range(0, len(payload) - 3, 4) if payload[i : i + 4] == recordio.MAGIC_BYTES]
    if not cuts:
        return recordio.frame(payload)
    parts, start = [], 0
    for cut in [*cuts, len(payload)]:
        parts.append(payload[start:cut])
        start = cut + 4
    out = b""
    for i, part in enumerate(parts):
        cflag = 1 if i == 0 else (3 if i == len(parts) - 1 else 2)
        out += struct.pack("<II", recordio.MAGIC, (cflag << 29) | len(part)) + part
    return out + b"\x00" * (-len(parts[-1]) % 4)


@pytest.mark.parametrize("seed", range(40))
def test_random_mixed_records_decode_as_protobuf_does(seed):
    rng = np.random.default_rng(seed)
    width = int(rng.integers(1, 30))
    base = [GOOD, DENSE, GOOD + DENSE][seed % 3]
    odd = rng.choice([0.0, 0.05, 0.3])
    label = "f32" if seed % 4 else "none"
    payloads = []
    for _ in range(int(rng.integers(1, 120))):
        kind = str(rng.choice(base + BAD if rng.random() < odd else base[:1]))
        lab = str(rng.choice(LABELS)) if rng.random() < odd / 3 else label
        payloads.append(_record(kind, rng, width, lab))
    data = b"".join(_multi_part(p) if rng.random() < 0.3 else recordio.frame(p) for p in payloads)
    for keep in (True, False):
        _same_as_protobuf(data, keep_labels=keep)
        rows = int(rng.integers(1, 40))
        stream = [
            _outcome(
                lambda k=keep, v=v, r=rows: list(
                    recordio.iter_file(
                        io.BytesIO(data), "f.pbr", keep_labels=k, target_rows=r, vectorised=v
                    )
                )
            )
            for v in (True, False)
        ]
        assert stream[0] == stream[1]


def test_parser_leaves_unusual_records_to_protobuf():
    rng = np.random.default_rng(0)
    kinds = ["sparse", "float64", "uid", "extra_key", "dense", "int32_sparse", "empty_sparse"]
    payloads = [_record(k, rng, 5) for k in kinds]
    payloads.append(_record("sparse", rng, 5, label="float64"))
    buf = b"".join(payloads)
    lengths = np.array([len(p) for p in payloads])
    parsed = parse_records(buf, np.cumsum(lengths) - lengths, lengths)
    assert parsed.ok.tolist() == [True, False, False, False, True, False, True, False]
    assert parsed.sparse.tolist() == [True, False, False, False, False, False, True, False]
    assert parsed.width[[0, 4, 6]].tolist() == [5, 5, 5]


def test_magic_number_inside_a_payload_is_not_a_header():
    # SageMaker's writer never splits a record: the magic can sit inside a cflag-0 payload.
    X = sp.csr_matrix(
        (np.array([1.0, MAGIC_FLOAT, MAGIC_FLOAT, 2.0] * 50, np.float32),
         np.tile([0, 1, 2, 3], 50), np.arange(0, 201, 4)),
        shape=(50, 4),
    )  # fmt: skip
    data = recordio.encode_sparse(X[::-1].tocsr()) + recordio.encode_sparse(X)
    assert recordio.MAGIC_BYTES in data[8:]
    ds = recordio.decode_bytes(data)
    assert ds.n_rows == 100
    np.testing.assert_array_equal(ds.X[50:].toarray(), X.toarray())


def _sparse_file(n: int = 50, seed: int = 0) -> bytes:
    return recordio.encode_sparse(_one_hot(n, [1000, 30], seed), np.ones(n, np.float32))


def test_corrupt_magic_in_a_sparse_file_names_the_record(tmp_path):
    data = bytearray(_sparse_file())
    frames = list(recordio.iter_payloads(bytes(data)))
    offset = sum(8 + recordio._padded(len(p)) for _, p in frames[:17])
    data[offset] ^= 0xFF
    f = tmp_path / "bad.pbr"
    f.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="magic") as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.source == str(f) and err.value.record == 17
    with pytest.raises(DataFormatError) as err:
        list(iter_batches([str(f)], "recordio-protobuf", batch_size=8))
    assert err.value.record == 17


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("key_outside", "outside its shape"),
        ("keys_without_shape", "without a shape"),
        ("more_values_than_keys", "keys but 2 values"),
        ("garbage", "not a valid"),
        ("cut", "not a valid"),
        ("no_features", "no features"),
    ],
)
def test_malformed_sparse_record_names_the_record(kind, match):
    rng = np.random.default_rng(0)
    bad = recordio.frame(_record(kind, rng, 6))
    data = _sparse_file(30) + bad + _sparse_file(10)
    with pytest.raises(DataFormatError, match=match) as err:
        recordio.decode_bytes(data, "s.pbr")
    assert err.value.record == 30 and err.value.source == "s.pbr"


def test_records_that_disagree_name_the_record():
    rng = np.random.default_rng(0)
    unlabelled = recordio.frame(_record("sparse", rng, 1030, label="none"))
    with pytest.raises(DataFormatError, match="label") as err:
        recordio.decode_bytes(_sparse_file(12) + unlabelled, "s.pbr")
    assert err.value.record == 12
    dense = [recordio.frame(_record("dense", rng, w)) for w in (4, 4, 4, 5, 4)]
    with pytest.raises(DataFormatError, match="5 features") as err:
        recordio.decode_bytes(b"".join(dense), "d.pbr")
    assert err.value.record == 3


def test_truncated_sparse_file_names_the_record():
    data = _sparse_file(20)
    with pytest.raises(DataFormatError, match="truncated") as err:
        recordio.decode_bytes(data[:-5], "s.pbr")
    assert err.value.record == 19


def test_sparse_file_read_and_streamed(tmp_path):
    X = _one_hot(3_000, [5000, 40, 7], seed=4)
    y = np.arange(3_000, dtype=np.float32)
    f = str(tmp_path / "fm.pbr")
    write_dataset(Dataset(X=X, y=y), f, "recordio-protobuf")
    ds = read_dataset([f], "recordio-protobuf")
    assert (ds.X != X).nnz == 0 and ds.X.shape == X.shape
    np.testing.assert_array_equal(ds.y, y)
    batches = list(iter_batches([f], "recordio-protobuf", batch_size=1000))
    assert [b.n_rows for b in batches] == [1000, 1000, 1000]
    assert (sp.vstack([b.X for b in batches]) != X).nnz == 0


def test_short_runs_take_protobuf_and_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold records are parsed with protobuf; the result is the same."""
    X = _one_hot(40, [50, 30], seed=3)
    data = recordio.encode_sparse(X)
    vectorised = recordio.decode_bytes(data)
    monkeypatch.setattr(recordio, "_MIN_VECTOR_RECORDS", 10_000)
    short = recordio.decode_bytes(data)
    assert (vectorised.X != short.X).nnz == 0 and vectorised.X.shape == short.X.shape
