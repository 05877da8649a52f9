"""Training: every content type and mode, weights, early stopping, checkpoints, k-fold, logs."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from openmaker.algorithms.xgboost.checkpoints import load_booster
from openmaker.algorithms.xgboost.model import XGBoostModel
from openmaker.algorithms.xgboost.spec import SPEC
from openmaker.errors import ChannelError, DataFormatError, ValidationError
from openmaker.spec.metrics import format_log_line

FILE_TYPES = ["text/libsvm", "text/csv", "application/x-parquet", "application/x-recordio-protobuf"]
PIPE_TYPES = ["text/csv", "application/x-parquet", "application/x-recordio-protobuf"]
KINDS = ["regression", "binary", "multiclass"]


def _quality(kind: str, run, data) -> float:  # type: ignore[no-untyped-def]
    X, y = data(kind)
    model = XGBoostModel.load(run.model_dir)
    pred = model.predict_array(X[120:])
    if kind == "regression":
        return float(1 - np.mean((pred - y[120:]) ** 2) / np.var(y[120:]))
    labels = np.argmax(pred, axis=1) if pred.ndim == 2 else (pred > 0.5)
    return float(np.mean(labels == y[120:]))


@pytest.mark.parametrize("content_type", FILE_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_file_mode_every_content_type(ws, data, kind: str, content_type: str) -> None:  # type: ignore[no-untyped-def]
    run = ws.train_data(kind, content_type, extra={"num_round": "8"})
    assert (run.model_dir / "xgboost-model").is_file()
    lines = run.metric_lines()
    assert len(lines) == 8
    assert lines[0].startswith("[0]\ttrain-") and "\tvalidation-" in lines[0]
    assert _quality(kind, run, data) > 0.6


@pytest.mark.parametrize("content_type", PIPE_TYPES)
def test_pipe_mode(ws, data, content_type: str) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    channels = {
        "train": ws.channel("train", X[:120], y[:120], content_type, mode="Pipe", parts=3),
        "validation": ws.channel("validation", X[120:], y[120:], content_type, mode="Pipe"),
    }
    hp = {"num_round": "5", "objective": "binary:logistic", "max_depth": "3"}
    pipe = ws.train(hp, channels)
    file_channels = {
        "train": ws.channel("train", X[:120], y[:120], content_type),
        "validation": ws.channel("validation", X[120:], y[120:], content_type),
    }
    file = ws.train(hp, file_channels)
    # hist on a QuantileDMatrix and on a DMatrix give the same model here
    assert pipe.metric_lines() == file.metric_lines()
    assert _quality("binary", pipe, data) > 0.8


def test_pipe_mode_sparse_recordio_and_exact_fallback(ws, data) -> None:  # type: ignore[no-untyped-def]
    import scipy.sparse as sp

    X, y = data("regression")
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    ct = "application/x-recordio-protobuf"
    channels = {
        "train": ws.channel("train", Xs[:120], y[:120], ct, mode="Pipe", parts=2),
        "validation": ws.channel("validation", Xs[120:], y[120:], ct, mode="Pipe"),
    }
    run = ws.train({"num_round": "3"}, channels)
    assert len(run.metric_lines()) == 3
    exact = ws.train({"num_round": "3", "tree_method": "exact"}, channels)
    assert "gathering the streamed batches" in exact.log
    assert len(exact.metric_lines()) == 3


def test_libsvm_pipe_mode_refused(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    channels = {"train": ws.channel("train", X, y, "text/libsvm", mode="Pipe")}
    with pytest.raises(ChannelError, match="Pipe mode not supported for LibSVM"):
        ws.train({"num_round": "2"}, channels)


def test_csv_weights(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("regression")
    ones = np.ones(len(y), np.float32)
    plain = ws.train({"num_round": "3"}, {"train": ws.channel("train", X, y, "text/csv")})
    weighted_ones = ws.train(
        {"num_round": "3", "csv_weights": "1"},
        {"train": ws.channel("train", X, y, "text/csv", weights=ones)},
    )
    skewed = ones.copy()
    skewed[: len(y) // 2] = 0.0
    weighted = ws.train(
        {"num_round": "3", "csv_weights": "1"},
        {"train": ws.channel("train", X, y, "text/csv", weights=skewed)},
    )
    a = XGBoostModel.load(plain.model_dir).predict_array(X)
    b = XGBoostModel.load(weighted_ones.model_dir).predict_array(X)
    c = XGBoostModel.load(weighted.model_dir).predict_array(X)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(a, c)
    assert XGBoostModel.load(weighted.model_dir).n_features == X.shape[1]


def test_libsvm_weights_are_used(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("regression")
    w = np.ones(len(y), np.float32)
    w[:80] = 0.0
    a = ws.train({"num_round": "3"}, {"train": ws.channel("train", X, y, "text/libsvm")})
    b = ws.train({"num_round": "3"}, {"train": ws.channel("train", X, y, "text/libsvm", weights=w)})
    pa = XGBoostModel.load(a.model_dir).predict_array(X)
    pb = XGBoostModel.load(b.model_dir).predict_array(X)
    assert not np.allclose(pa, pb)


def test_early_stopping_keeps_best_iteration(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    rng = np.random.default_rng(5)
    y_val = rng.integers(0, 2, 40).astype(np.float32)  # noise: validation gets worse
    channels = {
        "train": ws.channel("train", X[:120], y[:120], "text/csv"),
        "validation": ws.channel("validation", X[120:], y_val, "text/csv"),
    }
    hp = {
        "num_round": "60",
        "objective": "binary:logistic",
        "eta": "1",
        "max_depth": "6",
        "min_child_weight": "0",
        "eval_metric": "error,logloss",
        "early_stopping_rounds": "3",
    }
    run = ws.train(hp, channels)
    assert "validation-logloss hasn't improved in 3 rounds" in run.log
    lines = run.metric_lines()
    rounds = sorted({int(line[1 : line.index("]")]) for line in lines})
    assert len(rounds) < 60
    booster = load_booster(run.model_dir / "xgboost-model")
    best = int(booster.attr("best_iteration"))
    assert best < rounds[-1]
    model = XGBoostModel.load(run.model_dir)
    full = booster.inplace_predict(X[120:])
    at_best = booster.inplace_predict(X[120:], iteration_range=(0, best + 1))
    np.testing.assert_allclose(model.predict_array(X[120:]), at_best)
    assert not np.allclose(full, at_best)


def test_early_stopping_on_tuning_metric_without_validation_warns(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    hp = {
        "num_round": "3",
        "objective": "binary:logistic",
        "early_stopping_rounds": "2",
        "_tuning_objective_metric": "validation:f1",
        "eval_metric": "auc",
    }
    run = ws.train(hp, {"train": ws.channel("train", X, y, "text/csv")})
    assert "early_stopping_rounds is ignored" in run.log
    assert [line.split("\t")[1].split(":")[0] for line in run.metric_lines()[:2]] == [
        "train-auc",
        "train-f1",
    ]


def test_tuning_metric_drives_early_stopping(ws) -> None:  # type: ignore[no-untyped-def]
    run = ws.train_data(
        "binary",
        extra={
            "num_round": "6",
            "early_stopping_rounds": "2",
            "eval_metric": "auc,logloss",
            "_tuning_objective_metric": "validation:accuracy",
        },
    )
    assert "validation-accuracy hasn't improved" in run.log


def test_multiple_eval_metrics_and_regexes(ws) -> None:  # type: ignore[no-untyped-def]
    metrics = ["rmse", "mae", "mse", "r2", "mape"]
    run = ws.train_data("regression", extra={"eval_metric": ",".join(metrics), "num_round": "3"})
    lines = run.metric_lines()
    assert len(lines) == 3 * len(metrics)
    found: dict[str, list[float]] = {}
    for line in run.log.splitlines():
        text = format_log_line(line)
        for m in SPEC.metrics:
            value = m.match(text)
            if value is not None:
                found.setdefault(m.name, []).append(value)
    for metric in metrics:
        assert len(found[f"validation:{metric}"]) == 3, metric
        assert len(found[f"train:{metric}"]) == 3, metric
    # printed values are the ones the metric parser reads
    first = lines[0].split("\t")
    assert float(first[2].split(":")[1]) == found["validation:rmse"][0]
    # every metric line has exactly the documented shape
    for line in lines:
        assert line.count("\t") == 2
        assert line.split("\t")[1].startswith("train-")
        assert line.split("\t")[2].startswith("validation-")


@pytest.mark.parametrize(
    ("kind", "metrics"),
    [
        ("binary", "accuracy,balanced_accuracy,f1,f1_binary,precision,recall,auc,error@0.6"),
        ("multiclass", "accuracy,f1_macro,precision_micro,recall_macro,merror,mlogloss"),
    ],
)
def test_container_metrics(ws, kind: str, metrics: str) -> None:  # type: ignore[no-untyped-def]
    run = ws.train_data(kind, extra={"eval_metric": metrics, "num_round": "2"})
    names = {line.split("\t")[2].split(":")[0] for line in run.metric_lines()}
    assert names == {f"validation-{m}" for m in metrics.split(",")}
    for line in run.metric_lines():
        value = float(line.split("\t")[2].split(":")[1])
        assert np.isfinite(value)


def test_only_container_metrics_suppress_default_metric(ws) -> None:  # type: ignore[no-untyped-def]
    run = ws.train_data("binary", extra={"eval_metric": "accuracy", "num_round": "2"})
    assert all("accuracy" in line for line in run.metric_lines())


def test_fixed_seed_gives_identical_model_bytes(ws) -> None:  # type: ignore[no-untyped-def]
    extra = {"seed": "7", "subsample": "0.7", "colsample_bytree": "0.6", "num_round": "5"}
    a = ws.train_data("binary", extra=extra)
    b = ws.train_data("binary", extra=extra)
    c = ws.train_data("binary", extra={**extra, "seed": "8"})
    bytes_a = (a.model_dir / "xgboost-model").read_bytes()
    assert bytes_a == (b.model_dir / "xgboost-model").read_bytes()
    assert bytes_a != (c.model_dir / "xgboost-model").read_bytes()


def test_checkpoints_and_resume(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("regression")
    channels = {
        "train": ws.channel("train", X[:120], y[:120], "text/csv"),
        "validation": ws.channel("validation", X[120:], y[120:], "text/csv"),
    }
    ctx = ws.context("resumed")
    first = ws.train({"num_round": "7"}, channels, context=ctx)
    names = sorted(p.name for p in ctx.checkpoint_dir.iterdir())
    assert names == [f"xgboost-checkpoint.{i}" for i in range(2, 7)]  # the last five
    assert len(first.metric_lines()) == 7

    ctx2 = ws.context("resumed")  # same folders: a restarted job
    second = ws.train({"num_round": "10"}, channels, context=ctx2)
    assert "Resuming from checkpoint xgboost-checkpoint.6: 7 rounds done, training 3 more" in (
        second.log
    )
    assert [line.split("\t")[0] for line in second.metric_lines()] == ["[7]", "[8]", "[9]"]
    resumed = load_booster(ctx2.model_dir / "xgboost-model")
    assert resumed.num_boosted_rounds() == 10

    straight = ws.train({"num_round": "10"}, channels, tag="straight")
    np.testing.assert_allclose(
        XGBoostModel.load(ctx2.model_dir).predict_array(X),
        XGBoostModel.load(straight.model_dir).predict_array(X),
        rtol=1e-5,
    )
    # nothing left to do: the checkpoint becomes the model
    ctx3 = ws.context("resumed")
    third = ws.train({"num_round": "10"}, channels, context=ctx3)
    assert third.metric_lines() == []
    assert load_booster(ctx3.model_dir / "xgboost-model").num_boosted_rounds() == 10


def test_resume_with_fewer_rounds_truncates(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("regression")
    channels = {"train": ws.channel("train", X, y, "text/csv")}
    ws.train({"num_round": "6"}, channels, context=ws.context("again"))
    ctx = ws.context("again")
    ws.train({"num_round": "4"}, channels, context=ctx)
    assert load_booster(ctx.model_dir / "xgboost-model").num_boosted_rounds() == 4


def test_checkpoint_pacer() -> None:
    from openmaker.algorithms.xgboost.boosting import _CheckpointPacer

    pacer = _CheckpointPacer()
    assert pacer.due(0.0, final=False)
    pacer.record(0.0, 0.001)  # cheap saves: every round
    assert pacer.due(0.002, final=False)
    pacer.record(1.0, 1.5)  # a 0.5 s save: wait 5 s
    assert not pacer.due(2.0, final=False)
    assert pacer.due(2.0, final=True)
    assert pacer.due(6.6, final=False)


@pytest.mark.parametrize(("kind", "repeats"), [("multiclass", 1), ("regression", 2)])
def test_kfold(ws, data, kind: str, repeats: int) -> None:  # type: ignore[no-untyped-def]
    extra = {"_kfold": "3", "num_round": "3"}
    if repeats > 1:
        extra["_num_cv_round"] = str(repeats)
    run = ws.train_data(kind, extra=extra)
    files = sorted(p.name for p in run.model_dir.iterdir())
    assert files == [f"xgboost-model-{i}" for i in range(3 * repeats)]
    preds = (Path(run.context.output_dir) / "data" / "predictions.csv").read_text().splitlines()
    assert len(preds) == 160  # train + validation, in input order
    if kind == "multiclass":
        assert len(preds[0].split(",")) == 3
    assert "Mean over" in run.log
    model = XGBoostModel.load(run.model_dir)
    assert len(model.boosters) == 3 * repeats
    X, _ = data(kind)
    assert model.predict_array(X[:4]).shape[0] == 4
    # the last metric lines are the means over folds
    tail = run.log.splitlines()[-1]
    assert tail.startswith("[2]\ttrain-") and "\tvalidation-" in tail


def test_save_model_on_termination(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("regression")
    channels = {"train": ws.channel("train", X, y, "text/csv")}
    ctx = ws.context("term", checkpoints=False)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    timer.start()
    try:
        with pytest.raises(SystemExit) as info:
            ws.train(
                {"num_round": "1000000", "save_model_on_termination": "true"},
                channels,
                context=ctx,
            )
    finally:
        timer.cancel()
    assert info.value.code == 143
    assert signal.getsignal(signal.SIGTERM) == previous
    booster = load_booster(ctx.model_dir / "xgboost-model")
    assert 0 < booster.num_boosted_rounds() < 1000000
    assert "Received SIGTERM" in ctx.log.getvalue()


def test_sigterm_before_the_first_round_saves_after_it(ws, data) -> None:  # type: ignore[no-untyped-def]
    import xgboost as xgb

    from openmaker.algorithms.xgboost.boosting import _TerminationGuard

    ctx = ws.context("early-term", checkpoints=False)
    guard = _TerminationGuard(enabled=True, model_dir=ctx.model_dir, context=ctx)
    guard._on_sigterm(signal.SIGTERM, None)  # no model yet: remembered
    assert guard.pending and not (ctx.model_dir / "xgboost-model").exists()
    X, y = data("regression")
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(X, label=y), 1)
    with pytest.raises(SystemExit):
        guard.after_round(booster)
    assert load_booster(ctx.model_dir / "xgboost-model").num_boosted_rounds() == 1


def test_no_labels_is_a_clear_error(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, _ = data("binary")
    ch = ws.channel("train", X, None, "application/x-recordio-protobuf")
    with pytest.raises(ValidationError, match="no labels"):
        ws.train({"num_round": "2"}, {"train": ch})


def test_channel_errors(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    csv = ws.channel("train", X, y, "text/csv")
    libsvm = ws.channel("validation", X, y, "text/libsvm")
    with pytest.raises(ChannelError, match="same content type"):
        ws.train({"num_round": "2"}, {"train": csv, "validation": libsvm})
    with pytest.raises(ChannelError, match="train"):
        ws.train({"num_round": "2"}, {"validation": libsvm})
    with pytest.raises(ChannelError, match="label_size"):
        bad = ws.channel("train", X, y, "text/csv")
        ws.train(
            {"num_round": "2"},
            {"train": type(bad)(**{**bad.__dict__, "params": {"label_size": "0"}})},
        )


def test_label_range_checked(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("multiclass")
    ch = ws.channel("train", X, y + 1, "text/csv")
    with pytest.raises(ValidationError, match=r"labels in \[0, 2\]"):
        ws.train({"num_round": "2", "objective": "multi:softmax", "num_class": "3"}, {"train": ch})
    with pytest.raises(ValidationError, match=r"labels in \[0, 1\]"):
        ws.train({"num_round": "2", "objective": "binary:logistic"}, {"train": ch})


def test_dense_width_mismatch(ws, data) -> None:  # type: ignore[no-untyped-def]
    X, y = data("binary")
    channels = {
        "train": ws.channel("train", X, y, "text/csv"),
        "validation": ws.channel("validation", X[:, :3], y, "text/csv"),
    }
    with pytest.raises(DataFormatError, match="feature columns"):
        ws.train({"num_round": "2"}, channels)


def test_multi_host_needs_the_jobs_coordinator(ws, data) -> None:  # type: ignore[no-untyped-def]
    from openmaker.errors import PlatformError

    X, y = data("binary")
    ctx = ws.context("multi", hosts=("algo-1", "algo-2"))
    with pytest.raises(PlatformError, match="coordinator"):
        ws.train({"num_round": "2"}, {"train": ws.channel("train", X, y, "text/csv")}, ctx)


def test_legacy_parameters_are_accepted(ws) -> None:  # type: ignore[no-untyped-def]
    extra = {
        "sketch_eps": "0.1",
        "predictor": "cpu_predictor",
        "dsplit": "row",
        "tree_method": "gpu_hist",
        "num_round": "2",
        "verbosity": "0",
    }
    run = ws.train_data("regression", extra=extra)
    assert len(run.metric_lines()) == 2
    run = ws.train_data("regression", extra={"objective": "reg:linear", "num_round": "2"})
    assert "train-rmse" in run.metric_lines()[0]


def test_dart_and_gblinear(ws) -> None:  # type: ignore[no-untyped-def]
    ws.train_data("binary", extra={"booster": "dart", "rate_drop": "0.1", "seed": "1"})
    run = ws.train_data("regression", extra={"booster": "gblinear", "updater": "coord_descent"})
    assert len(run.metric_lines()) == 4


def test_xgboost_failure_is_an_algorithm_error(ws) -> None:  # type: ignore[no-untyped-def]
    from openmaker.errors import AlgorithmError

    with pytest.raises(AlgorithmError, match="XGB train call failed"):
        ws.train_data("regression", extra={"updater": "distcol"})


def test_conformance_suite() -> None:
    from openmaker.testing import check_algorithm

    check_algorithm("xgboost")
