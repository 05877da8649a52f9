"""DeepAR inference: SageMaker's request and response shapes, batch transform's JSON Lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmaker.algorithms.deepar.model import DeepARModel
from openmaker.errors import DataFormatError, OpenmakerError, ValidationError

from .conftest import Workspace, seasonal_series


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("deepar-model"))
    data = seasonal_series(8, 100, cat=True, dyn=True)
    run = ws.run(data, epochs=2)
    return run.model_dir, data


@pytest.fixture(scope="module")
def model(trained):
    return DeepARModel.load(trained[0])


def _instance(rec, T=6):
    return {**rec, "dynamic_feat": [rec["dynamic_feat"][0] + [0.0] * T]}


def test_json_request_gives_sagemakers_response(model, trained):
    data = trained[1]
    body = {
        "instances": [_instance(data[0]), _instance(data[1])],
        "configuration": {
            "num_samples": 20,
            "output_types": ["mean", "quantiles", "samples"],
            "quantiles": ["0.5", "0.9"],
        },
    }
    out, ct = model.predict(json.dumps(body).encode(), "application/json", "application/json")
    assert ct == "application/json"
    preds = json.loads(out)["predictions"]
    assert len(preds) == 2
    for p in preds:
        assert set(p) == {"mean", "quantiles", "samples"}
        assert len(p["mean"]) == 6
        assert set(p["quantiles"]) == {"0.5", "0.9"}
        assert len(p["samples"]) == 20 and all(len(s) == 6 for s in p["samples"])
        assert all(
            a <= b for a, b in zip(p["quantiles"]["0.5"], p["quantiles"]["0.9"], strict=False)
        )
    # the same request, the same answer
    again, _ = model.predict(json.dumps(body).encode(), "application/json", None)
    assert json.loads(again) == json.loads(out)


def test_default_configuration_is_mean_and_quantiles(model, trained):
    body = {"instances": [_instance(trained[1][0])]}
    out, _ = model.predict(json.dumps(body).encode(), "application/json", None)
    (p,) = json.loads(out)["predictions"]
    assert set(p) == {"mean", "quantiles"}
    assert sorted(p["quantiles"]) == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]


def test_jsonlines_batch_transform_reads_the_environment(trained, monkeypatch):
    monkeypatch.setenv("DEEPAR_INFERENCE_CONFIG", '{ "num_samples": 10, "output_types": ["mean"] }')
    model = DeepARModel.load(trained[0])
    lines = "\n".join(json.dumps(_instance(r)) for r in trained[1][:3])
    out, ct = model.predict(lines.encode(), "application/jsonlines", "application/jsonlines")
    assert ct == "application/jsonlines"
    rows = [json.loads(x) for x in out.decode().splitlines()]
    assert len(rows) == 3 and all(set(r) == {"mean"} for r in rows)


def test_bad_inference_config_environment_is_named(trained, monkeypatch):
    monkeypatch.setenv("DEEPAR_INFERENCE_CONFIG", '{"num_samples": 0}')
    with pytest.raises(ValidationError, match=r"DEEPAR_INFERENCE_CONFIG\.num_samples"):
        DeepARModel.load(trained[0])


def test_the_forecast_follows_the_history(model, trained):
    rec = trained[1][1]  # cat 1: level 30
    low = {**_instance(trained[1][0])}
    (p_high, p_low) = model.forecast([_instance(rec), low], num_samples=50)
    assert np.mean(p_high["mean"]) > np.mean(p_low["mean"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("cat"), "instances[1]: field 'cat': required"),
        (lambda r: r.update(cat=[5]), "value 5 of feature 0 was not seen in training"),
        (lambda r: r.update(cat=[0, 1]), "field 'cat': 2 values, the model was trained with 1"),
        (lambda r: r.pop("dynamic_feat"), "field 'dynamic_feat': required"),
        (
            lambda r: r.update(dynamic_feat=[r["dynamic_feat"][0][:-6]]),
            "length 100, expected len(target) + prediction_length = 106",
        ),
        (lambda r: r.update(dynamic_feat=[[1.0] * 100, [1.0] * 100]), "2 features"),
        (lambda r: r.update(start="yesterday-ish"), "field 'start'"),
        (lambda r: r.update(target="many"), "field 'target': expected a list of numbers"),
        (lambda r: r.update(target=[1.0, "x"]), "field 'target': item 1 is 'x'"),
        (lambda r: r.update(target=[]), "field 'target': empty"),
    ],
)
def test_bad_instances_are_4xx_naming_index_and_field(model, trained, change, message):
    good = _instance(trained[1][0])
    bad = json.loads(json.dumps(good))
    change(bad)
    body = json.dumps({"instances": [good, bad]}).encode()
    with pytest.raises(OpenmakerError) as err:
        model.predict(body, "application/json", None)
    assert err.value.http_status // 100 == 4
    assert message in str(err.value)
    if "instances[0]" not in message:
        assert "instances[1]" in str(err.value)


@pytest.mark.parametrize(
    ("configuration", "message"),
    [
        ({"num_samples": 0}, "configuration.num_samples"),
        ({"num_samples": "many"}, "configuration.num_samples"),
        ({"output_types": ["median"]}, "configuration.output_types"),
        ({"quantiles": ["1.5"]}, "configuration.quantiles"),
        ({"quantiles": ["half"]}, "configuration.quantiles"),
        ({"samples": 3}, "unknown key"),
    ],
)
def test_bad_configuration_is_named(model, trained, configuration, message):
    body = {"instances": [_instance(trained[1][0])], "configuration": configuration}
    with pytest.raises(ValidationError, match=message):
        model.predict(json.dumps(body).encode(), "application/json", None)


def test_body_without_instances(model):
    with pytest.raises(DataFormatError, match="instances"):
        model.predict(b'{"series": []}', "application/json", None)


def test_a_series_of_one_point_forecasts(tmp_path):
    ws = Workspace(tmp_path)
    model = ws.run(seasonal_series(8, 100), epochs=1).model()
    (p,) = model.forecast([{"start": "2012-01-30", "target": [1.0]}], num_samples=5)
    assert len(p["mean"]) == 6 and np.isfinite(p["mean"]).all()
