"""Inference: every request type and Accept type, the response shapes, bad requests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmaker.algorithms.pca.model import PCAModel
from openmaker.algorithms.pca.spec import SPEC
from openmaker.data import read_records
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.testing.problems import encode_request


@pytest.fixture()
def trained(ws, data):
    model = ws.fit(data, num_components=3).model()
    return model, data[:4]


def _expected(model, X):
    return (X.astype(np.float64) - model.mean) @ model.components


def test_load_round_trip(ws, data):
    run = ws.fit(data, num_components=3)
    model = PCAModel.load(run.model_dir)
    assert model.feature_dim == 8 and model.num_components == 3
    from openmaker.algorithms.common import load_model_arrays

    arrays, meta = load_model_arrays(run.model_dir)
    assert arrays["mean"].shape == (1, 8) and arrays["mean"].dtype == np.float32
    assert arrays["v"].shape == (8, 3) and arrays["s"].shape == (3,)
    assert meta["order"] == "descending"


@pytest.mark.parametrize("content_type", SPEC.request_content_types)
def test_json_response_from_every_request_type(trained, content_type):
    model, X = trained
    body, out_type = model.predict(encode_request(X, content_type), content_type, None)
    assert out_type == "application/json"
    payload = json.loads(body)
    assert list(payload) == ["projections"]
    got = np.array([p["projection"] for p in payload["projections"]])
    assert all(list(p) == ["projection"] for p in payload["projections"])
    np.testing.assert_allclose(got, _expected(model, X), rtol=1e-5, atol=1e-5)


def test_jsonlines_response(trained):
    model, X = trained
    body, out_type = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/jsonlines"
    )
    assert out_type == "application/jsonlines"
    rows = [json.loads(line) for line in body.decode().splitlines()]
    got = np.array([r["projection"] for r in rows])
    np.testing.assert_allclose(got, _expected(model, X), rtol=1e-5, atol=1e-5)


def test_recordio_response(trained):
    model, X = trained
    body, out_type = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/x-recordio-protobuf"
    )
    assert out_type == "application/x-recordio-protobuf"
    records = list(read_records(body))
    assert len(records) == 4
    got = np.array([r["label"]["projection"]["values"] for r in records])
    np.testing.assert_allclose(got, _expected(model, X), rtol=1e-5, atol=1e-5)
    assert records[0]["features"] == {}


def test_csv_response(trained):
    model, X = trained
    body, out_type = model.predict(encode_request(X, "text/csv"), "text/csv", "text/csv")
    assert out_type == "text/csv"
    got = np.array([[float(c) for c in line.split(",")] for line in body.decode().splitlines()])
    np.testing.assert_allclose(got, _expected(model, X), rtol=1e-5, atol=1e-5)


def test_sparse_json_request(trained):
    model, _ = trained
    row = np.zeros(8)
    row[[1, 6]] = [2.0, -1.0]
    body = json.dumps(
        {"instances": [{"data": {"features": {"keys": [1, 6], "shape": [8], "values": [2, -1]}}}]}
    ).encode()
    out, _ = model.predict(body, "application/json", "application/json")
    got = np.array(json.loads(out)["projections"][0]["projection"])
    np.testing.assert_allclose(got, _expected(model, row[None, :])[0], rtol=1e-6)


def test_projection_scales_nothing(trained):
    model, _ = trained
    # the first component itself, shifted by the mean, projects onto (1, 0, 0)
    x = model.mean + model.components[:, 0]
    np.testing.assert_allclose(model.project(x[None, :]), [[1.0, 0.0, 0.0]], atol=1e-6)


def test_wrong_width_is_refused(trained):
    model, X = trained
    with pytest.raises(DataFormatError, match="7 features; the model has 8"):
        model.predict(encode_request(X[:, :7], "text/csv"), "text/csv", None)


def test_nan_request_is_refused(trained):
    model, _ = trained
    body = json.dumps({"instances": [{"features": [float("nan")] + [0.0] * 7}]}).encode()
    with pytest.raises(DataFormatError, match="NaN"):
        model.predict(body, "application/json", None)


def test_unsupported_types(trained):
    model, X = trained
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X, "text/csv"), "text/csv", "image/png")
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X, "text/libsvm"), "text/libsvm", None)


def test_not_a_pca_model(tmp_path):
    from openmaker.algorithms.common import save_model_arrays

    save_model_arrays(tmp_path, {"centroids": np.zeros((2, 3))}, {"algorithm": "kmeans"})
    with pytest.raises(ValidationError, match="not a PCA model"):
        PCAModel.load(tmp_path)
