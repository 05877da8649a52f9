"""Training: quality against scikit-learn, modes and formats, metric lines, bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.common import load_model_arrays
from openmaker.algorithms.linear_learner.model import LinearLearnerModel
from openmaker.algorithms.linear_learner.spec import SPEC
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.metrics import format_log_line

from .conftest import Workspace, hyperparameters, make_data

RECORDIO = "application/x-recordio-protobuf"


def _metrics(log: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in log.splitlines():
        for m in SPEC.metrics:
            v = m.match(format_log_line(line))
            if v is not None:
                found[m.name] = v
    return found


def _accuracy(ctx, kind: str) -> float:  # type: ignore[no-untyped-def]
    model = LinearLearnerModel.load(ctx.model_dir)
    X, y = make_data(kind)
    score, label = model.predict_array(X[300:])
    if label is None:
        return float(np.sqrt(np.mean((score - y[300:]) ** 2)))
    return float(np.mean(label == y[300:]))


def test_binary_matches_logistic_regression(ws: Workspace) -> None:
    from sklearn.linear_model import LogisticRegression

    ctx, log = ws.run("binary", test=True)
    X, y = make_data("binary")
    ref = LogisticRegression().fit(X[:300], y[:300]).score(X[300:], y[300:])
    assert _accuracy(ctx, "binary") >= ref - 0.03
    found = _metrics(log)
    for name in (
        "train:objective_loss",
        "validation:objective_loss",
        "validation:objective_loss:final",
        "validation:binary_f_beta",
        "validation:roc_auc_score",
        "test:precision",
        "test:recall",
        "test:binary_classification_accuracy",
        "train:progress",
        "train:throughput",
    ):
        assert name in found, name  # fmt: skip
    assert re.search(r"Best model found for hyperparameters: \{.*\"learning_rate\"", log)
    assert "#early_stopping_criteria_metric: host=algo-1, epoch=0, criteria=sampled_accuracy" in log
    assert "#validation_score (algo-1) : ('binary_classification_accuracy'," in log


def test_regression_matches_ridge_and_reports_label_units(ws: Workspace) -> None:
    from sklearn.linear_model import Ridge

    ctx, log = ws.run("regression", test=True, epochs=15)
    X, y = make_data("regression")
    pred = Ridge(alpha=1e-3).fit(X[:300], y[:300]).predict(X[300:])
    ref = float(np.sqrt(np.mean((pred - y[300:]) ** 2)))
    rmse = _accuracy(ctx, "regression")
    assert rmse <= ref * 1.5 + 0.02
    found = _metrics(log)
    assert found["validation:rmse"] == pytest.approx(rmse, rel=1e-3)
    assert found["test:mse"] == pytest.approx(rmse**2, rel=1e-3)
    assert "mse_objective" in log


def test_multiclass_learns(ws: Workspace) -> None:
    ctx, log = ws.run("multiclass", test=True, epochs=15)
    assert _accuracy(ctx, "multiclass") > 0.85
    found = _metrics(log)
    for name in (
        "validation:multiclass_accuracy",
        "test:multiclass_top_k_accuracy",
        "test:dcg",
        "test:macro_f_beta",
        "test:macro_precision",
        "test:macro_recall",
    ):
        assert name in found, name  # fmt: skip
    assert "multiclass_top_k_accuracy_3 <score>=" in log


@pytest.mark.parametrize(
    "loss",
    [
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ],
)
def test_regression_losses(ws: Workspace, loss: str) -> None:
    ctx, log = ws.run("regression", loss=loss, epochs=15, learning_rate=0.1)
    assert f"{loss}_objective" in log
    assert _accuracy(ctx, "regression") < 1.0


def test_hinge_and_selection_criteria(ws: Workspace) -> None:
    for crit in ("f_beta", "precision_at_target_recall", "recall_at_target_precision",
                 "loss_function"):  # fmt: skip
        ctx, _log = ws.run(
            "binary", loss="hinge_loss", binary_classifier_model_selection_criteria=crit
        )
        assert _accuracy(ctx, "binary") > 0.8, crit
    _, meta = load_model_arrays(ctx.model_dir)
    assert meta["threshold"] == 0.0  # loss_function keeps the default margin threshold


def test_file_and_pipe_csv_and_recordio_give_the_same_model(ws: Workspace) -> None:
    weights = []
    for ct in ("text/csv", RECORDIO):
        for mode in ("File", "Pipe"):
            ctx, _ = ws.run("binary", ct, mode)
            weights.append(load_model_arrays(ctx.model_dir)[0]["weight"])
    for w in weights[1:]:
        np.testing.assert_allclose(w, weights[0], rtol=1e-5, atol=1e-6)


def test_sparse_recordio_trains_and_stays_sparse(ws: Workspace) -> None:
    X, y = make_data("binary")
    X = X - 2.0
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    ch = {"train": ws.channel("train", Xs[:300], y[:300], RECORDIO, "Pipe"),
          "validation": ws.channel("validation", Xs[300:], y[300:], RECORDIO, "Pipe")}  # fmt: skip
    ctx, log = ws.train(hyperparameters("binary"), ch)
    arrays, _ = load_model_arrays(ctx.model_dir)
    assert np.all(arrays["mean_weight"] == 0)  # sparse: scaled, not centred
    assert _metrics(log)["validation:binary_classification_accuracy"] > 0.8


def test_l1_gives_zero_weights_for_noise_features(ws: Workspace) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 10)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.float32)
    ch = {"train": ws.channel("train", X, y)}
    hp = hyperparameters("binary", l1=0.05, num_models=1, epochs=10)
    ctx, _ = ws.train(hp, ch)
    w = load_model_arrays(ctx.model_dir)[0]["weight"][:, 0]
    assert np.count_nonzero(w[2:]) <= 3 and abs(w[0]) > 0.1


def test_balanced_positive_weight_raises_recall(ws: Workspace) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    y = (X[:, 0] + 0.8 * rng.normal(size=600) > 1.3).astype(np.float32)  # ~12 % positives
    ch = {"train": ws.channel("train", X, y)}
    base = {"num_models": 1, "binary_classifier_model_selection_criteria": "loss_function"}
    ctx1, _ = ws.train(hyperparameters("binary", **base), ch)
    ctx2, _ = ws.train(
        hyperparameters("binary", positive_example_weight_mult="balanced", **base), ch
    )
    recall = [
        np.mean(LinearLearnerModel.load(c.model_dir).predict_array(X)[1][y == 1])
        for c in (ctx1, ctx2)
    ]
    assert recall[1] > recall[0]


def test_early_stopping_stops(ws: Workspace) -> None:
    _, log = ws.run("binary", epochs=40, early_stopping_patience=1, early_stopping_tolerance=0.5)
    assert "Early stop condition met" in log
    assert "epoch=39" not in log


def test_balance_multiclass_weights_and_sgd_rmsprop(ws: Workspace) -> None:
    for opt in ("sgd", "rmsprop"):
        ctx, _ = ws.run("multiclass", optimizer=opt, balance_multiclass_weights="true", epochs=10)
        assert _accuracy(ctx, "multiclass") > 0.75, opt


def test_determinism(ws: Workspace) -> None:
    a, _ = ws.run("binary")
    b, _ = ws.run("binary")
    wa, ma = load_model_arrays(a.model_dir)
    wb, mb = load_model_arrays(b.model_dir)
    assert ma == mb
    for k in wa:
        assert np.array_equal(wa[k], wb[k])


# --- bad input ---------------------------------------------------------------------------------


def test_label_outside_the_classes(ws: Workspace) -> None:
    X, y = make_data("binary")
    y[5] = 2.0
    with pytest.raises(DataFormatError, match=r"label 2 is not a declared class"):
        ws.train(hyperparameters("binary"), {"train": ws.channel("train", X, y)})
    Xm, ym = make_data("multiclass")
    ym[-1] = 3.0  # arrives after the scaler sample
    with pytest.raises(DataFormatError, match=r"num_classes=3"):
        ws.train(hyperparameters("multiclass", num_point_for_scaler=50),
                 {"train": ws.channel("train", Xm, ym)})  # fmt: skip


def test_feature_dim_mismatch(ws: Workspace) -> None:
    X, y = make_data("binary")
    with pytest.raises(ValidationError, match="feature_dim is 7"):
        ws.train(hyperparameters("binary", feature_dim=7), {"train": ws.channel("train", X, y)})


def test_all_constant_features(ws: Workspace) -> None:
    X = np.ones((100, 3), np.float32)
    y = (np.arange(100) % 2).astype(np.float32)
    with pytest.raises(DataFormatError, match="constant"):
        ws.train(hyperparameters("binary"), {"train": ws.channel("train", X, y)})


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_in_data(ws: Workspace, bad: float) -> None:
    X, y = make_data("binary")
    X[250, 1] = bad
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        ws.train(hyperparameters("binary", num_point_for_scaler=100),
                 {"train": ws.channel("train", X, y, RECORDIO)})  # fmt: skip


def test_unlabelled_training_data(ws: Workspace) -> None:
    X, _ = make_data("binary")
    ch = ws.channel("train", X, None)
    ch = type(ch)(**{**ch.__dict__, "params": {"label_size": "0"}})
    with pytest.raises(DataFormatError, match="no labels"):
        ws.train(hyperparameters("binary"), {"train": ch})
