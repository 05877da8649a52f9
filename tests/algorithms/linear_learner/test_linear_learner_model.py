"""Inference shapes in every content type and Accept type, the adapter, conformance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.linear_learner import LinearLearnerEstimator
from openmaker.algorithms.linear_learner.model import LinearLearnerModel
from openmaker.algorithms.linear_learner.spec import SPEC
from openmaker.data import read_records
from openmaker.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.testing import conformance
from openmaker.testing.problems import encode_request

from .conftest import Workspace, make_data


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_predict_every_type(ws: Workspace, kind: str) -> None:
    ctx, _ = ws.run(kind)
    model = LinearLearnerModel.load(ctx.model_dir)
    X, _ = make_data(kind)
    X = X[:3]
    score, _label = model.predict_array(X)
    for ct in SPEC.request_content_types:
        body = encode_request(X, ct)
        for accept in SPEC.response_content_types:
            out, out_type = model.predict(body, ct, accept)
            assert out_type == accept
    out, _ = model.predict(encode_request(X, "text/csv"), "text/csv", "application/json")
    preds = json.loads(out)["predictions"]
    assert len(preds) == 3
    if kind == "regression":
        assert set(preds[0]) == {"score"}
    elif kind == "binary":
        assert set(preds[0]) == {"score", "predicted_label"} and 0 <= preds[0]["score"] <= 1
    else:
        assert len(preds[0]["score"]) == 3 and sum(preds[0]["score"]) == pytest.approx(1.0)
    np.testing.assert_allclose([p["score"] for p in preds], score, rtol=1e-6)
    lines, _ = model.predict(encode_request(X, "text/csv"), "text/csv", "application/jsonlines")
    assert json.loads(lines.decode().splitlines()[0]) == preds[0]
    rec, _ = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/x-recordio-protobuf"
    )
    assert len(list(read_records(rec))) == 3


def test_sparse_json_request_and_errors(ws: Workspace) -> None:
    ctx, _ = ws.run("binary")
    model = LinearLearnerModel.load(ctx.model_dir)
    body = {"instances": [{"data": {"features": {"keys": [0, 3], "shape": [5], "values": [1, 2]}}}]}
    out, _ = model.predict(json.dumps(body).encode(), "application/json", None)
    dense = np.array([[1, 0, 0, 2, 0]], np.float32)
    assert json.loads(out)["predictions"][0]["score"] == pytest.approx(
        float(model.predict_array(dense)[0][0])
    )
    with pytest.raises(DataFormatError):
        model.predict(b"1,2,3", "text/csv", None)
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"1,2,3,4,5", "text/csv", "image/png")


def test_estimator_binary_multiclass_regression_and_sparse() -> None:
    X, y = make_data("binary")
    labels = np.where(y > 0, "yes", "no")
    est = LinearLearnerEstimator(epochs=8, mini_batch_size=50, num_models=4)
    est.fit(X[:300], labels[:300], eval_set=[(X[300:], labels[300:])])
    assert est.score(X[300:], labels[300:]) > 0.8
    assert est.predict_proba(X[:5]).shape == (5, 2) and set(est.classes_) == {"no", "yes"}
    Xm, ym = make_data("multiclass")
    m = LinearLearnerEstimator(epochs=10, mini_batch_size=50, num_models=4).fit(Xm, ym)
    assert m.model_.predictor_type == "multiclass_classifier" and m.score(Xm, ym) > 0.8
    Xr, yr = make_data("regression")
    r = LinearLearnerEstimator(predictor_type="regressor", epochs=10, mini_batch_size=50)
    assert r.fit(Xr, yr).score(Xr, yr) > 0.95
    Xs = sp.csr_matrix(np.where(np.abs(X - 2) > 1, X - 2, 0))
    s = LinearLearnerEstimator(epochs=8, mini_batch_size=50, num_models=4).fit(Xs, y)
    assert s.predict(Xs[:4]).shape == (4,)


def test_conformance() -> None:
    conformance.check_algorithm("linear-learner")
