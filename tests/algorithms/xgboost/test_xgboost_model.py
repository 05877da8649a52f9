"""Inference: request types, Accept types, selectable output, ensembles, typed errors."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from openmaker.algorithms.xgboost.model import XGBoostModel, combine_predictions
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError

ALL_KEYS = "predicted_score,predicted_label,labels,probability,probabilities,raw_score,raw_scores"


@pytest.fixture(scope="module")
def models(module_ws) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """One small model per objective, trained once for the module."""
    out = {}
    specs = {
        "reg": ("regression", {}),
        "logistic": ("binary", {}),
        "logitraw": ("binary", {"objective": "binary:logitraw"}),
        "hinge": ("binary", {"objective": "binary:hinge"}),
        "softprob": ("multiclass", {}),
        "softmax": ("multiclass", {"objective": "multi:softmax"}),
    }
    for name, (kind, extra) in specs.items():
        out[name] = module_ws.train_data(kind, extra=extra, tag=name).model_dir
    out["kfold"] = module_ws.train_data("binary", extra={"_kfold": "3"}, tag="kfold").model_dir
    out["kfold_softmax"] = module_ws.train_data(
        "multiclass", extra={"_kfold": "3", "objective": "multi:softmax"}, tag="kfold_softmax"
    ).model_dir
    return out


@pytest.fixture()
def X(data) -> np.ndarray:  # type: ignore[no-untyped-def]
    return data("binary")[0][120:125]


def _csv(X: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in X).encode()


def _encode(X: np.ndarray, content_type: str) -> bytes:
    from openmaker.testing.problems import encode_request

    return encode_request(X, content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv",
        "text/libsvm",
        "application/x-recordio-protobuf",
        "application/json",
        "application/jsonlines",
        "application/x-npy",
    ],
)
def test_every_request_type_gives_the_same_predictions(models, X, content_type: str) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["logistic"])
    expected = model.predict_array(X)
    body, out_type = model.predict(_encode(X, content_type), content_type, "application/json")
    assert out_type == "application/json"
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_csv_one_value_per_line(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    body, out_type = model.predict(_csv(X), "text/csv", "text/csv")
    assert out_type == "text/csv"
    lines = body.decode().split("\n")
    assert len(lines) == 5
    np.testing.assert_allclose([float(v) for v in lines], model.predict_array(X), rtol=1e-6)
    single, _ = model.predict(_csv(X[:1]), "text/csv", "text/csv")
    assert b"\n" not in single and float(single) == pytest.approx(model.predict_array(X[:1])[0])


def test_csv_softprob_rows(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["softprob"])
    body, _ = model.predict(_csv(X), "text/csv", "text/csv")
    rows = [[float(v) for v in line.split(",")] for line in body.decode().split("\n")]
    assert len(rows) == 5 and all(len(r) == 3 for r in rows)
    np.testing.assert_allclose(np.sum(rows, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("accept", [None, "", "*/*", "text/csv; charset=utf-8", "text/html, */*"])
def test_default_accept_is_csv(models, X, accept) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    _, out_type = model.predict(_csv(X), "text/csv", accept)
    assert out_type == "text/csv"


def test_default_accept_from_environment(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/jsonlines")
    model = XGBoostModel.load(models["reg"])
    body, out_type = model.predict(_csv(X), "text/csv", None)
    assert out_type == "application/jsonlines"
    assert len(body.decode().split("\n")) == 5


def test_json_jsonlines_recordio_shapes(models, X) -> None:  # type: ignore[no-untyped-def]
    from openmaker.data import read_records

    model = XGBoostModel.load(models["softprob"])
    expected = model.predict_array(X)
    body, _ = model.predict(_csv(X), "text/csv", "application/json")
    preds = json.loads(body)["predictions"]
    assert len(preds) == 5 and len(preds[0]["score"]) == 3
    body, _ = model.predict(_csv(X), "text/csv", "application/jsonlines")
    lines = [json.loads(line) for line in body.decode().split("\n")]
    np.testing.assert_allclose([r["score"] for r in lines], expected, rtol=1e-6)
    body, out_type = model.predict(_csv(X), "text/csv", "application/x-recordio-protobuf")
    assert out_type == "application/x-recordio-protobuf"
    records = list(read_records(io.BytesIO(body)))
    assert len(records) == 5
    assert "score" in json.dumps(records[0], default=str)


def _records_scores(body: bytes, key: str) -> list[list[float]]:
    from openmaker.data import read_records

    out = []
    for rec in read_records(io.BytesIO(body)):
        value = rec["label"][key]
        values = value["values"] if isinstance(value, dict) else value
        out.append([float(v) for v in np.ravel(values)])
    return out


def test_recordio_scores_match(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["logistic"])
    body, _ = model.predict(_csv(X), "text/csv", "application/x-recordio-protobuf")
    got = [v[0] for v in _records_scores(body, "score")]
    np.testing.assert_allclose(got, model.predict_array(X), rtol=1e-6)


def test_selectable_output_binary_logistic_json(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["logistic"], inference_output=ALL_KEYS)
    p = model.predict_array(X)
    body, _ = model.predict(_csv(X), "text/csv", "application/json")
    rows = json.loads(body)["predictions"]
    for row, prob in zip(rows, p, strict=True):
        assert list(row) == ALL_KEYS.split(",")
        assert math.isnan(row["predicted_score"])
        assert row["predicted_label"] == int(prob > 0.5)
        assert row["labels"] == [0, 1]
        assert row["probability"] == pytest.approx(prob)
        assert row["probabilities"] == pytest.approx([1 - prob, prob])
        assert row["raw_score"] == pytest.approx(prob)
        assert row["raw_scores"] == pytest.approx([1 - prob, prob])


def test_selectable_output_csv_and_jsonlines(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["logistic"], inference_output="predicted_label,probabilities")
    p = model.predict_array(X)
    body, out_type = model.predict(_csv(X), "text/csv", "text/csv")
    assert out_type == "text/csv"
    first = body.decode().split("\n")[0]
    label, probs = first.split(",", 1)
    assert label == str(int(p[0] > 0.5))
    assert probs.startswith('"[') and probs.endswith(']"')
    assert json.loads(probs[1:-1]) == pytest.approx([1 - p[0], p[0]])
    body, _ = model.predict(_csv(X), "text/csv", "application/jsonlines")
    rows = [json.loads(line) for line in body.decode().split("\n")]
    assert rows[0] == {
        "predicted_label": int(p[0] > 0.5),
        "probabilities": pytest.approx([1 - p[0], p[0]]),
    }


def test_selectable_output_recordio(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["softprob"], inference_output="predicted_label,probabilities")
    p = model.predict_array(X)
    body, _ = model.predict(_csv(X), "text/csv", "application/x-recordio-protobuf")
    labels = _records_scores(body, "predicted_label")
    probs = _records_scores(body, "probabilities")
    assert [v[0] for v in labels] == list(np.argmax(p, axis=1).astype(float))
    np.testing.assert_allclose(probs, p, rtol=1e-6)


def test_selectable_output_from_environment(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "predicted_score,predicted_label")
    model = XGBoostModel.load(models["reg"])
    body, _ = model.predict(_csv(X), "text/csv", "text/csv")
    score, label = body.decode().split("\n")[0].split(",")
    assert float(score) == pytest.approx(model.predict_array(X)[0])
    assert label == "nan"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("softprob", {"labels": [0, 1, 2], "predicted_score": "nan"}),
        ("softmax", {"labels": [0, 1, 2], "probability": "nan", "probabilities": "nan"}),
        ("logitraw", {"labels": [0, 1], "probability": "nan"}),
        ("hinge", {"labels": [0, 1], "probabilities": "nan"}),
        ("reg", {"labels": "nan", "predicted_label": "nan", "raw_scores": "nan"}),
    ],
)
def test_selectable_output_per_objective(models, X, name: str, expected: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    model = XGBoostModel.load(models[name], inference_output=ALL_KEYS)
    raw = model.predict_array(X)
    body, _ = model.predict(_csv(X), "text/csv", "application/json")
    row = json.loads(body)["predictions"][0]
    for key, value in expected.items():
        if value == "nan":
            assert isinstance(row[key], float) and math.isnan(row[key]), key
        else:
            assert row[key] == value
    if name == "softprob":
        assert row["predicted_label"] == int(np.argmax(raw[0]))
        assert row["probability"] == pytest.approx(float(np.max(raw[0])))
    if name == "softmax":
        assert row["predicted_label"] == int(raw[0])
        assert row["raw_score"] == pytest.approx(float(raw[0]))
    if name == "logitraw":
        assert row["predicted_label"] == int(raw[0] > 0)
        assert row["raw_score"] == pytest.approx(float(raw[0]))
    if name == "reg":
        assert row["predicted_score"] == pytest.approx(float(raw[0]))


def test_unknown_output_key(models) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="bogus"):
        XGBoostModel.load(models["reg"], inference_output="predicted_score,bogus")


def test_ensemble_mean_and_opt_out(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from openmaker.algorithms.xgboost.checkpoints import load_booster

    model = XGBoostModel.load(models["kfold"])
    assert len(model.boosters) == 3
    singles = [
        load_booster(models["kfold"] / f"xgboost-model-{i}").inplace_predict(X) for i in range(3)
    ]
    np.testing.assert_allclose(model.predict_array(X), np.mean(singles, axis=0), rtol=1e-6)
    monkeypatch.setenv("SAGEMAKER_INFERENCE_ENSEMBLE", "false")
    single = XGBoostModel.load(models["kfold"])
    assert len(single.boosters) == 1
    np.testing.assert_allclose(single.predict_array(X), singles[0], rtol=1e-6)


def test_ensemble_majority_vote(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["kfold_softmax"])
    out = model.predict_array(X)
    assert set(np.unique(out)) <= {0.0, 1.0, 2.0}
    votes = combine_predictions(
        [np.array([0.0, 2.0, 1.0]), np.array([2.0, 2.0, 0.0]), np.array([2.0, 1.0, 1.0])],
        "multi:softmax",
    )
    assert votes.tolist() == [2.0, 2.0, 1.0]
    tie = combine_predictions([np.array([1.0]), np.array([0.0])], "binary:hinge")
    assert tie.tolist() == [0.0]
    mean = combine_predictions([np.array([0.2]), np.array([0.4])], "binary:logistic")
    assert mean.tolist() == pytest.approx([0.3])


def test_bad_content_and_accept_types(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    with pytest.raises(UnsupportedContentTypeError) as info:
        model.predict(b"x", "image/png", "text/csv")
    assert "text/csv" in info.value.supported
    with pytest.raises(UnsupportedContentTypeError):
        model.predict(b"x", "application/x-parquet", "text/csv")
    with pytest.raises(UnsupportedContentTypeError) as info:
        model.predict(_csv(X), "text/csv", "text/html")
    assert info.value.supported[0] == "text/csv"


def test_wrong_feature_count(models, X) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    with pytest.raises(DataFormatError, match="expects 5 features, the request has 3"):
        model.predict(_csv(X[:, :3]), "text/csv", "text/csv")
    with pytest.raises(DataFormatError, match="expects 5"):
        model.predict(b"0:1 7:2", "text/libsvm", "text/csv")
    # sparse requests may leave out trailing features
    body, _ = model.predict(b"0:1 1:2", "text/libsvm", "text/csv")
    assert len(body.split(b"\n")) == 1


def test_bad_payload_is_a_data_format_error(models) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    with pytest.raises(DataFormatError):
        model.predict(b"1,2,abc,4,5", "text/csv", "text/csv")


def test_batch_mode_trailing_newline(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    model = XGBoostModel.load(models["reg"])
    body, _ = model.predict(_csv(X), "text/csv", "text/csv")
    assert body.endswith(b"\n") and body.count(b"\n") == 5


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="xgboost-model"):
        XGBoostModel.load(tmp_path)
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    with pytest.raises(ValidationError, match="not an XGBoost model"):
        XGBoostModel.load(tmp_path)


def test_model_attributes(models) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["softprob"])
    assert model.objective == "multi:softprob"
    assert model.num_class == 3
    assert model.n_features == 5


@pytest.mark.parametrize("accept", [None, "application/json", "application/jsonlines", "text/csv"])
def test_predict_batch_of_one_line_csv_bodies_answers_as_predict(models, X, accept) -> None:  # type: ignore[no-untyped-def]
    """The joint numpy parse of 1-line CSV bodies gives each request predict's own answer."""
    model = XGBoostModel.load(models["logistic"])
    lines = _csv(X).split(b"\n")
    odd = [
        lines[0],
        b",".join(lines[1].split(b",")[:-1]) + b",",  # an empty cell: NaN, the model's parser
        b'"' + lines[2].replace(b",", b'","') + b'"',  # quoted cells
        b" " + lines[3].replace(b",", b", "),  # spaces around numbers
    ]
    for bodies in (lines, odd, [lines[0], lines[1] + b",1.0"]):
        requests = [(body, "text/csv", accept) for body in bodies]
        try:
            alone = [model.predict(*r) for r in requests]
        except Exception:  # a bad request in the batch: predict_batch refuses, as the server
            with pytest.raises(Exception):  # noqa: B017 - then predicts one by one
                model.predict_batch(requests)
            continue
        assert model.predict_batch(requests) == alone


def test_accept_negotiation_follows_the_environment_per_call(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    model = XGBoostModel.load(models["reg"])
    requests = [(_csv(X[:1]), "text/csv", None)] * 2
    assert [t for _, t in model.predict_batch(requests)] == ["text/csv"] * 2
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    assert [t for _, t in model.predict_batch(requests)] == ["application/json"] * 2


@pytest.mark.parametrize("name", ["reg", "logistic", "softprob", "softmax", "kfold"])
def test_small_inputs_predict_as_inplace_predict(models, data, name: str) -> None:  # type: ignore[no-untyped-def]
    """Small dense inputs take the direct single-thread C call: the same numbers, shapes and
    dtype as XGBoost's own inplace_predict, for float32 and float64, with missing values."""
    from openmaker.algorithms.xgboost.small_predict import SINGLE_THREAD_ROWS, SmallPredictor

    model = XGBoostModel.load(models[name])
    kind = "regression" if name == "reg" else "binary" if name != "softprob" else "multiclass"
    X = data(kind)[0][:40].astype(np.float32)
    X[3, 1] = np.nan
    X[7] = np.nan
    for matrix in (X, X.astype(np.float64), X[:1], np.asfortranarray(X), X[::2]):
        assert SmallPredictor.accepts(matrix)
        expected = combine_predictions(
            [b.inplace_predict(matrix, missing=np.nan) for b in model.boosters], model.objective
        )
        got = model.predict_array(matrix)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True)
    assert model._small is not None and len(model._small) == len(model.boosters)
    big = np.tile(X, (SINGLE_THREAD_ROWS // 40 + 1, 1))
    assert not SmallPredictor.accepts(big)
    assert not SmallPredictor.accepts(np.zeros((2, X.shape[1]), dtype=np.int32))
    assert np.array_equal(model.predict_array(big)[:40], model.predict_array(X), equal_nan=True)


def test_small_inputs_keep_the_best_iteration(ws, data) -> None:  # type: ignore[no-untyped-def]
    """A model that stopped early predicts with its best iteration on the small path too."""
    run = ws.train_data(
        "binary",
        extra={"num_round": "200", "early_stopping_rounds": "3", "eta": "0.9"},
        validation=True,
    )
    model = XGBoostModel.load(run.model_dir)
    booster = model.boosters[0]
    best = int(booster.attr("best_iteration"))
    assert best + 1 < booster.num_boosted_rounds()
    X = data("binary")[0][:20].astype(np.float32)
    expected = booster.inplace_predict(X, iteration_range=(0, best + 1), missing=np.nan)
    assert np.array_equal(model.predict_array(X), expected)


def test_predict_batch_mixed_requests_answer_as_predict(models, X, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Batches the joint CSV parse does not take (mixed content types, several rows, Accepts)
    still answer each request as predict does; batch transform's trailing newline too."""
    model = XGBoostModel.load(models["softprob"])
    lines = _csv(X).split(b"\n")
    requests = [
        (lines[0], "text/csv", None),
        (lines[1], "text/csv; charset=utf-8", "application/json"),
        (b"\n".join(lines[2:4]), "text/csv", "text/csv"),
        (_encode(X[:2], "application/json"), "application/json", "application/jsonlines"),
    ]
    assert model.predict_batch(requests) == [model.predict(*r) for r in requests]
    monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    reg = XGBoostModel.load(models["reg"])
    same = [(line, "text/csv", None) for line in lines]
    assert reg.predict_batch(same) == [reg.predict(*r) for r in same]
    assert all(body.endswith(b"\n") for body, _ in reg.predict_batch(same))
