"""LDA inference: topic mixtures in SageMaker's response shapes, from every request type."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.lda.model import LDAModel
from openmaker.errors import DataFormatError, UnsupportedContentTypeError
from openmaker.testing.problems import encode_request

from .conftest import Workspace


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, counts: np.ndarray) -> LDAModel:
    ws = Workspace(tmp_path_factory.mktemp("lda-model"))
    return ws.fit(counts[:1500], mini_batch_size=1500).model()  # type: ignore[no-any-return]


def _mixtures(body: bytes) -> np.ndarray:
    return np.array([p["topic_mixture"] for p in json.loads(body)["predictions"]])


def test_json_response_shape_and_values(trained: LDAModel, counts: np.ndarray) -> None:
    X = counts[1500:1510]
    out, ctype = trained.predict(encode_request(X, "text/csv"), "text/csv", None)
    assert ctype == "application/json"
    theta = _mixtures(out)
    assert theta.shape == (10, 4) and np.allclose(theta.sum(axis=1), 1.0)
    assert np.all(theta >= 0)
    assert np.allclose(theta, trained.transform(X))


def test_every_request_type_gives_the_same_mixtures(trained: LDAModel, counts: np.ndarray) -> None:
    X = counts[1500:1505]
    expected = trained.transform(X)
    for ct in trained_request_types():
        out, _ = trained.predict(encode_request(X, ct), ct, "application/json")
        assert np.allclose(_mixtures(out), expected, atol=1e-6), ct
    cols = [np.flatnonzero(row) for row in X]
    sparse = {
        "instances": [
            {"data": {"features": {"keys": c.tolist(), "shape": [60], "values": row[c].tolist()}}}
            for c, row in zip(cols, X, strict=True)
        ]
    }
    out, _ = trained.predict(json.dumps(sparse).encode(), "application/json", None)
    assert np.allclose(_mixtures(out), expected, atol=1e-6)


def trained_request_types() -> tuple[str, ...]:
    from openmaker.algorithms.lda.spec import REQUEST_CONTENT_TYPES

    return REQUEST_CONTENT_TYPES


def test_jsonlines_and_recordio_responses(trained: LDAModel, counts: np.ndarray) -> None:
    from openmaker.data import read_records

    X = counts[1500:1503]
    body = encode_request(X, "text/csv")
    lines, ctype = trained.predict(body, "text/csv", "application/jsonlines")
    assert ctype == "application/jsonlines"
    rows = [json.loads(line) for line in lines.decode().splitlines()]
    assert [list(r) for r in rows] == [["topic_mixture"]] * 3
    out, ctype = trained.predict(body, "text/csv", "application/x-recordio-protobuf")
    assert ctype == "application/x-recordio-protobuf"
    records: list[Any] = list(read_records(out))
    assert len(records) == 3
    values = np.array([r["label"]["topic_mixture"]["values"] for r in records])
    assert np.allclose(values, [r["topic_mixture"] for r in rows], atol=1e-6)


def test_empty_document_gets_the_prior_mean(trained: LDAModel) -> None:
    theta = trained.transform(np.zeros((1, 60)))
    assert np.allclose(theta[0], trained.alpha / trained.alpha.sum())


def test_bad_requests_are_clear_errors(trained: LDAModel, counts: np.ndarray) -> None:
    X = counts[:2].copy()
    X[1, 5] = -1
    with pytest.raises(DataFormatError, match=r"document 1: the count of word 5 is -1\.0"):
        trained.predict(encode_request(X, "text/csv"), "text/csv", None)
    with pytest.raises(DataFormatError, match="59 word counts; the model's vocabulary has 60"):
        trained.predict(encode_request(counts[:2, :59], "text/csv"), "text/csv", None)
    with pytest.raises(DataFormatError, match="word index 69"):
        trained.transform(sp.csr_matrix((np.ones(1), ([0], [69])), shape=(1, 70)))
    with pytest.raises(UnsupportedContentTypeError):
        trained.predict(b"1,2", "text/csv", "text/csv")


def test_batched_requests_answer_as_one_by_one(trained: LDAModel, counts: np.ndarray) -> None:
    requests = [(encode_request(counts[i : i + 1], "text/csv"), "text/csv", None) for i in range(4)]
    batched = trained.predict_batch(requests)
    assert batched == [trained.predict(*r) for r in requests]


def test_topic_word_matrix_protocol(trained: LDAModel) -> None:
    from openmaker.algorithms.common.topics import TopicModel

    assert isinstance(trained, TopicModel)
    M = trained.topic_word_matrix()
    assert M.shape == (4, 60) and np.allclose(M.sum(axis=1), 1.0)
    M[:] = 0  # a copy: the model is unchanged
    assert trained.beta.sum() > 0
