"""Inference: request and response formats, the 0.5 threshold, bad requests."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.factorization_machines.model import FactorizationMachinesModel
from openmaker.data import read_records
from openmaker.data.recordio import encode_dense, encode_sparse
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError

D, K = 6, 2


def _model(predictor_type: str = "binary_classifier") -> FactorizationMachinesModel:
    rng = np.random.default_rng(0)
    return FactorizationMachinesModel(
        np.array([0.1]), rng.normal(size=D), rng.normal(size=(D, K)), predictor_type
    )


def _expected(model: FactorizationMachinesModel, X: np.ndarray) -> np.ndarray:
    X = X.astype(np.float64)
    V = model.V.astype(np.float64)
    inter = 0.5 * (((X @ V) ** 2).sum(1) - ((X**2) @ (V**2)).sum(1))
    return model.w0[0] + X @ model.w + inter


def test_binary_json_dense_and_sparse_requests() -> None:
    model = _model()
    X = np.array([[1, 0, 0, 1, 0, 0], [0, 2, 0, 0, 0, 1.5]], np.float32)
    p = 1 / (1 + np.exp(-_expected(model, X)))
    dense = json.dumps({"instances": [{"features": row.tolist()} for row in X]})
    sparse = json.dumps(
        {
            "instances": [
                {"data": {"features": {"keys": [0, 3], "shape": [D], "values": [1, 1]}}},
                {"data": {"features": {"keys": [1, 5], "shape": [D], "values": [2, 1.5]}}},
            ]
        }
    )
    for body in (dense, sparse):
        out, ctype = model.predict(body.encode(), "application/json", "application/json")
        assert ctype == "application/json"
        preds = json.loads(out)["predictions"]
        assert [r["score"] for r in preds] == pytest.approx(p.tolist(), rel=1e-5)
        assert [r["predicted_label"] for r in preds] == [int(v >= 0.5) for v in p]


def test_threshold_is_inclusive_at_one_half() -> None:
    model = FactorizationMachinesModel(
        np.zeros(1), np.zeros(D), np.zeros((D, K)), "binary_classifier"
    )
    score, label = model.predict_array(np.ones((1, D), np.float32))
    assert score[0] == 0.5 and label is not None and label[0] == 1


def test_regressor_jsonlines_and_recordio() -> None:
    model = _model("regressor")
    X = np.random.default_rng(1).normal(size=(3, D)).astype(np.float32)
    expected = _expected(model, X)
    lines = "\n".join(json.dumps({"features": row.tolist()}) for row in X).encode()
    out, ctype = model.predict(lines, "application/jsonlines", "application/jsonlines")
    assert ctype == "application/jsonlines"
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert [set(r) for r in rows] == [{"score"}] * 3
    assert [r["score"] for r in rows] == pytest.approx(expected.tolist(), rel=1e-5)
    for body in (encode_dense(X), encode_sparse(sp.csr_matrix(X))):
        out, ctype = model.predict(
            body, "application/x-recordio-protobuf", "application/x-recordio-protobuf"
        )
        assert ctype == "application/x-recordio-protobuf"
        records = read_records(out)
        scores = [r["label"]["score"]["values"][0] for r in records]
        assert scores == pytest.approx(expected.tolist(), rel=1e-5)


def test_narrower_sparse_request_is_padded() -> None:
    model = _model("regressor")
    body = json.dumps(
        {"instances": [{"data": {"features": {"keys": [1], "shape": [3], "values": [2.0]}}}]}
    )
    out, _ = model.predict(body.encode(), "application/json", None)
    X = np.zeros((1, D), np.float32)
    X[0, 1] = 2.0
    assert json.loads(out)["predictions"][0]["score"] == pytest.approx(
        float(_expected(model, X)[0]), rel=1e-5
    )


def test_bad_requests() -> None:
    model = _model()
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"1,2,3,4,5,6", "text/csv", None)
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(
            b'{"instances": [{"features": [1,2,3,4,5,6]}]}', "application/json", "text/csv"
        )
    wide = {"instances": [{"data": {"features": {"keys": [9], "shape": [10], "values": [1]}}}]}
    with pytest.raises(DataFormatError, match="feature index 9"):
        model.predict(json.dumps(wide).encode(), "application/json", None)
    with pytest.raises(DataFormatError, match="expects 6"):
        model.predict(b'{"instances": [{"features": [1, 2]}]}', "application/json", None)
    with pytest.raises(DataFormatError, match="NaN"):
        model.predict(
            b'{"instances": [{"features": [1, 2, 3, 4, 5, NaN]}]}', "application/json", None
        )


def test_load_refuses_other_artifacts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openmaker.algorithms.common import save_model_arrays

    save_model_arrays(tmp_path, {"weight": np.zeros((3, 1))}, {"predictor_type": "regressor"})
    with pytest.raises(ValidationError, match="not a Factorization Machines model"):
        FactorizationMachinesModel.load(tmp_path)


def test_predict_batch_answers_like_predict() -> None:
    model = _model()
    X = np.random.default_rng(2).normal(size=(4, D)).astype(np.float32)
    requests = [
        (json.dumps({"instances": [{"features": X[0].tolist()}]}).encode(), "application/json",
         "application/json"),
        (encode_dense(X[1:3]), "application/x-recordio-protobuf", "application/jsonlines"),
        ("\n".join(json.dumps({"features": r.tolist()}) for r in X[3:]).encode(),
         "application/jsonlines", None),
    ]  # fmt: skip
    alone = [model.predict(*r) for r in requests]
    batched = model.predict_batch(requests)
    assert [t for _, t in batched] == [t for _, t in alone]
    for (a, _), (b, _) in zip(batched, alone, strict=True):  # equal up to float32 rounding
        numbers_a = [float(v) for v in re.findall(rb"-?[0-9.]+(?:e-?[0-9]+)?", a)]
        numbers_b = [float(v) for v in re.findall(rb"-?[0-9.]+(?:e-?[0-9]+)?", b)]
        assert numbers_a == pytest.approx(numbers_b, rel=1e-5)
