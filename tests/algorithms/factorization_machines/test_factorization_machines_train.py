"""Training through channels: sparse and dense RecordIO, File and Pipe, metric lines, the
artifact, and bad input named by record."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.common import load_model_arrays
from openmaker.algorithms.factorization_machines import inputs
from openmaker.algorithms.factorization_machines.model import FactorizationMachinesModel
from openmaker.algorithms.factorization_machines.spec import SPEC
from openmaker.data import Dataset
from openmaker.data.recordio import encode_dataset
from openmaker.errors import DataFormatError, ValidationError
from openmaker.spec.metrics import format_log_line

from .conftest import Workspace, hyperparameters, ratings


def _metrics(log: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in log.splitlines():
        for m in SPEC.metrics:
            v = m.match(format_log_line(line))
            if v is not None:
                found[m.name] = v
    return found


def test_regressor_sparse_file_mode_with_test_channel(ws: Workspace) -> None:
    X, y = ratings()
    d = X.shape[1]
    channels = {
        "train": ws.channel("train", X[:1600], y[:1600]),
        "test": ws.channel("test", X[1600:], y[1600:]),
    }
    ctx, log = ws.train(hyperparameters("regressor", d), channels)
    found = _metrics(log)
    assert {"train:rmse", "test:rmse", "train:progress", "train:throughput"} <= set(found)
    assert found["train:progress"] == 100
    assert found["test:rmse"] < 0.5 * float(np.std(y[1600:]))
    assert "#test_score (algo-1) : ('rmse', " in log
    assert log.count("train rmse <loss>=") == 10  # one line per epoch
    # the printed test RMSE is the saved model's
    model = FactorizationMachinesModel.load(ctx.model_dir)
    score, label = model.predict_array(X[1600:])
    assert label is None
    rmse = float(np.sqrt(np.mean((score - y[1600:]) ** 2)))
    assert found["test:rmse"] == pytest.approx(rmse, rel=1e-6)


def test_binary_pipe_mode_metrics(ws: Workspace) -> None:
    X, y = ratings(binary=True)
    d = X.shape[1]
    channels = {
        "train": ws.channel("train", X[:1600], y[:1600], mode="Pipe"),
        "test": ws.channel("test", X[1600:], y[1600:], mode="Pipe"),
    }
    _, log = ws.train(hyperparameters("binary_classifier", d), channels)
    found = _metrics(log)
    for name in (
        "train:binary_classification_accuracy",
        "train:binary_classification_cross_entropy",
        "train:binary_f_beta",
        "test:binary_classification_accuracy",
        "test:binary_classification_cross_entropy",
        "test:binary_f_beta",
    ):
        assert name in found, name
    assert found["test:binary_classification_accuracy"] > 0.8
    assert found["test:binary_f_beta"] > 0.8
    assert "test binary_f_1.000 <score>=" in log
    assert "rmse" not in log.split("Final configuration")[1].split("\n", 1)[1]


def test_file_pipe_and_uncached_passes_give_the_same_model(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = ratings(n=600)
    hp = hyperparameters("regressor", X.shape[1], epochs=3)
    file_ctx, _ = ws.train(hp, {"train": ws.channel("train", X, y)})
    pipe_ctx, _ = ws.train(hp, {"train": ws.channel("train", X, y, mode="Pipe")})
    monkeypatch.setattr(inputs, "CACHE_BYTES", 0)
    uncached_ctx, _ = ws.train(hp, {"train": ws.channel("train", X, y)})
    blobs = [
        (c.model_dir / "model_algo-1").read_bytes() for c in (file_ctx, pipe_ctx, uncached_ctx)
    ]
    assert blobs[0] == blobs[1] == blobs[2]


def test_dense_recordio_trains_like_sparse(ws: Workspace) -> None:
    X, y = ratings(n=800)
    dense = X.toarray()
    # One step without weight decay: the dense batch's unused columns get a zero gradient, so
    # both forms move the same rows the same way. (With more steps they differ by design: a
    # dense batch updates every row, as MXNet does, a sparse one only the rows it uses.)
    hp = hyperparameters(
        "regressor", X.shape[1], epochs=1, mini_batch_size=800, bias_wd=0, linear_wd=0,
        factors_wd=0,
    )  # fmt: skip
    ctx, log = ws.train(hp, {"train": ws.channel("train", dense, y)})
    sparse_ctx, _ = ws.train(hp, {"train": ws.channel("train", X, y)})
    a = FactorizationMachinesModel.load(ctx.model_dir)
    b = FactorizationMachinesModel.load(sparse_ctx.model_dir)
    # steps are ~factors_lr = 0.02; float32 sums in another order (dense matmul vs sparse
    # rows) differ by up to ~3e-5 with some numpy builds
    np.testing.assert_allclose(a.V, b.V, atol=1e-4)
    np.testing.assert_allclose(a.raw(dense[:50]), b.raw(X[:50]), rtol=1e-4)
    assert "train rmse" in log
    ctx, log = ws.train(
        hyperparameters("regressor", X.shape[1]), {"train": ws.channel("train", dense, y)}
    )
    assert _metrics(log)["train:rmse"] < 0.5 * float(np.std(y))


def test_artifact_layout(ws: Workspace) -> None:
    X, y = ratings(n=300)
    hp = hyperparameters("binary_classifier", X.shape[1], _tuning_objective_metric="test:rmse")
    ctx, _ = ws.train(hp, {"train": ws.channel("train", X, (y > 3).astype(np.float32))})
    arrays, meta = load_model_arrays(ctx.model_dir)
    assert set(arrays) == {"w0_weight", "w1_weight", "v"}
    d = X.shape[1]
    assert arrays["w0_weight"].shape == (1,)
    assert arrays["w1_weight"].shape == (d,)
    assert arrays["v"].shape == (d, 4)
    assert all(a.dtype == np.float32 for a in arrays.values())
    assert meta["predictor_type"] == "binary_classifier"
    assert meta["feature_dim"] == d and meta["num_factors"] == 4
    assert meta["training_parameters"]["factors_lr"] == 0.02
    with np.load(ctx.model_dir / "model_algo-1") as raw:  # plain numpy opens it
        assert "v" in raw.files


# --- bad input ------------------------------------------------------------------------------


def _hp(d: int, binary: bool = False, **extra: object) -> dict[str, str]:
    ptype = "binary_classifier" if binary else "regressor"
    return hyperparameters(ptype, d, mini_batch_size=4, epochs=1, **extra)


def test_sparse_index_beyond_feature_dim_names_record_and_column(ws: Workspace) -> None:
    rows = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    cols = [1, 2, 3, 4, 5, 6, 7, 11, 0]
    X = sp.csr_matrix((np.ones(9, np.float32), (rows, cols)), shape=(9, 12))
    y = np.ones(9, np.float32)
    with pytest.raises(DataFormatError) as exc:
        ws.train(_hp(10), {"train": ws.channel("train", X, y)})
    assert exc.value.record == 7
    assert "feature index 11" in str(exc.value) and "feature_dim is 10" in str(exc.value)
    assert "channel 'train'" in str(exc.value)


def test_test_channel_is_checked_too(ws: Workspace) -> None:
    X, y = ratings(n=40)
    wide = sp.csr_matrix((np.ones(1, np.float32), ([0], [X.shape[1] + 5])), shape=(1, 200))
    with pytest.raises(DataFormatError) as exc:
        ws.train(
            _hp(X.shape[1]),
            {"train": ws.channel("train", X, y), "test": ws.channel("test", wide, y[:1])},
        )
    assert "channel 'test'" in str(exc.value) and exc.value.record == 0


def test_binary_labels_must_be_0_or_1(ws: Workspace) -> None:
    X, _ = ratings(n=10)
    y = np.array([0, 1, 1, 0, 1, 0, 2, 1, 0, 1], np.float32)
    with pytest.raises(DataFormatError) as exc:
        ws.train(_hp(X.shape[1], binary=True), {"train": ws.channel("train", X, y)})
    assert exc.value.record == 6
    assert "label 2" in str(exc.value) and "0 or 1" in str(exc.value)


def test_missing_labels(ws: Workspace) -> None:
    X, _ = ratings(n=10)
    with pytest.raises(DataFormatError, match="no label"):
        ws.train(_hp(X.shape[1]), {"train": ws.channel("train", X, None)})


def test_nan_label_and_nan_feature_are_named(ws: Workspace) -> None:
    X, y = ratings(n=10)
    y_bad = y.copy()
    y_bad[5] = np.nan
    with pytest.raises(DataFormatError) as exc:
        ws.train(_hp(X.shape[1]), {"train": ws.channel("train", X, y_bad)})
    assert exc.value.record == 5 and "finite" in str(exc.value)
    X_bad = X.copy()
    X_bad.data[X_bad.indptr[9]] = np.inf
    with pytest.raises(DataFormatError) as exc:
        ws.train(_hp(X.shape[1]), {"train": ws.channel("train", X_bad, y)})
    assert exc.value.record == 9 and "inf" in str(exc.value)
    dense = X.toarray()
    dense[2, 3] = np.nan
    with pytest.raises(DataFormatError) as exc:
        ws.train(_hp(X.shape[1]), {"train": ws.channel("train", dense, y)})
    assert exc.value.record == 2 and "feature 3" in str(exc.value)


def test_dense_width_must_equal_feature_dim(ws: Workspace) -> None:
    X = np.ones((10, 6), np.float32)
    with pytest.raises(ValidationError, match="6 features but feature_dim is 8"):
        ws.train(_hp(8), {"train": ws.channel("train", X, np.ones(10, np.float32))})


def test_empty_and_garbage_channels(ws: Workspace) -> None:
    with pytest.raises(DataFormatError):
        ws.train(_hp(5), {"train": ws.raw_channel("train", b"")})
    good = encode_dataset(Dataset(np.ones((3, 5), np.float32), np.ones(3, np.float32)))
    with pytest.raises(DataFormatError):
        ws.train(_hp(5), {"train": ws.raw_channel("train", good + b"\x01\x02\x03garbage")})


def test_pipe_mode_streams_every_pass_and_file_mode_caches(ws: Workspace) -> None:
    X, y = ratings(n=250)
    for mode, cached in (("Pipe", False), ("File", True)):
        source = inputs.ChannelBatches(ws.channel("train", X, y, mode=mode), 100, X.shape[1], False)
        passes = [[b.n for b in source] for _ in range(2)]
        assert passes == [[100, 100, 50]] * 2
        assert (source._cache is not None) == cached
        assert all(b.X.format == "csr" and b.X.shape[1] == X.shape[1] for b in source)
