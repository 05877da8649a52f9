"""application/x-recordio-protobuf: byte layout, framing, decoding, errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.data import (
    Dataset,
    iter_batches,
    read_dataset,
    read_records,
    recordio,
    write_dataset,
)
from openmaker.data.record_proto import messages
from openmaker.errors import DataFormatError

from .data_helpers import assert_same, dense, dense_dataset, sparse_dataset

# Section 9.4 of the tabular reference: features [1.5, 2.0], label 1.0, all Float32.
EXAMPLE_PAYLOAD = bytes.fromhex(
    "0a16 0a06 76616c756573 120c 120a 0a08 0000c03f 00000040"
    "1212 0a06 76616c756573 1208 1206 0a04 0000803f"
)
EXAMPLE_FRAME = bytes.fromhex("0a23d7ce 2c000000") + EXAMPLE_PAYLOAD


def _record(features=None, label=None, **kw) -> bytes:
    rec = messages().Record(**kw)
    if features is not None:
        rec.features["values"].float32_tensor.values.extend(features)
    if label is not None:
        rec.label["values"].float32_tensor.values.extend(label)
    return rec.SerializeToString()


def test_worked_example_encodes_to_the_documented_bytes(tmp_path):
    assert len(EXAMPLE_PAYLOAD) == 44
    ds = Dataset(X=np.array([[1.5, 2.0]], np.float32), y=np.array([1.0], np.float32))
    assert recordio.encode_dataset(ds) == EXAMPLE_FRAME
    assert _record([1.5, 2.0], [1.0]) == EXAMPLE_PAYLOAD
    f = str(tmp_path / "ex.pbr")
    write_dataset(ds, f, "application/x-recordio-protobuf")
    with open(f, "rb") as fh:
        assert fh.read() == EXAMPLE_FRAME


def test_worked_example_decodes():
    ds = recordio.decode_bytes(EXAMPLE_FRAME)
    np.testing.assert_array_equal(ds.X, [[1.5, 2.0]])
    np.testing.assert_array_equal(ds.y, [1.0])
    (rec,) = read_records(EXAMPLE_FRAME)
    np.testing.assert_array_equal(rec["features"]["values"]["values"], [1.5, 2.0])
    np.testing.assert_array_equal(rec["label"]["values"]["values"], [1.0])


def test_sparse_tensor_bytes():
    t = messages().Float32Tensor(values=[1.0, 4.0], keys=[0, 3], shape=[4])
    assert t.SerializeToString() == bytes.fromhex("0a08 0000803f 00008040 1202 0003 1a01 04")
    ds = Dataset(X=sp.csr_matrix(np.array([[1.0, 0, 0, 4.0]], np.float32)))
    (rec,) = read_records(recordio.encode_dataset(ds))
    v = rec["features"]["values"]
    assert v["keys"].tolist() == [0, 3] and v["shape"] == [4] and rec["label"] == {}


def test_fast_encoder_matches_protobuf_record_by_record():
    ds = dense_dataset(20, 7)
    frames = b"".join(
        recordio.frame(_record(ds.X[i].tolist(), [float(ds.y[i])])) for i in range(20)
    )
    assert recordio.encode_dataset(ds) == frames


def test_padding_to_four_bytes():
    payload = _record([1.0], None, uid="a")  # 23 bytes -> 1 byte of padding
    framed = recordio.frame(payload)
    assert len(payload) % 4 != 0 and len(framed) % 4 == 0
    two = framed + recordio.frame(_record([2.0], None))
    np.testing.assert_array_equal(recordio.decode_bytes(two).X, [[1.0], [2.0]])


@pytest.mark.parametrize("gzip", [False, True])
def test_round_trip_dense(tmp_path, gzip):
    ds = dense_dataset(300, 9)
    f = str(tmp_path / "d.pbr")
    write_dataset(ds, f, "recordio-protobuf", gzip=gzip)
    assert_same(read_dataset([f], "application/x-recordio-protobuf"), ds)


def test_round_trip_sparse_and_empty_rows(tmp_path):
    ds = sparse_dataset(120, 30)
    X = ds.X.tolil()
    X[5, :] = 0
    ds = Dataset(X=X.tocsr(), y=ds.y)
    ds.X.eliminate_zeros()
    f = str(tmp_path / "s.pbr")
    write_dataset(ds, f, "recordio-protobuf")
    got = read_dataset([f], "recordio-protobuf")
    assert got.is_sparse and got.X.shape == (120, 30)
    assert_same(got, ds)


def test_multi_label_and_label_size_zero(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.arange(8, dtype=np.float32).reshape(4, 2)
    f = str(tmp_path / "m.pbr")
    write_dataset(Dataset(X=X, y=y), f, "recordio-protobuf")
    got = read_dataset([f], "recordio-protobuf")
    np.testing.assert_array_equal(got.y, y)
    assert read_dataset([f], "recordio-protobuf;label_size=0").y is None


def test_float64_and_int32_tensors_are_read_as_float32():
    msgs = messages()
    frames = b""
    for i in range(6):
        rec = msgs.Record()
        if i % 2:
            rec.features["values"].float64_tensor.values.extend([i + 0.5, 2.0])
        else:
            rec.features["values"].int32_tensor.values.extend([i, 7])
        rec.label["values"].int32_tensor.values.append(i)
        frames += recordio.frame(rec.SerializeToString())
    ds = recordio.decode_bytes(frames)
    assert ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.X[:2], [[0, 7], [1.5, 2.0]])
    np.testing.assert_array_equal(ds.y, np.arange(6))


def test_float64_runs_use_the_fast_path():
    msgs = messages()
    frames = b""
    for i in range(10):
        rec = msgs.Record()
        rec.features["values"].float64_tensor.values.extend([i, i + 0.25])
        rec.label["values"].float64_tensor.values.append(-i)
        frames += recordio.frame(rec.SerializeToString())
    ds = recordio.decode_bytes(frames)
    np.testing.assert_array_equal(ds.X[:, 1], np.arange(10) + 0.25)
    np.testing.assert_array_equal(ds.y, -np.arange(10))


def test_mixed_fast_and_slow_records_keep_their_order():
    dense_part = recordio.encode_dense(np.ones((6, 3), np.float32), np.zeros(6, np.float32))
    odd = recordio.frame(_record([5.0, 6.0, 7.0], [9.0], uid="x"))
    ds = recordio.decode_bytes(dense_part + odd + dense_part)
    assert ds.n_rows == 13
    np.testing.assert_array_equal(ds.X[6], [5, 6, 7])
    np.testing.assert_array_equal(ds.y[6], 9)


def _split_frames(payload: bytes, cut_at: list[int]) -> bytes:
    """dmlc-style multi-part frames: ``payload`` split at ``cut_at`` (where a magic sat)."""
    pieces = []
    start = 0
    for cut in [*cut_at, len(payload)]:
        pieces.append(payload[start:cut])
        start = cut + 4
    out = b""
    for i, piece in enumerate(pieces):
        cflag = 1 if i == 0 else (3 if i == len(pieces) - 1 else 2)
        out += struct.pack("<II", recordio.MAGIC, (cflag << 29) | len(piece)) + piece
    pad = (-len(pieces[-1])) % 4
    return out + b"\x00" * pad


@pytest.mark.parametrize("n_magics", [1, 2])
def test_multi_part_record_is_joined_with_the_magic(n_magics):
    # The float 0xCED7230A (little-endian bytes 0a 23 d7 ce) puts the magic inside the payload.
    magic_float = np.frombuffer(recordio.MAGIC_BYTES, dtype="<f4")[0]
    feats = [1.0, float(magic_float), 3.0, float(magic_float)][: 2 + 2 * (n_magics - 1)]
    payload = _record(feats, [1.0])
    cuts = [i for i in range(0, len(payload), 4) if payload[i : i + 4] == recordio.MAGIC_BYTES]
    assert len(cuts) == n_magics  # aligned, as the dmlc writer requires for a split
    data = recordio.frame(_record([0.0] * len(feats), [0.0]))
    data += _split_frames(payload, cuts) + recordio.frame(_record([2.0] * len(feats), [2.0]))
    ds = recordio.decode_bytes(data)
    assert ds.n_rows == 3
    np.testing.assert_array_equal(ds.X[1], np.array(feats, np.float32))
    recs = list(read_records(data))
    assert len(recs) == 3
    np.testing.assert_array_equal(recs[1]["features"]["values"]["values"], feats)


def test_length_is_masked_to_29_bits():
    ds = recordio.decode_bytes(EXAMPLE_FRAME)
    assert ds.n_rows == 1
    # a cflag in the top bits is not part of the length: a lone "end part" is refused cleanly
    bad = struct.pack("<II", recordio.MAGIC, (3 << 29) | 44) + EXAMPLE_PAYLOAD
    with pytest.raises(DataFormatError, match="cflag 3") as err:
        recordio.decode_bytes(bad, "f.pbr")
    assert err.value.record == 0


def _good(n: int) -> bytes:
    return recordio.encode_dense(np.ones((n, 2), np.float32), np.zeros(n, np.float32))


def test_bad_magic_names_file_and_record(tmp_path):
    data = bytearray(_good(10))
    data[7 * len(_good(1))] ^= 0xFF  # corrupt record 7's magic
    f = tmp_path / "bad.pbr"
    f.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="magic") as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.source == str(f) and err.value.record == 7
    with pytest.raises(DataFormatError) as err:
        list(iter_batches([str(f)], "recordio-protobuf", batch_size=3))
    assert err.value.record == 7


def test_truncated_file_names_the_record(tmp_path):
    f = tmp_path / "cut.pbr"
    f.write_bytes(_good(5)[:-10])
    with pytest.raises(DataFormatError, match="truncated") as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.record == 4


def test_unparsable_protobuf_names_the_record(tmp_path):
    junk = recordio.frame(b"\x0a\xff\xff\xff\x0f" + b"\x00" * 7)
    f = tmp_path / "junk.pbr"
    f.write_bytes(_good(3) + junk + _good(2))
    with pytest.raises(DataFormatError, match="protobuf") as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.source == str(f) and err.value.record == 3


def test_record_without_features(tmp_path):
    f = tmp_path / "nofeat.pbr"
    f.write_bytes(_good(2) + recordio.frame(_record(None, [1.0])))
    with pytest.raises(DataFormatError, match="features") as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.record == 2


def test_not_recordio_at_all(tmp_path):
    f = tmp_path / "x.pbr"
    f.write_bytes(b"1,2,3\n4,5,6\n")
    with pytest.raises(DataFormatError) as err:
        read_dataset([str(f)], "recordio-protobuf")
    assert err.value.record == 0


def test_empty_file_contains_no_records(tmp_path):
    f = tmp_path / "e.pbr"
    f.write_bytes(b"")
    with pytest.raises(DataFormatError, match="contains no records"):
        read_dataset([str(f)], "recordio-protobuf")


def test_iter_batches_matches_read_dataset(tmp_path):
    ds = dense_dataset(2_500, 5)
    d = tmp_path / "ch"
    d.mkdir()
    for i in range(5):
        write_dataset(
            ds.slice(i * 500, (i + 1) * 500), str(d / f"matrix_{i}.pbr"), "recordio-protobuf"
        )
    batches = list(iter_batches([str(d)], "recordio-protobuf", batch_size=700))
    assert [b.n_rows for b in batches] == [700, 700, 700, 400]
    got = Dataset(
        X=np.concatenate([b.X for b in batches]), y=np.concatenate([b.y for b in batches])
    )
    assert_same(got, read_dataset([str(d)], "recordio-protobuf"))
    assert_same(got, ds)


def test_iter_batches_sparse(tmp_path):
    ds = sparse_dataset(500, 40)
    f = str(tmp_path / "s.pbr")
    write_dataset(ds, f, "recordio-protobuf")
    batches = list(iter_batches([f], "recordio-protobuf", batch_size=128))
    assert [b.n_rows for b in batches] == [128, 128, 128, 116]
    np.testing.assert_array_equal(np.vstack([dense(b.X) for b in batches]), dense(ds.X))
