"""Inference: request and response formats, the batch and streaming models, bad requests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmaker.algorithms.random_cut_forest.model import (
    STREAMING_ENV,
    RandomCutForestModel,
    StreamingRandomCutForestModel,
)
from openmaker.algorithms.random_cut_forest.streaming import StreamingForest
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.testing.problems import encode_request

from .conftest import RECORDIO


@pytest.fixture()
def trained(ws, data):
    X, _ = data
    return ws.fit(X), X


def test_json_response_shape_and_values(trained):
    run, X = trained
    model = run.model()
    body = encode_request(X[:4], "application/json")
    out, content_type = model.predict(body, "application/json", "application/json")
    assert content_type == "application/json"
    scores = json.loads(out)["scores"]
    assert [list(s) for s in scores] == [["score"]] * 4
    np.testing.assert_allclose([s["score"] for s in scores], model.scores(X[:4]))


@pytest.mark.parametrize(
    "content_type", ["text/csv", "application/json", "application/jsonlines", RECORDIO]
)
def test_every_request_type_gives_the_same_scores(trained, content_type):
    run, X = trained
    model = run.model()
    want = model.scores(X[:6])
    out, _ = model.predict(encode_request(X[:6], content_type), content_type, "text/csv")
    np.testing.assert_allclose([float(v) for v in out.decode().split()], want, rtol=1e-12)


def test_jsonlines_and_recordio_responses(trained):
    from openmaker.data import read_records

    run, X = trained
    model = run.model()
    out, ct = model.predict(encode_request(X[:3], "text/csv"), "text/csv", "application/jsonlines")
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert ct == "application/jsonlines" and [list(r) for r in lines] == [["score"]] * 3
    out, ct = model.predict(encode_request(X[:3], "text/csv"), "text/csv", RECORDIO)
    assert ct == RECORDIO
    records = list(read_records(out))
    assert len(records) == 3
    assert records[0]["label"]["score"]["values"][0] == pytest.approx(lines[0]["score"], rel=1e-6)


def test_sparse_json_request(trained):
    run, X = trained
    model = run.model()
    row = X[0].copy()
    row[1] = 0
    keys = [i for i in range(4) if row[i] != 0]
    body = json.dumps(
        {
            "instances": [
                {
                    "data": {
                        "features": {
                            "keys": keys,
                            "shape": [4],
                            "values": [float(row[i]) for i in keys],
                        }
                    }
                }
            ]
        }
    ).encode()
    out, _ = model.predict(body, "application/json", None)
    assert json.loads(out)["scores"][0]["score"] == pytest.approx(model.scores(row[None])[0])


def test_micro_batch_gives_the_answers_of_single_requests(trained):
    run, X = trained
    model = run.model()
    requests = [(encode_request(X[i : i + 1], "text/csv"), "text/csv", None) for i in range(5)]
    requests.append((encode_request(X[5:8], "application/json"), "application/json", "text/csv"))
    batched = model.predict_batch(requests)
    assert batched == [model.predict(*r) for r in requests]


def test_bad_requests(trained):
    run, _X = trained
    model = run.model()
    with pytest.raises(DataFormatError, match="3 features; the model has 4"):
        model.predict(b"1,2,3", "text/csv", None)
    with pytest.raises(DataFormatError, match="NaN"):
        model.predict(b"1,2,nan,4", "text/csv", None)
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"1,2,3,4", "text/csv", "image/png")
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"1,2,3,4", "text/libsvm", None)


def test_not_a_forest(tmp_path):
    from openmaker.algorithms.common import save_model_arrays

    save_model_arrays(tmp_path, {"centers": np.zeros((2, 2))}, {"algorithm": "kmeans"})
    with pytest.raises(ValidationError, match="not a Random Cut Forest"):
        RandomCutForestModel.load(tmp_path)


def test_streaming_artifact_scores_then_learns(tmp_path):
    values = np.sin(np.arange(200) / 6.0).astype(np.float32)
    stream = StreamingForest(1, num_trees=10, num_samples_per_tree=32, shingle_size=4, seed=0)
    stream.update_many(values[:100].reshape(-1, 1))
    stream.save(tmp_path)
    twin = StreamingForest.load(tmp_path)

    served = RandomCutForestModel.load(tmp_path)
    assert isinstance(served, StreamingRandomCutForestModel)
    body = "\n".join(str(v) for v in values[100:110]).encode()
    out, _ = served.predict(body, "text/csv", "application/json")
    scores = [s["score"] for s in json.loads(out)["scores"]]
    np.testing.assert_allclose(scores, twin.update_many(values[100:110].reshape(-1, 1)))
    # the state moved on: the next request continues the stream
    out, _ = served.predict(b"0.5", "text/csv", "text/csv")
    assert float(out) == pytest.approx(twin.update([0.5]))
    assert served.stream.records_seen == 111
    with pytest.raises(DataFormatError, match="the model has 1"):
        served.predict(b"1,2", "text/csv", None)


def test_a_trained_model_served_as_a_stream(trained, monkeypatch):
    run, X = trained
    monkeypatch.setenv(STREAMING_ENV, "true")
    served = RandomCutForestModel.load(run.model_dir)
    assert isinstance(served, StreamingRandomCutForestModel)
    monkeypatch.delenv(STREAMING_ENV)
    static = RandomCutForestModel.load(run.model_dir)
    assert isinstance(static, RandomCutForestModel)
    body = encode_request(X[:1], "text/csv")
    first, _ = served.predict(body, "text/csv", "text/csv")
    assert float(first) == pytest.approx(static.scores(X[:1])[0])
    # the streaming model learns: the window moved on by the two records
    again, _ = served.predict(body, "text/csv", "text/csv")
    assert float(again) != float(first)
    assert served.stream.points_seen == served.stream.window_size + 2 == 50 * 32 + 2
    assert float(static.predict(body, "text/csv", "text/csv")[0]) == float(first)


def test_a_streaming_model_tar_gz_through_the_serving_loader(tmp_path):
    from openmaker import artifacts
    from openmaker.serving import load_model

    stream = StreamingForest(2, num_trees=8, num_samples_per_tree=16, seed=0)
    stream.update_many(np.random.default_rng(0).normal(size=(40, 2)))
    stream.save(tmp_path / "model")
    archive = artifacts.pack(tmp_path / "model", tmp_path / "model.tar.gz")
    loaded = load_model(str(archive), algorithm="randomcutforest")
    assert isinstance(loaded.model, StreamingRandomCutForestModel)
    out1, _ = loaded.predict("9,9", "text/csv", "application/json")
    out2, _ = loaded.predict("9,9", "text/csv", "application/json")
    first = json.loads(out1)["scores"][0]["score"]
    second = json.loads(out2)["scores"][0]["score"]
    assert first > 2.0 and second < first  # (9, 9) was new, then it had been learnt
