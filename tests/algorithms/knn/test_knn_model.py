"""Inference: request and response formats, verbose mode, the tie rule, the editable metadata
and bad requests."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from openmaker.algorithms.common import encode_predictions
from openmaker.algorithms.knn.model import KNNModel
from openmaker.data import read_records
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.testing.problems import encode_request

from .conftest import RECORDIO, blobs

JSON, JSONL, CSV = "application/json", "application/jsonlines", "text/csv"


@pytest.fixture()
def trained(ws):
    X, y = blobs(200)
    run = ws.fit(X, y, k=3)
    return run, X, y


def _records(body: bytes) -> list[dict]:
    return [
        {k: np.asarray(v["values"]).tolist() for k, v in r["label"].items()}
        for r in read_records(io.BytesIO(body))
    ]


def test_every_request_type_gives_the_same_answer(trained):
    run, X, _ = trained
    model = run.model()
    expected = model.predict_array(X[:7])
    for ct in (CSV, JSON, JSONL, RECORDIO, "application/x-npy"):
        body, out_type = model.predict(encode_request(X[:7], ct), ct, JSON)
        assert out_type == JSON
        got = [r["predicted_label"] for r in json.loads(body)["predictions"]]
        assert got == expected.tolist(), ct


def test_sparse_json_request(trained):
    run, X, _ = trained
    model = run.model()
    row = X[0].copy()
    row[[1, 3]] = 0.0
    keys = [0, 2, 4]
    body = json.dumps(
        {
            "instances": [
                {"data": {"features": {"keys": keys, "shape": [5], "values": row[keys].tolist()}}}
            ]
        }
    ).encode()
    out, _ = model.predict(body, JSON, JSON)
    assert json.loads(out)["predictions"][0]["predicted_label"] == model.predict_array(row)[0]


def test_verbose_responses(trained):
    run, X, y = trained
    model = run.model()
    dist, ids = model.kneighbors(X[:4])
    pred = model.predict_array(X[:4])
    body = encode_request(X[:4], CSV)

    out, media = model.predict(body, CSV, "application/json; verbose=true")
    assert media == JSON
    rows = json.loads(out)["predictions"]
    assert [r["predicted_label"] for r in rows] == pred.tolist()
    np.testing.assert_array_equal(np.array([r["distances"] for r in rows], np.float32), dist)
    np.testing.assert_array_equal(np.array([r["labels"] for r in rows]), y[ids])
    assert all(d == sorted(d) for d in (r["distances"] for r in rows))
    assert rows[0]["distances"][0] == 0.0  # X[0] is in the index

    out, _ = model.predict(body, CSV, f"{RECORDIO}; verbose=true")
    recs = _records(out)
    assert [r["predicted_label"] for r in recs] == [[p] for p in pred.tolist()]
    np.testing.assert_array_equal(np.array([r["distances"] for r in recs], np.float32), dist)
    np.testing.assert_array_equal(np.array([r["labels"] for r in recs]), y[ids])

    out, _ = model.predict(body, CSV, "application/jsonlines;verbose=true")
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert lines == rows

    out, _ = model.predict(body, CSV, "text/csv; verbose=true")
    table = np.loadtxt(io.StringIO(out.decode()), delimiter=",", ndmin=2)
    np.testing.assert_allclose(table[:, 0], pred)
    np.testing.assert_allclose(table[:, 1:4], dist, rtol=1e-6)
    np.testing.assert_allclose(table[:, 4:], y[ids])


def test_plain_responses_match_the_common_encoder(trained):
    run, X, _ = trained
    model = run.model()
    body = encode_request(X[:5], CSV)
    dist, ids = model.kneighbors(X[:5])
    pred = model.predict_array(X[:5])
    for accept in (JSON, JSONL, RECORDIO, CSV, None, "*/*"):
        out, media = model.predict(body, CSV, accept)
        common, common_media = encode_predictions(
            [{"predicted_label": float(p)} for p in pred], accept
        )
        assert media == common_media
        if media == RECORDIO:
            assert _records(out) == _records(common)
        elif media == CSV:
            np.testing.assert_allclose(np.loadtxt(io.BytesIO(out)), np.loadtxt(io.BytesIO(common)))
        else:
            assert out.decode().replace(" ", "") == common.decode().replace(" ", "")
    # verbose records carry the same keys and values as the common encoder's
    rows = [
        {"predicted_label": float(p), "distances": d.tolist(), "labels": model.labels[i].tolist()}
        for p, d, i in zip(pred, dist, ids, strict=True)
    ]
    common, _ = encode_predictions(rows, RECORDIO)
    out, _ = model.predict(body, CSV, f"{RECORDIO};verbose=true")
    assert _records(out) == _records(common)


def test_regressor_response(ws):
    X, _ = blobs(100)
    y = X[:, 0] * 3.0
    model = ws.fit(X, y, predictor_type="regressor", k=4).model()
    out, _ = model.predict(encode_request(X[:3], CSV), CSV, "application/json;verbose=true")
    rows = json.loads(out)["predictions"]
    for r in rows:
        assert r["predicted_label"] == pytest.approx(np.mean(r["labels"]), rel=1e-6)


def test_tie_rule_smallest_label_wins(ws):
    # four points at distance 1, 1, 2, 2 from the origin, labelled 7, 3, 3, 7: a 2-2 tie
    X = np.array([[1, 0], [-1, 0], [0, 2], [0, -2], [50, 50]], dtype=np.float32)
    y = np.array([7, 3, 3, 7, 1], dtype=np.float32)
    model = ws.fit(X, y, k=4).model()
    assert model.predict_array(np.zeros((1, 2), np.float32)).tolist() == [3.0]
    model = ws.fit(X, np.array([3, 7, 7, 3, 1], np.float32), k=4).model()
    assert model.predict_array(np.zeros((1, 2), np.float32)).tolist() == [3.0]


def test_editing_the_metadata_changes_k_and_predictor_type(trained):
    run, X, y = trained
    path = run.model_dir / "model_algo-1.json"
    meta = json.loads(path.read_text())
    meta.update(k=1, predictor_type="regressor")
    path.write_text(json.dumps(meta))
    model = KNNModel.load(run.model_dir)
    out, _ = model.predict(encode_request(X[:3], CSV), CSV, "application/json;verbose=true")
    rows = json.loads(out)["predictions"]
    assert [len(r["distances"]) for r in rows] == [1, 1, 1]
    assert [r["predicted_label"] for r in rows] == y[:3].tolist()


@pytest.mark.parametrize("k", [0, 201, "3", None])
def test_invalid_metadata_k(trained, k):
    run, _, _ = trained
    path = run.model_dir / "model_algo-1.json"
    meta = json.loads(path.read_text())
    meta["k"] = k
    path.write_text(json.dumps(meta))
    with pytest.raises(ValidationError, match="k="):
        KNNModel.load(run.model_dir)


def test_missing_or_broken_files(trained):
    run, _, _ = trained
    (run.model_dir / "model_algo-1.labels").write_bytes(b"\x00" * 8)
    with pytest.raises(ValidationError, match="200 indexed points but 2 labels"):
        KNNModel.load(run.model_dir)
    (run.model_dir / "model_algo-1").write_bytes(b"not faiss")
    with pytest.raises(ValidationError, match="not a faiss index"):
        KNNModel.load(run.model_dir)
    (run.model_dir / "model_algo-1.json").unlink()
    with pytest.raises(ValidationError, match="not found"):
        KNNModel.load(run.model_dir)


def test_bad_requests(trained):
    run, X, _ = trained
    model = run.model()
    with pytest.raises(DataFormatError, match="records have 4 features; the model has 5"):
        model.predict(encode_request(X[:2, :4], CSV), CSV, JSON)
    with pytest.raises(DataFormatError, match="NaN"):
        model.predict(b"1,2,nan,4,5\n", CSV, JSON)
    sparse = {"instances": [{"data": {"features": {"keys": [7], "shape": [8], "values": [1]}}}]}
    with pytest.raises(DataFormatError, match="feature index 7; the model has 5"):
        model.predict(json.dumps(sparse).encode(), JSON, JSON)
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X[:2], CSV), CSV, "image/png")
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"1 1:2", "text/libsvm", JSON)
    with pytest.raises(ValidationError, match="verbose='maybe'"):
        model.predict(encode_request(X[:2], CSV), CSV, "application/json; verbose=maybe")


def test_kneighbors_k_argument(trained):
    run, X, _ = trained
    model = run.model()
    assert model.kneighbors(X[:2], k=7)[1].shape == (2, 7)
    with pytest.raises(ValidationError, match=r"\[1, 200\]"):
        model.kneighbors(X[:2], k=201)


def test_predict_batch_answers_each_request_as_alone(trained):
    run, X, _ = trained
    model = run.model()
    requests = [
        (encode_request(X[:1], CSV), CSV, JSON),
        (encode_request(X[1:2], CSV), CSV, "application/json; verbose=true"),
        (encode_request(X[2:5], RECORDIO), RECORDIO, f"{RECORDIO};verbose=true"),
        (encode_request(X[5:7], JSON), JSON, JSONL),
        (encode_request(X[7:8], CSV), CSV, CSV),
    ]
    answers = model.predict_batch(requests)
    assert answers == [model.predict(*r) for r in requests]
    verbose = json.loads(answers[1][0])["predictions"][0]
    assert len(verbose["distances"]) == len(verbose["labels"]) == 3


def test_predict_batch_refuses_what_predict_refuses(trained):
    run, X, _ = trained
    model = run.model()
    good = (encode_request(X[:1], CSV), CSV, JSON)
    with pytest.raises(ValidationError, match="verbose='maybe'"):
        model.predict_batch([good, (good[0], CSV, "application/json; verbose=maybe")])
    with pytest.raises(UnsupportedContentTypeError):
        model.predict_batch([good, (good[0], CSV, "image/png")])
    narrow = (encode_request(X[:1, :4], CSV), CSV, JSON)
    with pytest.raises(DataFormatError, match="records have 4 features; the model has 5"):
        model.predict_batch([narrow, narrow])
    with pytest.raises(ValidationError, match="different feature widths"):
        model.predict_batch([good, narrow])  # the server then answers each request alone


def test_the_serving_micro_batcher_uses_predict_batch(trained):
    import asyncio

    from openmaker.hosting.batching import BatchSettings, MicroBatcher

    run, X, _ = trained
    model = run.model()
    batcher = MicroBatcher(model, BatchSettings(max_batch=8, max_delay=0.05))
    requests = [(encode_request(X[i : i + 1], CSV), CSV, JSON) for i in range(6)]

    async def send_all():
        return await asyncio.gather(*(batcher.predict(*r) for r in requests))

    answers = asyncio.run(send_all())
    assert list(answers) == [model.predict(*r) for r in requests]
    assert batcher.batches >= 1
