"""Inference: every request type and Accept type, the response shapes, bad requests."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.common import load_model_arrays, save_model_arrays
from openmaker.algorithms.kmeans.model import KMeansModel
from openmaker.algorithms.kmeans.spec import SPEC
from openmaker.data import read_records
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.testing.problems import encode_request

CENTERS = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
X = np.array([[1.0, 0.0, 0.0], [9.0, 0.0, 3.0], [0.0, 7.0, 1.0], [0.0, 0.0, 0.0]])
#: closest cluster and plain (not squared) Euclidean distance of each row of X
EXPECTED = [(0, 1.0), (1, np.sqrt(10.0)), (2, 5.0), (0, 0.0)]


@pytest.fixture()
def model(tmp_path) -> KMeansModel:
    save_model_arrays(
        tmp_path,
        {"centers": CENTERS.astype(np.float32), "weights": np.ones(3, np.float32)},
        {"algorithm": "kmeans"},
    )
    return KMeansModel.load(tmp_path)


def _check(rows):
    got = [(int(c), d) for c, d in rows]
    assert [c for c, _ in got] == [c for c, _ in EXPECTED]
    np.testing.assert_allclose([d for _, d in got], [d for _, d in EXPECTED], atol=1e-9)


def test_trained_artifact_layout(ws, data):
    run = ws.fit(data)
    arrays, meta = load_model_arrays(run.model_dir)
    assert arrays["centers"].shape == (4, 5) and arrays["centers"].dtype == np.float32
    assert arrays["weights"].shape == (4,)
    assert meta["algorithm"] == "kmeans" and meta["distance"] == "euclidean"
    model = KMeansModel.load(run.model_dir)
    assert model.k == 4 and model.feature_dim == 5


@pytest.mark.parametrize("content_type", SPEC.request_content_types)
def test_json_response_from_every_request_type(model, content_type):
    body, out_type = model.predict(encode_request(X, content_type), content_type, None)
    assert out_type == "application/json"
    payload = json.loads(body)
    assert list(payload) == ["predictions"]
    preds = payload["predictions"]
    assert all(list(p) == ["closest_cluster", "distance_to_cluster"] for p in preds)
    assert all(isinstance(p["closest_cluster"], float) for p in preds)
    _check([(p["closest_cluster"], p["distance_to_cluster"]) for p in preds])


@pytest.mark.parametrize("content_type", SPEC.request_content_types)
@pytest.mark.parametrize("accept", SPEC.response_content_types)
def test_every_request_and_accept_type(model, content_type, accept):
    body, out_type = model.predict(encode_request(X, content_type), content_type, accept)
    assert out_type == accept and body


def test_jsonlines_response(model):
    body, out_type = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/jsonlines"
    )
    assert out_type == "application/jsonlines"
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert rows[0] == {"closest_cluster": 0.0, "distance_to_cluster": 1.0}
    _check([(r["closest_cluster"], r["distance_to_cluster"]) for r in rows])


def test_recordio_response(model):
    accept = "application/x-recordio-protobuf"
    body, out_type = model.predict(encode_request(X, "text/csv"), "text/csv", accept)
    assert out_type == accept
    records = list(read_records(body))
    assert len(records) == 4 and records[0]["features"] == {}
    _check(
        [
            (
                r["label"]["closest_cluster"]["values"][0],
                r["label"]["distance_to_cluster"]["values"][0],
            )
            for r in records
        ]
    )


def test_csv_response(model):
    body, out_type = model.predict(encode_request(X, "text/csv"), "text/csv", "text/csv")
    assert out_type == "text/csv"
    lines = body.decode().splitlines()
    assert lines[0] == "0.0,1.0"
    _check([tuple(float(c) for c in line.split(",")) for line in lines])


def test_sparse_json_request(model):
    body = json.dumps(
        {"instances": [{"data": {"features": {"keys": [1, 2], "shape": [3], "values": [7, 1]}}}]}
    ).encode()
    out, _ = model.predict(body, "application/json", "application/json")
    pred = json.loads(out)["predictions"][0]
    assert pred["closest_cluster"] == 2.0
    assert pred["distance_to_cluster"] == pytest.approx(5.0)


def test_assign_and_distances_dense_and_sparse(model):
    labels, dist = model.assign(X)
    labels_sp, dist_sp = model.assign(sp.csr_matrix(X))
    np.testing.assert_array_equal(labels, labels_sp)
    np.testing.assert_allclose(dist, dist_sp, atol=1e-9)
    full = model.distances(X)
    ref = np.sqrt(((X[:, None] - CENTERS[None]) ** 2).sum(-1))
    np.testing.assert_allclose(full, ref, atol=1e-9)
    np.testing.assert_allclose(model.distances(sp.csr_matrix(X)), ref, atol=1e-9)


def test_wrong_width_is_refused(model):
    with pytest.raises(DataFormatError, match="2 features; the model has 3"):
        model.predict(encode_request(X[:, :2], "text/csv"), "text/csv", None)


def test_nan_request_is_refused(model):
    body = json.dumps({"instances": [{"features": [float("nan"), 0.0, 0.0]}]}).encode()
    with pytest.raises(DataFormatError, match="NaN"):
        model.predict(body, "application/json", None)


def test_unsupported_types(model):
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X, "text/csv"), "text/csv", "image/png")
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X, "text/libsvm"), "text/libsvm", None)


def test_not_a_kmeans_model(tmp_path):
    save_model_arrays(tmp_path, {"mean": np.zeros((1, 3))}, {"algorithm": "pca"})
    with pytest.raises(ValidationError, match="not a K-Means model"):
        KMeansModel.load(tmp_path)
