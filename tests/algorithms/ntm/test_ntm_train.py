"""NTM training: formats and modes, metrics and log lines, early stopping, sub-sampling, topic
recovery, WETC / TU, determinism, checkpoints and several hosts."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.common.topics import SyntheticCorpus, topic_recovery_error
from openmaker.algorithms.ntm.spec import SPEC

from .conftest import FAST, TOPICS, VOCAB, Workspace, words


def _values(log: str, pattern: str) -> list[float]:
    return [float(v) for v in re.findall(pattern, log)]


@pytest.mark.parametrize(
    ("content_type", "mode", "sparse"),
    [
        ("application/x-recordio-protobuf", "File", True),
        ("application/x-recordio-protobuf", "Pipe", False),
        ("text/csv", "File", False),
    ],
)
def test_trains_in_every_format_and_mode(
    ws: Workspace, counts: np.ndarray, content_type: str, mode: str, sparse: bool
) -> None:
    import scipy.sparse as sp

    X: Any = sp.csr_matrix(counts) if sparse else counts
    run = ws.train(FAST, {"train": ws.channel("train", X, content_type, mode=mode)})
    losses = _values(run.log, r"epoch=\d+, train total_loss <loss>=(\S+)")
    assert len(losses) == FAST["epochs"] and losses[-1] < losses[0]
    model = run.model()
    assert model.topic_weights(counts[:5]).shape == (5, TOPICS)


def test_validation_test_and_auxiliary_lines(ws: Workspace, counts: np.ndarray) -> None:
    channels = {
        "train": ws.channel("train", counts[:240]),
        "validation": ws.channel("validation", counts[240:270]),
        "test": ws.channel("test", counts[270:]),
        "auxiliary": ws.vocab(words()),
    }
    run = ws.train(FAST, channels)
    log = run.log
    per_epoch = _values(log, r"epoch=\d+, validation total_loss <loss>=(\S+)")
    assert len(per_epoch) == FAST["epochs"]
    final = SPEC.metric("validation:total_loss")
    values = [v for line in log.splitlines() if (v := final.match(line)) is not None]  # type: ignore[union-attr]
    assert values[-1] == pytest.approx(min(per_epoch), rel=1e-6)  # the best epoch's model
    assert re.search(r"#quality_metric: host=algo-1, test total_loss <loss>=\S+", log)
    assert re.search(r"test perplexity <loss>=\S+", log)
    assert re.search(r"#progress_metric: host=algo-1, completed 100 % of epochs", log)
    assert re.search(r"#throughput_metric: host=algo-1, train throughput=\S+ records/second", log)
    topic_lines = re.findall(r"\[(\S+), (\S+)\] Topic (\d+): ((?:word\d\d ?){10})", log)
    assert len(topic_lines) == TOPICS
    wetc = _values(log, r"train wetc <score>=(\S+)")[0]
    tu = _values(log, r"train tu <score>=(\S+)")[0]
    assert 0.0 <= wetc <= 1.0 and 1.0 / TOPICS <= tu <= 1.0
    assert np.mean([float(t[0]) for t in topic_lines]) == pytest.approx(wetc, abs=0.01)
    model = run.model()
    assert model.vocabulary == words()
    assert model.meta["test:total_loss"] > 0 and model.meta["best_epoch"] >= 0


def test_without_vocabulary_tu_is_printed_with_ids(ws: Workspace, counts: np.ndarray) -> None:
    run = ws.fit(counts, epochs=1)
    assert "train tu <score>=" in run.log and "wetc" not in run.log
    assert re.search(r"\] Topic 0: (\d+ ){9}\d+", run.log)


def test_recovers_known_topics(ws: Workspace, corpus: SyntheticCorpus) -> None:
    run = ws.fit(corpus.counts, epochs=25, learning_rate=0.03)
    model = run.model()
    err = topic_recovery_error(model.topic_word_matrix(), corpus.topics)
    rng = np.random.default_rng(0)
    chance = topic_recovery_error(rng.dirichlet(np.ones(VOCAB), TOPICS), corpus.topics)
    assert err < 0.3 * chance, (err, chance)
    # documents made mostly of one topic get that topic's weight (under the best matching)
    theta = model.topic_weights(corpus.counts)
    dominant = corpus.mixtures.max(axis=1) > 0.9
    table = np.zeros((TOPICS, TOPICS))
    np.add.at(table, (theta[dominant].argmax(1), corpus.mixtures[dominant].argmax(1)), 1)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-table)
    assert table[rows, cols].sum() / dominant.sum() > 0.9


def test_early_stopping_keeps_the_best_epoch(ws: Workspace, counts: np.ndarray) -> None:
    run = ws.fit(
        counts, epochs=40, tolerance=0.1, num_patience_epochs=1, optimizer="sgd",
        learning_rate=1e-6,
    )  # fmt: skip
    epochs = _values(run.log, r"epoch=(\d+), train total_loss")
    assert len(epochs) < 40
    assert "#early_stopping_criteria_metric: host=algo-1" in run.log
    assert run.model().meta["stopped_early"] is True


def test_sub_sample_trains_on_a_fraction(ws: Workspace, counts: np.ndarray) -> None:
    full = ws.fit(counts, epochs=2).model().meta
    part = ws.fit(counts, epochs=2, sub_sample=0.25).model().meta
    assert full["documents_trained"] == 2 * len(counts)
    assert 0.15 * 2 * len(counts) < part["documents_trained"] < 0.35 * 2 * len(counts)
    tiny = ws.fit(counts[:3], epochs=1, sub_sample=0.01).model().meta
    assert tiny["documents_trained"] >= 1  # at least one document an epoch


def test_same_data_same_model_bytes(ws: Workspace, counts: np.ndarray) -> None:
    a = ws.fit(counts, epochs=2, batch_norm="true", encoder_layers="8,6")
    b = ws.fit(counts, epochs=2, batch_norm="true", encoder_layers="8,6")
    assert a.model_bytes() == b.model_bytes()
    assert a.model().meta["encoder_layers"] == [8, 6]


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adadelta", "rmsprop"])
def test_every_optimizer_trains(ws: Workspace, counts: np.ndarray, optimizer: str) -> None:
    run = ws.fit(
        counts[:64], epochs=2, optimizer=optimizer, learning_rate=0.01,
        clip_gradient=1.0, rescale_gradient=0.5, weight_decay=0.001,
        encoder_layers_activation="relu",
    )  # fmt: skip
    assert np.isfinite(_values(run.log, r"epoch=1, train total_loss <loss>=(\S+)")).all()


def test_resumes_from_its_checkpoint(ws: Workspace, counts: np.ndarray) -> None:
    hp = {**FAST, "epochs": 4}
    channel = ws.channel("train", counts)
    straight = ws.train(hp, {"train": channel})
    train = SPEC.train_function()
    # a job stopped after 2 epochs, then resumed with 4: the uninterrupted model, byte for byte
    ctx = ws.context()
    train(SPEC.validate_hyperparameters({**hp, "epochs": 2}), {"train": channel}, ctx)
    assert [p.name for p in ctx.checkpoint_dir.iterdir()] == ["ntm-algo-1.pt"]
    train(SPEC.validate_hyperparameters(hp), {"train": channel}, ctx)
    log = ctx.log.getvalue()  # type: ignore[attr-defined]
    assert "Resuming from the checkpoint after epoch 1" in log
    assert (ctx.model_dir / "model_algo-1").read_bytes() == straight.model_bytes()
    # other settings: the checkpoint is not theirs, training starts afresh
    ctx.log = io.StringIO()
    train(SPEC.validate_hyperparameters({**hp, "learning_rate": 0.01}), {"train": channel}, ctx)
    assert "Resuming" not in ctx.log.getvalue()
    assert len(re.findall(r"epoch=\d+, train total_loss", ctx.log.getvalue())) == 4
    # other data: not resumed either
    ctx.log = io.StringIO()
    train(SPEC.validate_hyperparameters(hp), {"train": ws.channel("train", counts[:-10])}, ctx)
    assert "Resuming" not in ctx.log.getvalue()


def test_two_hosts_average_their_models(
    ws: Workspace, counts: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openmaker.distributed.collective import ADDRESS_ENV, TOKEN_ENV
    from openmaker.distributed.coordinator import Coordinator, new_token

    token = new_token()
    coordinator = Coordinator(2, token).start()
    monkeypatch.setenv(ADDRESS_ENV, coordinator.address)
    monkeypatch.setenv(TOKEN_ENV, token)
    shards = [ws.channel("train", counts[:150]), ws.channel("train", counts[150:])]
    contexts = [ws.context(), ws.context()]
    errors: list[BaseException] = []
    typed = SPEC.validate_hyperparameters({**FAST, "epochs": 3})

    def host(rank: int) -> None:
        ctx = contexts[rank]
        ctx.hosts = ("algo-1", "algo-2")
        ctx.current_host = ctx.hosts[rank]
        try:
            SPEC.train_function()(typed, {"train": shards[rank]}, ctx)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=host, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    coordinator.close()
    assert not errors, errors
    leader, follower = contexts
    assert (leader.model_dir / "model_algo-1").exists()
    assert not (follower.model_dir / "model_algo-1").exists()
    log = leader.log.getvalue()  # type: ignore[attr-defined]
    assert "2 host(s)" in log and "300 training documents" in log
    assert "#quality_metric" not in follower.log.getvalue()  # type: ignore[attr-defined]
