"""Training: it learns, the gradients are right, metrics, modes, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from openmaker.algorithms.ip_insights.network import Weights, encode, level_indices, level_rows
from openmaker.algorithms.ip_insights.trainer import (
    Negatives,
    batch_gradients,
    batches,
    roc_auc,
    sample_negatives,
    score_batch,
)
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError
from openmaker.testing import check_algorithm

from .conftest import Workspace, metrics_in


def _auc(model, normal, anomalous) -> float:
    def dots(pairs):
        from openmaker.algorithms.ip_insights.ipv4 import ipv4_to_int

        return model.dot_products(
            [e for e, _ in pairs], np.array([ipv4_to_int(i) for _, i in pairs])
        )

    return roc_auc(dots(normal), dots(anomalous))


def test_learns_to_separate_home_logins_from_random_ones(ws: Workspace, logins):
    run = ws.fit(logins.normal(2400, seed=1), logins.normal(400, seed=2))
    model = run.model()
    assert _auc(model, logins.normal(500, seed=3), logins.anomalous(500, seed=4)) > 0.97
    found = metrics_in(run.log)
    aucs = found["validation:discriminator_auc"]
    assert len(aucs) == 4 and aucs[-1] > 0.9 and aucs[-1] > aucs[0]
    losses = found["train:binary_classification_cross_entropy:epoch"]
    assert len(losses) == 4 and losses[-1] < losses[0] < 0.75
    assert len(found["train:binary_classification_accuracy:epoch"]) == 4
    # 2400 pairs in batches of 100 = 24 batches an epoch, a batch line every 5 batches
    assert len(found["train:binary_classification_cross_entropy"]) == 4 * 4
    assert len(found["train:binary_classification_accuracy"]) == 4 * 4
    assert found["train:progress"] == [25.0, 50.0, 75.0, 100.0]
    assert all(v > 0 for v in found["train:throughput"])
    assert "#validation_score (algo-1) : ('discriminator_auc'," in run.log
    assert model.meta["num_records"] == 2400
    assert model.meta["validation_discriminator_auc"] == pytest.approx(aucs[-1], abs=1e-9)


def test_other_users_subnets_score_below_the_users_own(ws: Workspace, logins):
    model = ws.fit(logins.normal(2400, seed=1), epochs=6).model()
    normal = logins.normal(400, seed=5)
    swapped = [(f"user{(int(e[4:]) + 1) % 40}", ip) for e, ip in normal]
    assert _auc(model, normal, swapped) > 0.9


def _float64_weights(d: int = 6, layers: int = 2) -> Weights:
    rng = np.random.default_rng(3)
    w = Weights.initial(12, d, layers, rng)
    for i, (W, b) in enumerate(w.layers):
        w.layers[i] = (W.astype(np.float64), rng.normal(size=b.shape) * 0.3)
    w.entity = w.entity.astype(np.float64) * 3
    w.levels = [t.astype(np.float64) * 3 for t in w.levels]
    return w


def _mean_loss(w: Weights, slots, ips, neg: Negatives) -> float:
    sc = score_batch(w, slots, ips, neg)
    keep = neg.keep
    total = (
        np.logaddexp(0, -sc.positive).sum()
        + np.logaddexp(0, sc.random).sum()
        + (np.logaddexp(0, sc.shuffled) * keep).sum()
    )
    return float(total / sc.pairs(keep))


@pytest.mark.parametrize("layers", [0, 2])
def test_manual_gradients_match_finite_differences(layers):
    w = _float64_weights(layers=layers)
    rng = np.random.default_rng(0)
    slots = np.array([0, 1, 2, 2, 5, 7, 7, 11])
    ips = rng.integers(0, 1 << 32, len(slots)).astype(np.uint32)
    ips[3] = ips[2] + 1  # same /24, /16, /8 rows: shared prefix rows get summed gradients
    neg = sample_negatives(slots, 2, 2, rng)
    assert not neg.keep.all()  # entity 2 and 7 twice: some shuffled pairs are real pairs
    result, grads = batch_gradients(w, slots, ips, neg)
    assert result.loss / result.pairs == pytest.approx(_mean_loss(w, slots, ips, neg))

    def check(array, row, col, analytic):
        eps = 1e-6
        old = array[row, col] if col is not None else array[row]
        idx = (row, col) if col is not None else row
        array[idx] = old + eps
        up = _mean_loss(w, slots, ips, neg)
        array[idx] = old - eps
        down = _mean_loss(w, slots, ips, neg)
        array[idx] = old
        assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)

    rows, g = grads.entity
    for k, row in enumerate(rows):
        for col in range(0, w.vector_dim, 2):
            check(w.entity, row, col, g[k, col])
    for table, (rows, g) in zip(w.levels, grads.levels, strict=True):
        for k in range(0, len(rows), 3):
            check(table, rows[k], 1, g[k, 1])
    for (W, b), (gW, gb) in zip(w.layers, grads.layers, strict=True):
        check(W, 0, 1, gW[0, 1])
        check(W, 3, 2, gW[3, 2])
        check(b, 4, None, gb[4])


def test_prefix_levels_share_rows_within_a_subnet():
    a, b = np.array([0x0A0B0C01], np.uint32), np.array([0x0A0B0CFE], np.uint32)
    for bits in (8, 16, 24):
        assert level_indices(a, bits)[0] == level_indices(b, bits)[0]
    assert level_indices(a, 32)[0] != level_indices(b, 32)[0]
    assert level_indices(a, 8)[0] == 10 and level_indices(a, 16)[0] == (10 << 8) | 11
    for bits in (8, 16, 24, 32):
        idx = level_indices(np.arange(0, 1 << 32, 9973, dtype=np.uint64).astype(np.uint32), bits)
        assert idx.min() >= 0 and idx.max() < level_rows(bits)
    w = Weights.initial(4, 8, 0, np.random.default_rng(0))
    v, _ = encode(w, a)
    expected = sum(
        t[level_indices(a, bits)[0]] for t, bits in zip(w.levels, (8, 16, 24, 32), strict=True)
    )
    np.testing.assert_allclose(v[0], expected, rtol=1e-6)


def test_batches_cover_every_pair_once_and_shuffle():
    blocks = [(np.arange(i, i + 7), np.arange(i, i + 7).astype(np.uint32)) for i in range(0, 70, 7)]
    plain = list(batches(iter(blocks), 16))
    assert [len(s) for s, _ in plain] == [16, 16, 16, 16, 6]
    assert np.concatenate([s for s, _ in plain]).tolist() == list(range(70))
    shuffled = list(batches(iter(blocks), 16, np.random.default_rng(0)))
    got = np.concatenate([s for s, _ in shuffled])
    assert sorted(got.tolist()) == list(range(70)) and got.tolist() != list(range(70))
    for s, i in shuffled:
        assert (s == i).all()  # pairs stay together


def test_negatives_and_auc():
    slots = np.array([1, 1, 2, 3])
    neg = sample_negatives(slots, 3, 2, np.random.default_rng(0))
    assert neg.random_ips.shape == (3, 4) and neg.random_ips.dtype == np.uint32
    assert neg.perms.shape == (2, 4)
    for p in neg.perms:
        assert sorted(p.tolist()) == [0, 1, 2, 3]
    assert (neg.keep == (slots[neg.perms] != slots[None, :])).all()
    assert roc_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert roc_auc(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5
    assert roc_auc(np.array([2.0]), np.array([1.0, 2.0, 3.0])) == 0.5


def test_file_and_pipe_and_gzip_give_the_same_model(ws: Workspace, logins):
    data = logins.normal(600, seed=1)
    file_run = ws.run({"train": ws.channel("train", data)}, epochs=2)
    pipe_run = ws.run({"train": ws.channel("train", data, mode="Pipe")}, epochs=2)
    gz_run = ws.run({"train": ws.channel("train", data, mode="Pipe", gzip=True)}, epochs=2)
    assert file_run.model_bytes() == pipe_run.model_bytes() == gz_run.model_bytes()
    again = ws.run({"train": ws.channel("train", data)}, epochs=2)
    assert again.model_bytes() == file_run.model_bytes()


@pytest.mark.parametrize(
    "overrides",
    [
        {"random_negative_sampling_rate": 0, "shuffled_negative_sampling_rate": 3},
        {"random_negative_sampling_rate": 3, "shuffled_negative_sampling_rate": 0},
        {"num_ip_encoder_layers": 0},
        {"num_ip_encoder_layers": 3, "weight_decay": 0.0},
        {"mini_batch_size": 1, "epochs": 1},
    ],
)
def test_settings_train(ws: Workspace, logins, overrides):
    model = ws.fit(logins.normal(300, seed=1), **overrides).model()
    assert np.isfinite(model.weights.entity).all()
    assert len(model.weights.layers) == overrides.get("num_ip_encoder_layers", 1)


def test_bad_training_data_fails_naming_file_and_line(ws: Workspace):
    good = "".join(f"u{i},10.0.0.{i}\n" for i in range(20))
    for bad, words in (
        ("u,2001:db8::1\n", "IPv6"),
        ("u\n", "expected 2 columns"),
        ("u,10.0.0.300\n", "at most 255"),
    ):
        channel = ws.channel("train", good + bad)
        with pytest.raises(DataFormatError) as info:
            ws.run({"train": channel})
        assert info.value.line == 21 and words in str(info.value)
        assert info.value.source.endswith("part-0.csv")
    with pytest.raises(DataFormatError) as info:
        ws.run(
            {
                "train": ws.channel("train", good),
                "validation": ws.channel("validation", "x,1.2.3\n"),
            }
        )
    assert info.value.line == 1


def test_empty_or_missing_channels(ws: Workspace):
    with pytest.raises(DataFormatError, match="'train' contains no records"):
        ws.run({"train": ws.channel("train", "\n\n")})
    with pytest.raises(DataFormatError, match="'validation' contains no records"):
        ws.run(
            {
                "train": ws.channel("train", "a,1.2.3.4\n"),
                "validation": ws.channel("validation", ""),
            }
        )
    with pytest.raises(ChannelError, match="train"):
        ws.run({"validation": ws.channel("validation", "a,1.2.3.4\n")})


def test_tables_too_large_for_memory_name_num_entity_vectors(ws: Workspace, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Weights, "initial", classmethod(lambda cls, *a, **k: no_memory()))
    with pytest.raises(HyperparameterError) as info:
        ws.run(
            {"train": ws.channel("train", "a,1.2.3.4\n")},
            num_entity_vectors=250_000_000,
            vector_dim=4096,
        )
    assert info.value.parameter == "num_entity_vectors" and "GiB" in str(info.value)


def test_conformance():
    check_algorithm("ipinsights")


def test_lazy_adam_is_adam_on_each_rows_own_gradients():
    from openmaker.algorithms.ip_insights.network import Gradients
    from openmaker.algorithms.ip_insights.optim import BETA1, BETA2, EPSILON, Adam

    rng = np.random.default_rng(0)
    w = Weights.initial(5, 4, 1, rng)
    start = w.entity.copy()
    lr, wd = 0.05, 0.01
    opt = Adam(w, lr, wd)
    empty = (np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
    history: dict[int, list[np.ndarray]] = {}
    for _ in range(6):
        rows = np.sort(rng.choice(5, size=2, replace=False))
        g = rng.normal(size=(2, 4)).astype(np.float32)
        for r, gr in zip(rows, g, strict=True):
            history.setdefault(int(r), []).append(gr)
        layers = [(np.zeros_like(W), np.zeros_like(b)) for W, b in w.layers]
        opt.step(Gradients((rows, g), [empty] * 4, layers))
    for r in range(5):
        x = start[r].astype(np.float64)
        m = v = np.zeros(4)
        for t, gr in enumerate(history.get(r, []), start=1):
            gr = gr + wd * x
            m = BETA1 * m + (1 - BETA1) * gr
            v = BETA2 * v + (1 - BETA2) * gr * gr
            x = x - lr * (m / (1 - BETA1**t)) / (np.sqrt(v / (1 - BETA2**t)) + EPSILON)
        np.testing.assert_allclose(w.entity[r], x, rtol=1e-5, atol=1e-6)
