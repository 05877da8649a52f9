"""Training: sampling, formats and modes, determinism, metrics, the test channel, bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.random_cut_forest.evaluate import EvaluationMetrics
from openmaker.algorithms.random_cut_forest.spec import SPEC
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError, ValidationError
from openmaker.spec.metrics import format_log_line

from .conftest import RECORDIO, check_forest, inliers_and_outliers


def _metrics(log: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in log.splitlines():
        for m in SPEC.metrics:
            value = m.match(format_log_line(line))
            if value is not None:
                found.setdefault(m.name, []).append(value)
    return found


def _auc(scores, labels) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def test_trains_a_forest_that_finds_the_outliers(ws, data):
    X, y = data
    run = ws.fit(X)
    model = run.model()
    check_forest(model.forest)
    assert model.num_trees == 50 and model.feature_dim == 4
    assert model.forest.tree_mass().tolist() == [32] * 50
    assert model.meta["num_records"] == 1820 and model.meta["num_samples_in_forest"] == 1600
    scores = model.scores(X)
    assert _auc(scores, y) > 0.99
    # SageMaker's scale: ordinary records around 1, anomalies well above
    assert 0.5 < np.median(scores[y == 0]) < 1.5
    assert np.median(scores[y == 1]) > 2 * np.median(scores[y == 0])
    assert "ForestInfo: num_trees=50, num_samples_in_forest=1600, num_samples_per_tree=32" in (
        run.log
    )


def test_too_few_records_give_floor_records_per_tree(ws):
    # SageMaker's log: 4032 records, 50 trees, 512 asked -> 80 per tree, 4000 in the forest
    X = np.random.default_rng(0).normal(size=(4032, 2)).astype(np.float32)
    run = ws.fit(X, RECORDIO, num_samples_per_tree=512)
    model = run.model()
    assert model.forest.tree_mass().tolist() == [80] * 50
    assert model.meta["num_samples_in_forest"] == 4000
    assert "each tree gets 80" in run.log and "WARNING" in run.log


@pytest.mark.parametrize("mode", ["File", "Pipe"])
@pytest.mark.parametrize("content_type", ["text/csv", RECORDIO])
def test_formats_modes_and_batch_sizes_give_the_same_model(ws, data, mode, content_type):
    X, _ = data
    reference = ws.fit(X, "text/csv", mode="File").model_bytes()
    assert ws.fit(X, content_type, mode=mode, mini_batch_size=37).model_bytes() == reference


def test_several_files_and_the_sample_is_uniform_over_them(ws):
    X = np.concatenate([np.zeros((500, 1)), np.ones((500, 1))]).astype(np.float32)
    channel = ws.channel("train", X, RECORDIO, mode="Pipe", parts=4)
    run = ws.train(
        {"feature_dim": 1, "num_trees": 50, "num_samples_per_tree": 10}, {"train": channel}
    )
    lo, left, mass = (run.model().forest.flat(n) for n in ("lo", "left", "mass"))
    leaves = (left < 0) & (mass > 0)
    ones = mass[leaves & (lo[:, 0] == 1.0)].sum()
    assert 200 < ones < 300  # half of the 500 sampled records come from the second half


def test_sparse_recordio_is_made_dense(ws, data):
    X, _ = data
    S = X.copy()
    S[np.abs(S) < 0.5] = 0
    dense = ws.fit(S, RECORDIO).model_bytes()
    assert ws.fit(sp.csr_matrix(S), RECORDIO).model_bytes() == dense


def test_csv_label_size_drops_leading_columns(ws, data):
    X, y = data
    reference = ws.fit(X).model_bytes()
    channel = ws.channel("train", X, "text/csv", y=y, params={"label_size": "1"})
    run = ws.train(
        {"feature_dim": 4, "num_trees": 50, "num_samples_per_tree": 32}, {"train": channel}
    )
    assert run.model_bytes() == reference


@pytest.mark.parametrize("content_type", ["text/csv", RECORDIO])
def test_test_channel_metrics(ws, data, content_type):
    X, _y = data
    test_X, test_y = inliers_and_outliers(n=300, n_out=6, seed=5)
    run = ws.fit(X, content_type, test=(test_X, test_y))
    found = _metrics(run.log)
    expected = EvaluationMetrics.compute(run.model().scores(test_X), test_y)
    assert expected.recall == 1.0 and expected.f1 > 0.9  # far outliers pass three sigma
    assert found["test:f1"] == [pytest.approx(expected.f1, abs=1e-9)]
    assert found["test:accuracy"] == [pytest.approx(expected.accuracy, abs=1e-9)]
    assert found["test:precision"] == [pytest.approx(expected.precision, abs=1e-9)]
    assert found["test:recall_neg"] == [pytest.approx(expected.recall_neg, abs=1e-9)]
    assert set(found) == {m.name for m in SPEC.metrics}
    assert "#test_score (algo-1) : ('f1', " in run.log
    for line in run.log.splitlines():
        if "#quality_metric" in line:
            assert re.match(r"\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d INFO \d+\] #quality_metric", line)


def test_eval_metrics_choose_the_extra_lines(ws, data):
    X, y = data
    run = ws.fit(X, test=(X, y), eval_metrics='["accuracy"]')
    assert set(_metrics(run.log)) == {
        "test:f1",
        "test:accuracy",
        "train:progress",
        "train:throughput",
    }
    run = ws.fit(X, test=(X, y), eval_metrics="['precision_recall_fscore']")
    assert "test:accuracy" not in _metrics(run.log)
    assert "test:precision_neg" in _metrics(run.log)


def test_three_sigma_metrics_by_hand():
    scores = np.array([1.0] * 98 + [10.0, 1.0])
    labels = np.array([0] * 98 + [1, 1])
    m = EvaluationMetrics.compute(scores, labels)
    assert m.flagged == 1 and m.anomalies == 2
    assert (m.precision, m.recall, m.f1) == (1.0, 0.5, pytest.approx(2 / 3))
    assert m.accuracy == 0.99 and m.precision_neg == pytest.approx(98 / 99)
    none = EvaluationMetrics.compute(np.ones(10), np.zeros(10))
    assert none.flagged == 0 and none.precision == 0.0 and none.f1 == 0.0


def test_conformance():
    from openmaker.testing import check_algorithm

    check_algorithm("randomcutforest")


# --- bad input ---------------------------------------------------------------------------------


def test_feature_dim_must_match(ws, data):
    X, _ = data
    with pytest.raises(ValidationError, match="4 features but feature_dim is 5"):
        ws.fit(X, feature_dim=5)
    with pytest.raises(DataFormatError, match="feature index"):
        ws.fit(sp.csr_matrix(X), RECORDIO, feature_dim=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_infinity_are_refused(ws, data, bad):
    X, y = data
    Xb = X.copy()
    Xb[7, 1] = bad
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        ws.fit(Xb, RECORDIO)
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        ws.fit(X, RECORDIO, test=(Xb, y))


def test_test_channel_needs_labels(ws, data):
    X, _y = data
    train = ws.channel("train", X, RECORDIO)
    hp = {"feature_dim": 4, "num_trees": 50, "num_samples_per_tree": 8}
    unlabelled = ws.channel("test", X, RECORDIO)
    with pytest.raises(ChannelError, match="no label"):
        ws.train(hp, {"train": train, "test": unlabelled})
    declared = ws.channel("test", X, "text/csv", params={"label_size": "0"})
    with pytest.raises(ChannelError, match="label_size=0"):
        ws.train(hp, {"train": train, "test": declared})
    wrong = ws.channel("test", X, "text/csv", y=np.full(len(X), 2.0), params={"label_size": "1"})
    with pytest.raises(DataFormatError, match=r"record 0: label 2\.0"):
        ws.train(hp, {"train": train, "test": wrong})


def test_fewer_records_than_trees(ws):
    X = np.zeros((49, 2), dtype=np.float32)
    with pytest.raises(HyperparameterError, match="num_trees") as info:
        ws.fit(X)
    assert info.value.parameter == "num_trees"


def test_empty_and_missing_channels(ws, tmp_path):
    from openmaker.algorithms.random_cut_forest.train import train
    from openmaker.spec.algorithm import ChannelInput

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "part-0").write_bytes(b"")
    channel = ChannelInput(name="train", content_type="text/csv", path=empty)
    with pytest.raises(DataFormatError, match="no records"):
        ws.train({"feature_dim": 2}, {"train": channel})
    with pytest.raises(ChannelError, match="train"):
        train(SPEC.validate_hyperparameters({"feature_dim": 2}), {}, None)  # type: ignore[arg-type]
