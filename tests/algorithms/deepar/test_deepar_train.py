"""DeepAR training: it learns, prints SageMaker's lines, keeps the best epoch, is repeatable."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from openmaker.algorithms.deepar.evaluation import forecast_scores
from openmaker.spec.metrics import format_log_line

from .conftest import Workspace, seasonal_series


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)


def _holdout(records, T=6):
    history = [{**r, "target": r["target"][:-T]} for r in records]
    actual = [np.array(r["target"][-T:]) for r in records]
    return history, actual


def test_learns_the_daily_cycle_better_than_the_last_value(ws):
    data = seasonal_series(16, 150)
    run = ws.run(data, epochs=12)
    model = run.model()
    history, actual = _holdout(seasonal_series(16, 150, seed=1))
    preds = model.forecast(history, num_samples=100, quantiles=["0.1", "0.5", "0.9"])
    scores = forecast_scores(
        actual,
        [np.array(p["mean"]) for p in preds],
        {float(q): [np.array(p["quantiles"][q]) for p in preds] for q in ("0.1", "0.5", "0.9")},
    )
    naive = [np.full(6, h["target"][-1]) for h in history]
    naive_rmse = float(np.sqrt(np.mean((np.concatenate(naive) - np.concatenate(actual)) ** 2)))
    assert scores["RMSE"] < 0.6 * naive_rmse, (scores, naive_rmse)
    # the 80% band holds a fair share of the truth (12 short epochs: not yet calibrated)
    inside = [
        np.mean((a >= np.array(p["quantiles"]["0.1"])) & (a <= np.array(p["quantiles"]["0.9"])))
        for a, p in zip(actual, preds, strict=True)
    ]
    assert np.mean(inside) > 0.3


def test_metric_lines_match_the_declared_regexes(ws):
    data = seasonal_series(8, 100)
    run = ws.run(data, test=data, epochs=2)
    found = {}
    for line in run.log.splitlines():
        text = format_log_line(line)
        for m in ws.spec.metrics:
            v = m.match(text)
            if v is not None:
                found.setdefault(m.name, []).append(v)
    for name in (
        "train:loss",
        "train:loss:batch",
        "train:final_loss",
        "test:RMSE",
        "test:mean_wQuantileLoss",
        "test:wQuantileLoss[0.5]",
        "train:progress",
        "train:throughput",
    ):
        assert name in found, name
    assert len(found["train:loss"]) == 2
    assert found["train:final_loss"][-1] == pytest.approx(min(found["train:loss"]))
    assert "#test_score (algo-1, RMSE):" in run.log
    assert re.search(r"Final loss: \S+ \(occurred at epoch \d\)", run.log)
    assert "Training set statistics: 8 time series, 800 observations" in run.log


def test_test_quantiles_are_scored_as_given(ws):
    data = seasonal_series(8, 100)
    run = ws.run(data, test=data, epochs=1, test_quantiles="[0.25, 0.75]")
    assert "test wQuantileLoss[0.25] <loss>=" in run.log
    assert "test wQuantileLoss[0.75] <loss>=" in run.log
    assert "wQuantileLoss[0.5]" not in run.log


def test_same_data_same_model_bytes(ws):
    data = seasonal_series(8, 100)
    assert ws.run(data).model_bytes() == ws.run(data).model_bytes()


def test_early_stopping_keeps_the_best_epoch(ws):
    data = seasonal_series(8, 100)
    run = ws.run(data, epochs=40, learning_rate=0.2, early_stopping_patience=2)
    meta = run.model().meta
    losses = [float(v) for v in re.findall(r", train loss <loss>=(\S+)", run.log)]
    assert meta["epochs_run"] == len(losses) < 40
    assert meta["stopped_early"]
    assert meta["best_epoch"] == int(np.argmin(losses))
    assert meta["train:final_loss"] == pytest.approx(min(losses))


@pytest.mark.parametrize(
    "likelihood", ["gaussian", "beta", "negative-binomial", "student-T", "deterministic-L1"]
)
def test_every_likelihood_trains_and_forecasts_in_its_domain(ws, likelihood):
    data = seasonal_series(8, 100)
    if likelihood == "beta":
        data = [{**r, "target": [v / 40.0 for v in r["target"]]} for r in data]
    if likelihood == "negative-binomial":
        data = [{**r, "target": [float(round(v)) for v in r["target"]]} for r in data]
    run = ws.run(data, epochs=2, likelihood=likelihood)
    pred = run.model().forecast(data[:2], num_samples=30, output_types=["samples", "mean"])
    samples = np.array(pred[0]["samples"])
    assert samples.shape == (30, 6)
    assert np.isfinite(samples).all()
    if likelihood == "beta":
        assert samples.min() >= 0 and samples.max() <= 1
    if likelihood == "negative-binomial":
        assert samples.min() >= 0 and np.all(samples == np.round(samples))
    if likelihood == "deterministic-L1":
        assert np.all(samples == samples[0])  # a point forecast


def test_cat_and_dynamic_feat_are_learned(ws):
    data = seasonal_series(12, 120, cat=True, dyn=True)
    run = ws.run(data, epochs=10)
    assert "cat found (1 features), cardinality [2]: using it" in run.log
    assert "dynamic_feat found (1 features): using it" in run.log
    model = run.model()
    base = {"start": "2021-03-01 00:00:00", "target": data[0]["target"][:96]}
    low = {**base, "cat": [0], "dynamic_feat": [[0.0] * 102]}
    high = {**base, "cat": [1], "dynamic_feat": [[0.0] * 102]}
    promo = {**base, "cat": [0], "dynamic_feat": [[0.0] * 96 + [1.0] * 6]}
    m_low, m_high, m_promo = (np.mean(p["mean"]) for p in model.forecast([low, high, promo]))
    assert m_promo > m_low + 1.0  # the promotion lifts the forecast
    assert model.meta["cardinality"] == [2] and model.meta["num_dynamic_feat"] == 1
    del m_high


def test_ignore_drops_cat_and_dynamic_feat(ws):
    data = seasonal_series(8, 100, cat=True, dyn=True)
    run = ws.run(data, epochs=1, cardinality="ignore", num_dynamic_feat="ignore")
    assert "cardinality=ignore" in run.log and "num_dynamic_feat=ignore" in run.log
    model = run.model()
    plain = [{"start": r["start"], "target": r["target"]} for r in data[:2]]
    assert len(model.forecast(plain)) == 2


def test_short_series_are_skipped(ws):
    data = [*seasonal_series(8, 100), {"start": "2021-01-01", "target": [1.0, 2.0, 3.0]}]
    run = ws.run(data, epochs=1)
    assert "1 series with fewer than prediction_length + 1 = 7 points skipped" in run.log


def test_missing_values_train(ws):
    data = seasonal_series(8, 100)
    data[0]["target"][10] = None
    data[1]["target"][20] = "NaN"
    run = ws.run(data, epochs=1)
    assert np.isfinite(run.model().meta["train:final_loss"])


def test_resumes_from_its_checkpoint(ws, tmp_path):
    from openmaker.spec.algorithm import TrainingContext

    data = seasonal_series(8, 100)
    channels = {"train": ws.records("train", data)}
    typed = ws.spec.validate_hyperparameters({**_fast(), "epochs": "2"})
    ckpt = tmp_path / "ckpt"

    def job(epochs):
        ctx = ws.context()
        ctx = TrainingContext(
            job_name=ctx.job_name,
            model_dir=ctx.model_dir,
            output_dir=ctx.output_dir,
            checkpoint_dir=ckpt,
            log=ctx.log,
        )
        ws.spec.train_function()({**typed, "epochs": epochs}, channels, ctx)
        return ctx

    first = job(2)
    again = job(4)
    assert "Resuming from the checkpoint after epoch 1" in again.log.getvalue()
    assert "epoch=0, train loss" not in again.log.getvalue()
    straight = ws.train({**_fast(), "epochs": "4"}, {"train": ws.records("train", data)})
    assert (again.model_dir / "model_algo-1").read_bytes() == straight.model_bytes()
    del first


def _fast():
    from .conftest import FAST

    return dict(FAST)


def test_parquet_and_gzip_json_read_alike(ws):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from openmaker.spec.algorithm import ChannelInput

    data = seasonal_series(8, 100)
    data[0]["target"][5] = None
    folder = ws.root / "pq" / "train"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(
        [{"start": np.datetime64(r["start"]), "target": r["target"]} for r in data]
    )
    pq.write_table(table, folder / "part.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.json").write_text("not json")
    gz = ws.root / "gz" / "train"
    gz.mkdir(parents=True)
    with gzip.open(gz / "part.json.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in data))
    # the extension decides, whatever the content type says
    a = ws.train(_fast(), {"train": ChannelInput("train", "application/jsonlines", path=folder)})
    b = ws.train(_fast(), {"train": ChannelInput("train", "application/x-parquet", path=gz)})
    assert a.model_bytes() == b.model_bytes()


def test_two_hosts_average_their_models(ws, monkeypatch):
    import threading

    from openmaker.distributed.collective import ADDRESS_ENV, TOKEN_ENV
    from openmaker.distributed.coordinator import Coordinator, new_token

    token = new_token()
    coordinator = Coordinator(2, token).start()
    monkeypatch.setenv(ADDRESS_ENV, coordinator.address)
    monkeypatch.setenv(TOKEN_ENV, token)
    data = seasonal_series(12, 100)
    shards = [ws.records("train", data[:6]), ws.records("train", data[6:])]
    contexts = [ws.context(), ws.context()]
    errors: list[BaseException] = []
    typed = ws.spec.validate_hyperparameters({**_fast(), "epochs": "2"})

    def host(rank: int) -> None:
        ctx = contexts[rank]
        ctx.hosts = ("algo-1", "algo-2")
        ctx.current_host = ctx.hosts[rank]
        try:
            ws.spec.train_function()(typed, {"train": shards[rank]}, ctx)
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
    assert "2 host(s)" in leader.log.getvalue()
    assert "#quality_metric" not in follower.log.getvalue()
