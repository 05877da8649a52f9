"""NTM inference: request and response formats, the topic-word matrix, loading without torch,
the ``openmaker topics`` helper, and the scikit-learn adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openmaker.algorithms.ntm import NTMEstimator, NTMModel
from openmaker.errors import UnsupportedContentTypeError
from openmaker.testing.problems import encode_request

from .conftest import TOPICS, VOCAB, Workspace, words


@pytest.fixture()
def model_dir(ws: Workspace, counts: np.ndarray) -> Path:
    channels = {"train": ws.channel("train", counts), "auxiliary": ws.vocab(words())}
    return ws.train({"num_topics": TOPICS, "feature_dim": VOCAB, "epochs": 2}, channels).model_dir


def test_json_jsonlines_recordio_responses(model_dir: Path, counts: np.ndarray) -> None:
    model = NTMModel.load(model_dir)
    X = counts[:4]
    expected = model.topic_weights(X)
    assert np.allclose(expected.sum(axis=1), 1.0) and expected.shape == (4, TOPICS)
    for ct in ("text/csv", "application/json", "application/jsonlines",
               "application/x-recordio-protobuf"):  # fmt: skip
        body, out_type = model.predict(encode_request(X, ct), ct, None)
        assert out_type == "application/json"
        got = [p["topic_weights"] for p in json.loads(body)["predictions"]]
        assert np.allclose(got, expected, atol=1e-6)
    body, out_type = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/jsonlines"
    )
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert out_type == "application/jsonlines" and set(lines[0]) == {"topic_weights"}
    assert np.allclose([r["topic_weights"] for r in lines], expected, atol=1e-6)
    from openmaker.data import read_records

    body, out_type = model.predict(
        encode_request(X, "text/csv"), "text/csv", "application/x-recordio-protobuf"
    )
    records = list(read_records(body))
    assert out_type == "application/x-recordio-protobuf" and records[0]["features"] == {}
    got = [r["label"]["topic_weights"]["values"] for r in records]
    assert np.allclose(got, expected, atol=1e-6)
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(encode_request(X, "text/csv"), "text/csv", "text/csv")


def test_sparse_json_instances(model_dir: Path, counts: np.ndarray) -> None:
    model = NTMModel.load(model_dir)
    row = counts[7]
    keys = np.flatnonzero(row)
    body = {"instances": [{"data": {"features": {
        "keys": keys.tolist(), "shape": [VOCAB], "values": row[keys].tolist()}}}]}  # fmt: skip
    out, _ = model.predict(json.dumps(body).encode(), "application/json", "application/json")
    got = json.loads(out)["predictions"][0]["topic_weights"]
    assert np.allclose(got, model.topic_weights(counts[7:8])[0], atol=1e-6)


def test_batched_requests_match_single_ones(model_dir: Path, counts: np.ndarray) -> None:
    model = NTMModel.load(model_dir)
    reqs = [(encode_request(counts[i : i + 1], "text/csv"), "text/csv", None) for i in range(5)]
    assert model.predict_batch(reqs) == [model.predict(*r) for r in reqs]


def test_topic_word_matrix_and_top_words(model_dir: Path) -> None:
    model = NTMModel.load(model_dir)
    M = model.topic_word_matrix()
    assert M.shape == (TOPICS, VOCAB) and np.allclose(M.sum(axis=1), 1.0)
    plain = model.topic_word_matrix(include_background=False)
    assert plain.shape == M.shape and not np.allclose(plain, M)
    top = model.top_words(5)
    assert len(top) == TOPICS and all(len(t) == 5 and set(t) <= set(words()) for t in top)


def test_openmaker_topics_helper_reads_ntm_models(model_dir: Path, tmp_path: Path) -> None:
    from openmaker.algorithms.common import topics

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"{w}\n" for w in words()))
    model = topics.load_topic_model(str(model_dir))
    assert isinstance(model, topics.TopicModel) and isinstance(model, NTMModel)
    described = topics.describe_topics(str(model_dir), str(vocab), top=4)
    assert [t.words for t in described] == [
        tuple(w[:4]) for w in NTMModel.load(model_dir).top_words(4)
    ]


def test_inference_does_not_need_torch(model_dir: Path, counts: np.ndarray) -> None:
    code = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from openmaker.algorithms.ntm.model import NTMModel\n"
        f"m = NTMModel.load({str(model_dir)!r})\n"
        "body, _ = m.predict(b'"
        + ",".join(str(int(v)) for v in counts[0])
        + "', 'text/csv', None)\n"
        "print(len(json.loads(body)['predictions'][0]['topic_weights']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(TOPICS)


def test_estimator_fit_transform(counts: np.ndarray) -> None:
    import scipy.sparse as sp

    est = NTMEstimator(num_topics=TOPICS, epochs=3, optimizer="adam", learning_rate=0.02,
                       mini_batch_size=32)  # fmt: skip
    est.fit(sp.csr_matrix(counts[:250]), validation=counts[250:], vocabulary=words())
    assert est.components_.shape == (TOPICS, VOCAB) and est.n_features_in_ == VOCAB
    theta = est.transform(counts[:10])
    assert theta.shape == (10, TOPICS) and np.allclose(theta.sum(axis=1), 1.0)
    assert est.perplexity(counts[250:]) < VOCAB  # better than uniform over the words
    assert est.score(counts[250:]) < 0
    assert "train wetc <score>=" in est.training_log_
    assert est.get_params()["num_topics"] == TOPICS
    with pytest.raises(Exception, match="not fitted"):
        NTMEstimator(num_topics=2).transform(counts)
