"""Training: correctness against scikit-learn, formats and modes, metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA

from openmaker.algorithms.pca.spec import SPEC
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.metrics import format_log_line
from openmaker.testing import check_algorithm

RECORDIO = "application/x-recordio-protobuf"


def _same_components(ours, theirs, atol):
    """Components equal up to the sign convention (ours: largest |entry| positive)."""
    for a, b in zip(ours.T, theirs.T, strict=True):
        b = b * np.sign(b[np.argmax(np.abs(b))])
        np.testing.assert_allclose(a, b, atol=atol)


def test_regular_matches_scikit_learn(ws, data):
    run = ws.fit(data, num_components=3)
    model = run.model()
    peer = PCA(3, svd_solver="full").fit(data.astype(np.float64))
    _same_components(model.components, peer.components_.T, 1e-5)
    np.testing.assert_allclose(model.singular_values, peer.singular_values_, rtol=1e-5)
    np.testing.assert_allclose(model.mean, peer.mean_, rtol=1e-5)
    np.testing.assert_allclose(
        model.meta["explained_variance_ratio"], peer.explained_variance_ratio_, rtol=1e-5
    )
    assert model.meta["num_records"] == 300
    # descending order, projections (x - mean) · v
    assert np.all(np.diff(model.singular_values) <= 0)
    P = model.project(data[:4])
    np.testing.assert_allclose(np.abs(P), np.abs(peer.transform(data[:4])), rtol=1e-4, atol=1e-4)


def test_randomized_matches_scikit_learn_on_low_rank_data(ws, make_data):
    X = make_data(n=400, d=30, rank=3)
    run = ws.fit(X, num_components=3, algorithm_mode="randomized")
    model = run.model()
    peer = PCA(3, svd_solver="full").fit(X.astype(np.float64))
    _same_components(model.components, peer.components_.T, 1e-3)
    np.testing.assert_allclose(model.singular_values, peer.singular_values_, rtol=1e-3)
    assert "sketch of 13 rows over 30 features" in run.log
    assert model.meta["algorithm_mode"] == "randomized"


def test_randomized_with_sketch_as_wide_as_the_data_is_exact(ws, data):
    run = ws.fit(data, num_components=3, algorithm_mode="randomized", extra_components=20)
    peer = PCA(3, svd_solver="full").fit(data.astype(np.float64))
    np.testing.assert_allclose(run.model().singular_values, peer.singular_values_, rtol=1e-6)


def test_subtract_mean_false_uses_uncentred_data(ws, data):
    model = ws.fit(data, num_components=2, subtract_mean="false").model()
    assert np.array_equal(model.mean, np.zeros(8))
    _, s, Vt = np.linalg.svd(data.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(model.singular_values, s[:2], rtol=1e-6)
    _same_components(model.components, Vt[:2].T, 1e-5)
    np.testing.assert_allclose(model.project(data[:3]), data[:3] @ model.components, rtol=1e-6)
    assert model.meta["subtract_mean"] is False


@pytest.mark.parametrize("mode", ["File", "Pipe"])
@pytest.mark.parametrize("content_type", ["text/csv", RECORDIO])
def test_formats_and_modes_give_the_same_model(ws, data, mode, content_type):
    reference = ws.fit(data, "text/csv", mode="File", num_components=3).model_bytes()
    assert ws.fit(data, content_type, mode=mode, num_components=3).model_bytes() == reference


def test_several_files_and_small_batches(ws, data):
    reference = ws.fit(data, num_components=3).model()
    channel = ws.channel("train", data, RECORDIO, mode="Pipe", parts=3)
    hp = {"feature_dim": 8, "mini_batch_size": 7, "num_components": 3}
    model = ws.train(hp, {"train": channel}).model()
    np.testing.assert_allclose(model.components, reference.components, atol=1e-6)


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_sparse_recordio_matches_dense(ws, mode):
    rng = np.random.default_rng(4)
    X = sp.random(200, 12, density=0.3, format="csr", random_state=rng, dtype=np.float32)
    X = X + sp.csr_matrix(
        np.outer(rng.normal(size=200), np.linspace(1, 2, 12)) * (X.toarray() != 0)
    )
    X = sp.csr_matrix(X, dtype=np.float32)
    dense = ws.fit(X.toarray(), RECORDIO, num_components=2, algorithm_mode=mode).model()
    # randomized mode multiplies dense float32 batches in float32, sparse ones in float64
    tol = 1e-8 if mode == "regular" else 1e-5
    for pipe in ("File", "Pipe"):
        sparse = ws.fit(X, RECORDIO, mode=pipe, num_components=2, algorithm_mode=mode).model()
        np.testing.assert_allclose(sparse.components, dense.components, atol=tol)
        np.testing.assert_allclose(sparse.singular_values, dense.singular_values, rtol=tol)


def test_sparse_rows_narrower_than_feature_dim_are_padded(ws):
    X = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 0], [4, 0, 0], [0, 1, 1]], np.float32))
    model = ws.fit(X, RECORDIO, feature_dim=5, num_components=2).model()
    assert model.components.shape == (5, 2)
    np.testing.assert_allclose(model.components[3:], 0, atol=1e-12)


def test_csv_with_label_size_drops_the_label_column(ws, data):
    reference = ws.fit(data, num_components=2).model_bytes()
    labels = np.arange(300, dtype=np.float32)
    channel = ws.channel("train", data, y=labels, params={"label_size": "1"})
    hp = {"feature_dim": 8, "mini_batch_size": 64, "num_components": 2}
    assert ws.train(hp, {"train": channel}).model_bytes() == reference


def test_metric_lines_match_the_declared_regexes(ws, data, make_data):
    test = make_data(n=60, seed=1)
    run = ws.fit(data, num_components=3, test=test)
    found = {}
    for line in run.log.splitlines():
        for metric in SPEC.metrics:
            value = metric.match(format_log_line(line))
            if value is not None:
                found[metric.name] = value
    assert set(found) == {m.name for m in SPEC.metrics}
    model = run.model()
    assert found["train:explained_variance_ratio"] == pytest.approx(
        sum(model.meta["explained_variance_ratio"]), rel=1e-8
    )
    # reconstruction error by hand: rows centred by the training mean, minus their projection
    Xc = test.astype(np.float64) - model.mean
    R = Xc - (Xc @ model.components) @ model.components.T
    error = float((R * R).sum(axis=1).mean())
    assert found["test:reconstruction_error"] == pytest.approx(error, rel=1e-5)
    ratio = 1 - (R * R).sum() / (Xc * Xc).sum()
    assert found["test:explained_variance_ratio"] == pytest.approx(ratio, rel=1e-6)
    assert found["train:progress"] == 100
    assert "#test_score (algo-1) : ('reconstruction_error'," in run.log
    assert "explained variance ratio per component: " in run.log
    assert "#quality_metric: host=algo-1, train explained_variance_ratio <score>=" in run.log


def test_fixed_seed_is_deterministic(ws, data):
    for mode in ("regular", "randomized"):
        a = ws.fit(data, num_components=3, algorithm_mode=mode).model_bytes()
        b = ws.fit(data, num_components=3, algorithm_mode=mode, mode="Pipe").model_bytes()
        assert a == b


# --- bad input ---------------------------------------------------------------------------------


def test_feature_dim_not_matching_dense_data(ws, data):
    with pytest.raises(ValidationError, match="8 features but feature_dim is 9"):
        ws.fit(data, feature_dim=9)
    with pytest.raises(ValidationError, match="feature_dim"):
        ws.fit(data, RECORDIO, mode="Pipe", feature_dim=7)


def test_feature_dim_narrower_than_sparse_data(ws):
    X = sp.csr_matrix(np.eye(6, dtype=np.float32))
    with pytest.raises(DataFormatError, match="feature index 5, but feature_dim is 4"):
        ws.fit(X, RECORDIO, feature_dim=4)


def test_test_channel_width_is_checked(ws, data):
    with pytest.raises(ValidationError, match=r"'test'.*7 features"):
        ws.fit(data, test=data[:, :7])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("content_type", ["text/csv", RECORDIO])
def test_nan_and_infinity_are_refused(ws, data, bad, content_type):
    X = data.copy()
    X[150, 2] = bad
    with pytest.raises(DataFormatError, match=r"Channel 'train'.*NaN or infinite"):
        ws.fit(X, content_type, mode="Pipe")


def test_nan_in_sparse_data_is_refused(ws):
    X = sp.csr_matrix(np.array([[1.0, 0, np.nan], [0, 2, 0], [1, 1, 1]], np.float32))
    with pytest.raises(DataFormatError, match="NaN"):
        ws.fit(X, RECORDIO)


def test_constant_features_warn_and_train(ws, data):
    X = data.copy()
    X[:, 2] = 7.5
    X[:, 5] = 0.0
    for mode in ("regular", "randomized"):
        run = ws.fit(X, num_components=3, algorithm_mode=mode)
        assert "WARNING" in run.log
        assert "2 feature(s) have zero variance (constant): [2, 5]" in run.log
        model = run.model()
        assert np.all(np.isfinite(model.components))
        np.testing.assert_allclose(model.components[[2, 5]], 0, atol=1e-6)


def test_all_constant_features_warn_and_give_zero_variance(ws):
    X = np.tile(np.array([1.0, 2.0, 3.0, 4.0], np.float32), (50, 1))
    for mode in ("regular", "randomized"):
        run = ws.fit(X, num_components=2, algorithm_mode=mode, test=X[:5])
        assert "4 feature(s) have zero variance" in run.log
        assert "only 0 direction(s) carry variance" in run.log
        model = run.model()
        assert np.array_equal(model.singular_values, np.zeros(2))
        np.testing.assert_allclose(model.components.T @ model.components, np.eye(2), atol=1e-12)
        np.testing.assert_allclose(model.project(X[:3]), 0, atol=1e-5)
        assert "train explained_variance_ratio <score>=0" in run.log


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_more_components_than_rank_warns(ws, mode):
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(100, 2)) @ rng.normal(size=(2, 6)) + 1.0).astype(np.float32)
    run = ws.fit(X, num_components=4, algorithm_mode=mode)
    assert "only 2 direction(s) carry variance; the remaining 2 component(s)" in run.log
    assert "zero variance" not in run.log
    model = run.model()
    assert np.count_nonzero(model.singular_values) == 2
    np.testing.assert_allclose(model.components.T @ model.components, np.eye(4), atol=1e-6)


def test_empty_channel_is_refused(ws, tmp_path):
    from openmaker.spec.algorithm import ChannelInput

    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "part-0").write_bytes(b"")
    channel = ChannelInput(name="train", content_type="text/csv", path=folder)
    with pytest.raises(DataFormatError, match="no records"):
        ws.train({"feature_dim": 3, "mini_batch_size": 5, "num_components": 1}, {"train": channel})


def test_missing_train_channel(ws, data):
    from openmaker.errors import ChannelError

    test = ws.channel("test", data)
    with pytest.raises(ChannelError, match="train"):
        ws.train({"feature_dim": 8, "mini_batch_size": 5, "num_components": 1}, {"test": test})


def test_conformance():
    check_algorithm("pca")
