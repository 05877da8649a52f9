"""Training: exact search against brute force, sampling, formats and modes, index types,
dimension reduction, metrics, determinism and bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.errors import ChannelError, DataFormatError, HyperparameterError, ValidationError

from .conftest import RECORDIO, blobs, metrics


def _brute(Xt, yt, Xq, k):
    """Exact L2 neighbours and the majority label (ties: smallest), in float64."""
    d2 = ((Xq[:, None, :].astype(np.float64) - Xt[None, :, :]) ** 2).sum(-1)
    ids = np.argsort(d2, axis=1, kind="stable")[:, :k]
    labels = yt[ids]
    classes = np.unique(yt)
    counts = (labels[:, :, None] == classes[None, None, :]).sum(1)
    return np.sqrt(np.take_along_axis(d2, ids, 1)), ids, classes[counts.argmax(1)]


def test_flat_index_is_exact_search(ws):
    X, y = blobs(300)
    Xq, _ = blobs(80, seed=1)
    model = ws.fit(X, y).model()
    dist, ids = model.kneighbors(Xq)
    bd, bids, bpred = _brute(X, y, Xq, 5)
    np.testing.assert_array_equal(ids, bids)
    np.testing.assert_allclose(dist, bd, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(model.predict_array(Xq), bpred)
    assert model.meta["num_samples"] == 300 and model.meta["index_type"] == "faiss.Flat"


def test_regressor_predicts_the_mean_of_the_neighbours(ws):
    X, _ = blobs(200)
    y = (X @ np.arange(1, 6, dtype=np.float32)).astype(np.float32)
    model = ws.fit(X, y, predictor_type="regressor", k=4).model()
    Xq, _ = blobs(30, seed=2)
    _, ids, _ = _brute(X, y, Xq, 4)
    np.testing.assert_allclose(model.predict_array(Xq), y[ids].mean(1), rtol=1e-5)


@pytest.mark.parametrize("mode", ["File", "Pipe"])
@pytest.mark.parametrize("content_type", ["text/csv", RECORDIO])
def test_formats_and_modes_give_the_same_model(ws, mode, content_type):
    X, y = blobs(500)
    reference = ws.fit(X, y, sample_size=120).files()
    assert ws.fit(X, y, content_type, mode=mode, sample_size=120).files() == reference


def test_sampling_keeps_sample_size_training_points(ws):
    X, _ = blobs(1000, d=3)
    y = np.arange(1000, dtype=np.float32)  # the label says which record was kept
    run = ws.fit(X, y, predictor_type="regressor", sample_size=100, mini_batch_size=37)
    model = run.model()
    assert model.n_points == 100 and model.meta["num_records"] == 1000
    kept = model.labels.astype(int)
    assert len(set(kept.tolist())) == 100
    np.testing.assert_array_equal(X[kept], model.index.reconstruct_n(0, 100))
    assert "sampled 100 of 1000 records" in run.log
    # the sample spreads over the whole stream, not just its head
    assert kept.max() > 500 and kept.min() < 500


def test_sparse_recordio_trains_like_dense(ws):
    X, y = blobs(200, d=8)
    X[X < 0.5] = 0.0
    dense = ws.fit(X, y, RECORDIO).model()
    for mode in ("File", "Pipe"):
        sparse = ws.fit(sp.csr_matrix(X), y, RECORDIO, mode=mode).model()
        np.testing.assert_array_equal(sparse.index.reconstruct_n(0, 200), X)
        np.testing.assert_array_equal(sparse.predict_array(X[:50]), dense.predict_array(X[:50]))


def test_sparse_rows_narrower_than_feature_dim_are_padded(ws):
    X = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 2.0, 0], [1.0, 0, 0]], dtype=np.float32))
    model = ws.fit(X, np.array([0, 1, 0], np.float32), RECORDIO, feature_dim=6, k=1).model()
    assert model.index.d == 6
    assert model.predict_array(np.eye(6, dtype=np.float32)[:2] * [[1], [2]]).tolist() == [0, 1]


def test_several_files_and_odd_batches(ws):
    X, y = blobs(301)
    channel = ws.channel("train", X, y, RECORDIO, mode="Pipe", parts=3)
    hp = {"feature_dim": 5, "k": 3, "predictor_type": "classifier", "sample_size": 301}
    run = ws.train({**hp, "mini_batch_size": 7}, {"train": channel})
    np.testing.assert_array_equal(run.model().index.reconstruct_n(0, 301), X)


def test_test_channel_metrics(ws):
    X, y = blobs(300)
    Xt, yt = blobs(90, seed=5)
    run = ws.fit(X, y, test=(Xt, yt), mini_batch_size=40)
    found = metrics(run.log)
    expected = float(np.mean(_brute(X, y, Xt, 5)[2] == yt))
    assert found["test:accuracy"] == [pytest.approx(expected)]
    assert "test:mse" not in found and "train:throughput" in found
    assert f"#test_score (algo-1) : ('accuracy', {expected:.10g})" in run.log
    assert len(re.findall(r"test mini-batch \d+: ", run.log)) == 3

    yr = X[:, 0] * 2.0
    run = ws.fit(X, yr, predictor_type="regressor", test=(Xt, Xt[:, 0] * 2.0))
    model = run.model()
    mse = float(np.mean((model.predict_array(Xt) - Xt[:, 0] * 2.0) ** 2))
    assert metrics(run.log)["test:mse"] == [pytest.approx(mse, rel=1e-5)]
    assert "#test_score (algo-1) : ('mse', " in run.log


def test_same_data_same_bytes(ws):
    X, y = blobs(400)
    for hp in ({}, {"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "4"}):
        assert (
            ws.fit(X, y, sample_size=300, **hp).files()
            == ws.fit(X, y, sample_size=300, **hp).files()
        )


def test_artifact_layout(ws):
    X, y = blobs(100)
    run = ws.fit(X, y, dimension_reduction_type="sign", dimension_reduction_target=3)
    assert sorted(run.files()) == ["model_algo-1", "model_algo-1.json", "model_algo-1.labels"]
    import faiss

    index = faiss.read_index(str(run.model_dir / "model_algo-1"))
    assert index.ntotal == 100 and index.d == 3
    labels = np.fromfile(run.model_dir / "model_algo-1.labels", dtype="<f4")
    np.testing.assert_array_equal(labels, y)
    meta = json.loads((run.model_dir / "model_algo-1.json").read_text())
    assert meta["k"] == 5 and meta["predictor_type"] == "classifier"
    assert meta["dimension_reduction"] == {
        "type": "sign",
        "seed": 3,
        "target_dim": 3,
        "input_dim": 5,
    }
    assert meta["normalize"] is False and meta["version"] == "1.0"


# --- index types and metrics ---------------------------------------------------------------


def test_ivf_indexes_find_most_neighbours(ws):
    X, y = blobs(2000, d=8, classes=5, seed=3)
    Xq, _ = blobs(100, d=8, classes=5, seed=4)
    _, exact, _ = _brute(X, y, Xq, 10)
    for hp, floor in (
        ({"index_type": "faiss.IVFFlat"}, 0.9),
        ({"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "4"}, 0.75),
    ):
        model = ws.fit(X, y, k=10, mini_batch_size=500, **hp).model()
        assert model.meta["nlist"] == round(2000**0.5) and model.meta["nprobe"] == 7
        _, ids = model.kneighbors(Xq)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact, strict=True)])
        assert recall >= floor, (hp, recall)


def test_queries_in_sparse_lists_still_get_k_neighbours(ws):
    # 2 tight clusters, 40 lists: a query's nearest lists hold fewer than k points
    X = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 100.0)]).astype(np.float32)
    X += np.random.default_rng(0).normal(scale=0.01, size=X.shape).astype(np.float32)
    y = np.repeat([0.0, 1.0], 50).astype(np.float32)
    model = ws.fit(
        X, y, k=60, index_type="faiss.IVFFlat", faiss_index_ivf_nlists=40, sample_size=100
    ).model()
    _, ids = model.kneighbors(np.zeros((1, 2), np.float32))
    assert ids.min() >= 0 and len(set(ids[0])) == 60
    assert model.predict_array(np.zeros((1, 2), np.float32)).tolist() == [0.0]


def test_inner_product_and_cosine_against_numpy(ws):
    X, y = blobs(200, d=6, seed=7)
    Xq, _ = blobs(20, d=6, seed=8)
    ip = ws.fit(X, y, index_metric="INNER_PRODUCT", k=4).model()
    dist, ids = ip.kneighbors(Xq)
    scores = Xq @ X.T
    np.testing.assert_array_equal(ids, np.argsort(-scores, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(dist, np.take_along_axis(scores, ids, 1), rtol=1e-4, atol=1e-4)

    for index_type in ("faiss.Flat", "faiss.IVFFlat"):
        cos = ws.fit(X, y, index_metric="COSINE", k=4, index_type=index_type).model()
        dist, ids = cos.kneighbors(Xq)
        unit = X / np.linalg.norm(X, axis=1, keepdims=True)
        sims = (Xq / np.linalg.norm(Xq, axis=1, keepdims=True)) @ unit.T
        expected = np.argsort(-sims, axis=1, kind="stable")[:, :4]
        if index_type == "faiss.Flat":
            np.testing.assert_array_equal(ids, expected)
        np.testing.assert_allclose(dist, 1.0 - np.take_along_axis(sims, ids, 1), atol=1e-5)
        assert (np.diff(dist, axis=1) >= -1e-6).all()  # distances ascend


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_dimension_reduction_keeps_the_neighbourhoods(ws, kind):
    X, y = blobs(400, d=64, classes=4, seed=11, std=1.0)
    Xq, _ = blobs(100, d=64, classes=4, seed=11, std=1.0)
    run = ws.fit(X, y, dimension_reduction_type=kind, dimension_reduction_target=16)
    model = run.model()
    assert model.index.d == 16 and model.meta["dimension_reduction"]["type"] == kind
    ratio = np.linalg.norm(model.embedding(Xq), axis=1) / np.linalg.norm(Xq, axis=1)
    assert 0.6 < ratio.mean() < 1.4
    exact = ws.fit(X, y).model()
    assert np.mean(model.predict_array(Xq) == exact.predict_array(Xq)) >= 0.9


def test_pq_m_not_dividing_the_dimension_pads_with_a_warning(ws):
    X, y = blobs(300, d=6)
    run = ws.fit(X, y, index_type="faiss.IVFPQ", faiss_index_pq_m="4")
    model = run.model()
    assert model.index.d == 8 and model.meta["index_dim"] == 8
    assert re.search(
        r"WARNING \d+\] faiss_index_pq_m=4 does not divide the data dimension 6 "
        r"\(feature_dim\): the vectors are zero-padded to 8",
        run.log,
    )
    assert model.predict_array(X[:10]).shape == (10,)


def test_pq_m_not_dividing_the_reduced_dimension_raises_the_target(ws):
    X, y = blobs(300, d=20)
    run = ws.fit(
        X,
        y,
        index_type="faiss.IVFPQ",
        faiss_index_pq_m="8",
        dimension_reduction_type="sign",
        dimension_reduction_target="10",
    )
    model = run.model()
    assert model.index.d == 16 and model.meta["dimension_reduction"]["target_dim"] == 16
    assert "dimension_reduction_target=10: the target is raised to 16" in run.log


def test_pq_m_default(ws):
    from openmaker.algorithms.knn.train import default_pq_m

    assert [default_pq_m(d) for d in (1, 6, 8, 32, 100, 784, 4096)] == [1, 1, 2, 8, 20, 56, 64]
    X, y = blobs(300, d=32)
    run = ws.fit(X, y, index_type="faiss.IVFPQ")
    assert run.model().meta["pq_m"] == 8
    assert "faiss_index_pq_m not given: using 8" in run.log


# --- bad input ---------------------------------------------------------------------------------


def test_feature_dim_not_matching_the_data(ws):
    X, y = blobs(50)
    with pytest.raises(ValidationError, match="5 features but feature_dim is 6"):
        ws.fit(X, y, feature_dim=6)


def test_sparse_index_beyond_feature_dim(ws):
    X = sp.csr_matrix(np.eye(6, dtype=np.float32))
    with pytest.raises(DataFormatError, match="feature index 5, but feature_dim is 4") as err:
        ws.fit(X, np.zeros(6, np.float32), RECORDIO, feature_dim=4, k=2)
    assert "'train', records 0..5" in str(err.value)


def test_k_above_the_sampled_points(ws):
    X, y = blobs(8)
    with pytest.raises(HyperparameterError, match=r"only 8 points were sampled") as err:
        ws.fit(X, y, k=9, sample_size=100)
    assert err.value.parameter == "k"


def test_nlists_above_the_sampled_points(ws):
    X, y = blobs(30)
    with pytest.raises(HyperparameterError, match=r"\[1, 30\]") as err:
        ws.fit(X, y, index_type="faiss.IVFFlat", faiss_index_ivf_nlists=31, sample_size=100)
    assert err.value.parameter == "faiss_index_ivf_nlists"


def test_training_data_without_labels(ws):
    X, _ = blobs(40)
    for content_type, params in ((RECORDIO, {}), ("text/csv", {"label_size": "0"})):
        channel = ws.channel("train", X, None, content_type, params=params)
        hp = {"feature_dim": 5, "k": 3, "predictor_type": "classifier", "sample_size": 40}
        with pytest.raises(DataFormatError, match=r"'train', records 0\.\.39: the records have no"):
            ws.train(hp, {"train": channel})


@pytest.mark.parametrize("mode", ["File", "Pipe"])
@pytest.mark.parametrize(
    ("content_type", "params"), [("text/csv", {"label_size": "0"}), (RECORDIO, {})]
)
def test_test_channel_without_labels(ws, content_type, params, mode):
    X, y = blobs(40)
    train = ws.channel("train", X, y, content_type, mode=mode)
    test = ws.channel("test", X, None, content_type, params=params, mode=mode)
    hp = {"feature_dim": 5, "k": 3, "predictor_type": "classifier", "sample_size": 40}
    with pytest.raises(DataFormatError, match=r"Channel 'test', records 0\.\.39: .*no label"):
        ws.train(hp, {"train": train, "test": test})


def test_test_channel_sparse_index_beyond_feature_dim(ws):
    X, y = blobs(40)
    train = ws.channel("train", X, y, RECORDIO)
    Xt = sp.csr_matrix(np.eye(7, dtype=np.float32))
    test = ws.channel("test", Xt, np.zeros(7, np.float32), RECORDIO)
    hp = {"feature_dim": 5, "k": 3, "predictor_type": "classifier", "sample_size": 40}
    with pytest.raises(DataFormatError, match="feature index 6, but feature_dim is 5") as err:
        ws.train(hp, {"train": train, "test": test})
    assert "'test', records 0..6" in str(err.value)


def test_two_label_columns_are_refused(ws):
    X, y = blobs(40)
    channel = ws.channel("train", np.column_stack([y, X]), y, params={"label_size": "2"})
    hp = {"feature_dim": 4, "k": 3, "predictor_type": "classifier", "sample_size": 40}
    with pytest.raises(DataFormatError, match="2 label columns"):
        ws.train(hp, {"train": channel})


@pytest.mark.parametrize("where", ["feature", "label"])
def test_nan_is_refused(ws, where):
    X, y = blobs(100)
    if where == "feature":
        X[70, 1] = np.nan
    else:
        y[70] = np.inf
    with pytest.raises(DataFormatError, match="NaN or infinite") as err:
        ws.fit(X, y, RECORDIO)
    assert "records 64..99" in str(err.value)


def test_missing_train_channel(ws):
    from openmaker.algorithms.knn.spec import SPEC
    from openmaker.algorithms.knn.train import train

    hp = SPEC.validate_hyperparameters(
        {"feature_dim": 5, "k": 3, "predictor_type": "classifier", "sample_size": 40}
    )
    with pytest.raises(ChannelError):
        train(hp, {}, ws.context())
