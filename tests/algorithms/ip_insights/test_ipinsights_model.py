"""Inference: request and response formats, verbose embeddings, errors, the artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmaker.algorithms.ip_insights.ipv4 import ipv4_to_int
from openmaker.algorithms.ip_insights.model import IPInsightsModel
from openmaker.algorithms.ip_insights.network import encode
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError

from .conftest import Workspace


@pytest.fixture(scope="module")
def model(tmp_path_factory, logins) -> IPInsightsModel:
    ws = Workspace(tmp_path_factory.mktemp("ipi-model"))
    return ws.fit(logins.normal(800, seed=1), epochs=2).model()


PAIRS = [("user1", "10.0.0.1"), ("user2", "203.0.113.9"), ("never-seen", "8.8.8.8")]
BODIES = {
    "text/csv": "".join(f"{e},{ip}\n" for e, ip in PAIRS).encode(),
    "application/json": json.dumps(
        {
            "instances": [{"features": [e, ip]} for e, ip in PAIRS[:2]]
            + [{"data": {"features": {"values": list(PAIRS[2])}}}]
        }
    ).encode(),
    "application/jsonlines": "\n".join(
        json.dumps({"features": [e, ip]}) for e, ip in PAIRS
    ).encode(),
}


def _expected(model: IPInsightsModel) -> list[float]:
    e = model.entity_vectors([p[0] for p in PAIRS])
    v = model.ip_vectors(np.array([ipv4_to_int(p[1]) for p in PAIRS], dtype=np.uint32))
    return [float(x) for x in (e * v).sum(axis=1)]


@pytest.mark.parametrize("content_type", list(BODIES))
def test_dot_product_in_json_by_default(model, content_type):
    body, out_type = model.predict(BODIES[content_type], content_type, None)
    assert out_type == "application/json"
    predictions = json.loads(body)["predictions"]
    assert [set(p) for p in predictions] == [{"dot_product"}] * 3
    got = [p["dot_product"] for p in predictions]
    assert got == pytest.approx(_expected(model), rel=1e-5, abs=1e-6)


def test_jsonlines_and_verbose_embeddings(model):
    body, out_type = model.predict(BODIES["text/csv"], "text/csv", "application/jsonlines")
    assert out_type == "application/jsonlines"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [set(line) for line in lines] == [{"dot_product"}] * 3
    for accept in ("application/json;verbose=True", "application/json; verbose=true"):
        body, out_type = model.predict(BODIES["text/csv"], "text/csv", accept)
        assert out_type == "application/json"
        first = json.loads(body)["predictions"][0]
        assert set(first) == {"dot_product", "entity_embedding", "ip_embedding"}
        assert len(first["entity_embedding"]) == len(first["ip_embedding"]) == model.vector_dim
        assert float(np.dot(first["entity_embedding"], first["ip_embedding"])) == pytest.approx(
            first["dot_product"], rel=1e-4, abs=1e-5
        )
    body, _ = model.predict(BODIES["text/csv"], "text/csv", "application/jsonlines;verbose=True")
    assert "ip_embedding" in json.loads(body.decode().splitlines()[0])


def test_request_errors(model):
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(BODIES["text/csv"], "text/csv", "text/csv")
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"\n", "application/x-recordio-protobuf", None)
    with pytest.raises(DataFormatError, match=r"line 2.*IPv6"):
        model.predict(b"a,1.2.3.4\nb,2001:db8::2\n", "text/csv", None)
    with pytest.raises(DataFormatError, match=r"line 1.*expected 2 columns"):
        model.predict(b"1.2.3.4\n", "text/csv", None)


def test_empty_request_gives_no_predictions(model):
    body, _ = model.predict(b"", "text/csv", "application/json")
    assert json.loads(body) == {"predictions": []}


def test_ip_vectors_of_a_large_request_match_one_by_one(model):
    ips = np.random.default_rng(0).integers(0, 1 << 32, 20_000).astype(np.uint32)
    all_at_once = model.ip_vectors(ips)
    np.testing.assert_allclose(all_at_once[-5:], encode(model.weights, ips[-5:])[0], rtol=1e-6)


def test_load_refuses_other_artifacts(tmp_path, model):
    from openmaker.algorithms.common import save_model_arrays

    save_model_arrays(tmp_path, {"centers": np.zeros((2, 2))}, {"algorithm": "kmeans"})
    with pytest.raises(ValidationError, match="not an IP Insights model"):
        IPInsightsModel.load(tmp_path)
    arrays = model.weights.arrays()
    save_model_arrays(tmp_path, arrays, {**model.meta, "ip_buckets": 12})
    with pytest.raises(ValidationError, match="IP encoder"):
        IPInsightsModel.load(tmp_path)
    save_model_arrays(tmp_path, arrays, model.meta)
    again = IPInsightsModel.load(tmp_path)
    np.testing.assert_array_equal(again.weights.entity, model.weights.entity)
