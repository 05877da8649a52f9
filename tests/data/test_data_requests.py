"""Inference payloads: decode_request, encode_recordio_outputs, read_records."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from openmaker.data import decode_request, encode_recordio_outputs, read_records, recordio
from openmaker.errors import DataFormatError, UnsupportedContentTypeError

from .data_helpers import dense


def test_csv_no_label_sniffed_delimiter_nan():
    ds = decode_request(b"1.5,2,3\n4,,6\n", "text/csv")
    np.testing.assert_array_equal(ds.X, [[1.5, 2, 3], [4, np.nan, 6]])
    assert ds.y is None
    assert decode_request(b"1;2\n3;4", "text/csv").X.tolist() == [[1, 2], [3, 4]]
    assert decode_request(b"1 2\n", "csv").X.tolist() == [[1, 2]]
    assert decode_request(b"7\n", "text/csv; charset=utf-8").X.tolist() == [[7]]


def test_csv_errors_name_the_line():
    with pytest.raises(DataFormatError) as err:
        decode_request(b"1,2\n3,4\n5,x\n", "text/csv")
    assert err.value.line == 3 and err.value.source is None
    with pytest.raises(DataFormatError) as err:
        decode_request(b"1,2\n3,4,5\n", "text/csv")
    assert err.value.line == 2
    with pytest.raises(DataFormatError, match="no records"):
        decode_request(b"\n", "text/csv")


def test_libsvm_label_token_ignored_and_optional():
    ds = decode_request(b"1 0:1.5 3:2\n0:4\n\n9 1:1\n", "text/libsvm")
    assert ds.is_sparse and ds.y is None
    assert ds.X.shape == (3, 4)
    with pytest.raises(DataFormatError) as err:
        decode_request(b"0:1\n1 x:2\n", "text/x-libsvm")
    assert err.value.line == 2


def test_recordio_dense_and_sparse_labels_ignored():
    import scipy.sparse as sp

    from openmaker.data import Dataset

    body = recordio.encode_dense(np.ones((3, 2), np.float32), np.zeros(3, np.float32))
    ds = decode_request(body, "application/x-recordio-protobuf")
    assert ds.X.tolist() == [[1, 1]] * 3 and ds.y is None
    sparse = recordio.encode_dataset(Dataset(X=sp.csr_matrix(np.eye(3, dtype=np.float32))))
    assert (sp.eye(3) != decode_request(sparse, "recordio-protobuf").X).nnz == 0
    with pytest.raises(DataFormatError) as err:
        decode_request(body[:-4], "application/x-recordio-protobuf")
    assert err.value.record == 2


def test_json_instance_forms():
    forms = [
        {"instances": [{"features": [1.5, 16.0]}, {"features": [2, 3]}]},
        {"instances": [{"data": {"features": {"values": [1.5, 16.0]}}},
                       {"data": {"features": {"values": [2, 3]}}, "configuration": {}}]},
        [[1.5, 16.0], [2, 3]],
    ]  # fmt: skip
    for doc in forms:
        ds = decode_request(json.dumps(doc).encode(), "application/json")
        np.testing.assert_array_equal(ds.X, [[1.5, 16], [2, 3]])
    assert decode_request(b"[1, 2, 3]", "application/json").X.shape == (1, 3)


def test_json_sparse():
    sparse = [
        {"keys": [26, 182], "shape": [2000], "values": [1, 4]},
        {"keys": [0], "shape": [2000], "values": [2]},
    ]
    doc = {"instances": [{"data": {"features": f}} for f in sparse]}
    ds = decode_request(json.dumps(doc).encode(), "application/json")
    assert ds.is_sparse and ds.X.shape == (2, 2000)
    assert ds.X[0, 182] == 4 and ds.X[1, 0] == 2


@pytest.mark.parametrize(
    ("doc", "record"),
    [
        ({"instances": [{"features": [1]}, {"features": ["a"]}]}, 1),
        ({"instances": [{"features": [1]}, {"features": [1, 2]}]}, 1),
        ({"instances": [{"features": [1]}, {}, {"features": [1]}]}, 1),
        ({"instances": [{"data": {"features": {"keys": [5], "values": [1]}}}]}, 0),
        ({"instances": [{"data": {"features": {"keys": [5], "shape": [3], "values": [1]}}}]}, 0),
    ],
)
def test_json_errors_name_the_instance(doc, record):
    with pytest.raises(DataFormatError) as err:
        decode_request(json.dumps(doc).encode(), "application/json")
    assert err.value.record == record


def test_json_syntax_error():
    with pytest.raises(DataFormatError, match="invalid JSON") as err:
        decode_request(b'{"instances": [\n{"features": [1,]}]}', "application/json")
    assert err.value.line == 2


def test_jsonlines():
    body = b'{"features": [1, 2]}\n\n{"data": {"features": {"values": [3, 4]}}}\n[5, 6]\n'
    ds = decode_request(body, "application/jsonlines")
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    with pytest.raises(DataFormatError) as err:
        decode_request(b'{"features": [1]}\n{"features": [1]\n', "application/jsonlines")
    assert err.value.line == 2
    with pytest.raises(DataFormatError) as err:
        decode_request(b'{"features": [1]}\n{"feat": [1]}\n', "application/jsonlines")
    assert err.value.line == 2


def test_npy():
    buf = io.BytesIO()
    np.save(buf, np.arange(6, dtype=np.float64).reshape(2, 3))
    ds = decode_request(buf.getvalue(), "application/x-npy")
    assert ds.X.dtype == np.float32 and ds.X.shape == (2, 3)
    buf = io.BytesIO()
    np.save(buf, np.arange(3))
    assert decode_request(buf.getvalue(), "application/x-npy").X.shape == (1, 3)
    with pytest.raises(DataFormatError):
        decode_request(b"not npy", "application/x-npy")


def test_unsupported_content_types():
    for ct in ("image/png", "application/x-parquet"):
        with pytest.raises(UnsupportedContentTypeError) as err:
            decode_request(b"", ct)
        assert "text/csv" in err.value.supported


def test_encode_recordio_outputs_round_trip():
    body = encode_recordio_outputs(
        [{"score": 0.25, "predicted_label": 1.0}, {"score": 0.75, "probabilities": [0.1, 0.9]}]
    )
    recs = list(read_records(io.BytesIO(body)))
    assert len(recs) == 2
    assert recs[0]["features"] == {}
    assert recs[0]["label"]["score"]["values"].tolist() == [0.25]
    assert recs[0]["label"]["score"]["keys"].size == 0
    assert recs[1]["label"]["probabilities"]["values"].tolist() == pytest.approx([0.1, 0.9])
    # the SDK's way of reading a response
    from openmaker.data.record_proto import messages

    payload = next(recordio.iter_payloads(body))[1]
    rec = messages().Record()
    rec.ParseFromString(payload)
    assert rec.label["score"].float32_tensor.values[0] == 0.25
    assert dense(np.array([1])).shape == (1,)
