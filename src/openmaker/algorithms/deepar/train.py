"""Training for DeepAR (reference section 4).

``train(hyperparameters, channels, context)``:

1. **Read and check** ``train`` (:mod:`~openmaker.algorithms.deepar.inputs`): every record is
   checked and named on error; series with fewer than ``prediction_length + 1`` points are
   skipped (the DG: "training ignores series shorter than prediction_length"; one more point is
   needed for any history); at least :data:`~openmaker.algorithms.deepar.spec.MIN_OBSERVATIONS`
   observed values are required, and a ``prediction_length`` longer than every series is an
   error. The log gives the data statistics and what is done with ``cat`` / ``dynamic_feat``.
2. **Epochs**: each draws ``windows_per_epoch`` windows (:class:`~openmaker.algorithms.deepar.
   features.TrainingBank`) in mini-batches of ``mini_batch_size`` and takes one Adam step per
   mini-batch on the mean negative log-likelihood of the observed points of the whole window
   (context and forecast parts, teacher-forced), gradient norm clipped at 10. The learning
   rate is halved after 10 epochs without a better loss (not below 5e-5; GluonTS's trainer).
   Lines::

       #quality_metric: host=algo-1, epoch=0, batch=10 train loss <loss>=1.23
       #quality_metric: host=algo-1, epoch=0, train loss <loss>=1.19

3. **Best epoch**: the epoch with the lowest training loss is kept (the container's "best
   epoch loss so far" checkpoints); with ``early_stopping_patience`` training stops once that
   many epochs pass without a better loss. Then ``Final loss: x (occurred at epoch N)`` and
   ``#quality_metric: host=algo-1, train final_loss <loss>=x``.
4. **Test** (optional channel): the last ``prediction_length`` points of each test series are
   held out and forecast from the rest with ``num_eval_samples`` paths; ``RMSE`` of the mean,
   ``wQuantileLoss[q]`` per ``test_quantiles`` and their mean are printed as
   ``#test_score (algo-1, RMSE): x`` and ``#quality_metric: host=algo-1, test RMSE <loss>=x``.

Random draws come from generators seeded by ``(SEED, host rank, epoch)``: the same data and
hyperparameters give the same model bytes; a job resumed from its checkpoint
(``checkpoint_dir/deepar-<host>.pt``, written after every epoch) continues as if never stopped.

**Several instances**: each host trains on its part of the series (its files with
``ShardedByS3Key``, every n-th series otherwise); after each epoch the hosts' parameters are
averaged (one allreduce), as NTM does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.common.torch.checkpoint import Checkpointer, fingerprint
from openmaker.algorithms.common.torch.early_stopping import EarlyStopping
from openmaker.algorithms.common.torch.loop import run_epochs
from openmaker.algorithms.common.torch.runtime import choose_device, cpu_count, import_torch
from openmaker.algorithms.deepar.features import Encoder, TrainingBank, encode_request
from openmaker.algorithms.deepar.frequency import lags_for, parse_time_freq
from openmaker.algorithms.deepar.inputs import Layout, Series, read_channel, resolve_layout
from openmaker.algorithms.deepar.spec import MIN_OBSERVATIONS
from openmaker.errors import ChannelError, DataFormatError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of every random draw.
SEED = 42
#: Gradient-norm clip, LR plateau patience / factor / floor (GluonTS's trainer defaults).
CLIP_NORM = 10.0
LR_PATIENCE, LR_FACTOR, MIN_LR = 10, 0.5, 5e-5
#: A batch loss line every this many mini-batches.
BATCH_LOG_EVERY = 10


@dataclass(frozen=True)
class Settings:
    """The typed hyperparameters training uses."""

    time_freq: str
    context_length: int
    prediction_length: int
    epochs: int
    mini_batch_size: int
    learning_rate: float
    num_cells: int
    num_layers: int
    dropout_rate: float
    likelihood: str
    embedding_dimension: int
    cardinality: Any
    num_dynamic_feat: Any
    early_stopping_patience: int | None
    num_eval_samples: int
    test_quantiles: tuple[float, ...]

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        card = hp.get("cardinality", "auto")
        return cls(
            time_freq=str(hp["time_freq"]),
            context_length=int(hp["context_length"]),
            prediction_length=int(hp["prediction_length"]),
            epochs=int(hp["epochs"]),
            mini_batch_size=int(hp.get("mini_batch_size", 128)),
            learning_rate=float(hp.get("learning_rate", 1e-3)),
            num_cells=int(hp.get("num_cells", 40)),
            num_layers=int(hp.get("num_layers", 2)),
            dropout_rate=float(hp.get("dropout_rate", 0.1)),
            likelihood=str(hp.get("likelihood", "student-T")),
            embedding_dimension=int(hp.get("embedding_dimension", 10)),
            cardinality=list(card) if isinstance(card, list | tuple) else card,
            num_dynamic_feat=hp.get("num_dynamic_feat", "auto"),
            early_stopping_patience=(
                None
                if hp.get("early_stopping_patience") is None
                else int(hp["early_stopping_patience"])
            ),
            num_eval_samples=int(hp.get("num_eval_samples", 100)),
            test_quantiles=tuple(float(q) for q in _quantiles(hp.get("test_quantiles"))),
        )


def _quantiles(value: Any) -> Any:
    from openmaker.algorithms.deepar.spec import DEFAULT_TEST_QUANTILES, parse_test_quantiles

    if value is None:
        return DEFAULT_TEST_QUANTILES
    return parse_test_quantiles(value) if isinstance(value, str) else value


def build_network(encoder: Encoder, s: Settings) -> Any:
    """The :class:`~openmaker.algorithms.deepar.network.DeepARNetwork` of these settings."""
    from openmaker.algorithms.deepar.network import DeepARNetwork

    return DeepARNetwork(
        num_lags=len(encoder.lags),
        num_time_features=encoder.num_time_features,
        num_dynamic_feat=encoder.layout.num_dynamic_feat,
        cardinality=encoder.layout.cardinality,
        embedding_dimension=s.embedding_dimension,
        num_layers=s.num_layers,
        num_cells=s.num_cells,
        dropout_rate=s.dropout_rate,
        likelihood=s.likelihood,
    )


def _statistics(series: list[Series]) -> dict[str, float]:
    values = np.concatenate([s.target for s in series]) if series else np.zeros(0)
    obs = values[np.isfinite(values)]
    return {
        "series": len(series),
        "observations": int(obs.size),
        "mean_length": float(np.mean([len(s) for s in series])) if series else 0.0,
        "min": float(obs.min()) if obs.size else math.nan,
        "mean": float(obs.mean()) if obs.size else math.nan,
        "max": float(obs.max()) if obs.size else math.nan,
        "mean_abs": float(np.abs(obs).mean()) if obs.size else math.nan,
    }


def _check_likelihood(series: list[Series], likelihood: str) -> None:
    for s in series:
        t = s.target[np.isfinite(s.target)]
        if likelihood == "beta" and t.size and (t.min() < 0 or t.max() > 1):
            raise DataFormatError(
                f"{s.where}: field 'target': likelihood 'beta' needs values in [0, 1], found "
                f"{float(t.min()):g}..{float(t.max()):g}"
            )
        if likelihood == "negative-binomial" and t.size and (t < 0).any():
            raise DataFormatError(
                f"{s.where}: field 'target': likelihood 'negative-binomial' needs counts "
                f"(non-negative), found {float(t.min()):g}"
            )


def _local(series: list[Series], channel: ChannelInput, comm: Any) -> list[Series]:
    from openmaker.distributed.sharding import local_part

    return list(local_part(iter(series), channel, comm))


def _agree_layout(comm: Any, layout: Layout) -> Layout:
    """The hosts' layouts merged: the largest cardinalities, the same feature counts."""
    if comm.size == 1:
        return layout
    k = len(layout.cardinality)
    slots = np.zeros((comm.size, k + 2), dtype=np.float64)
    slots[comm.rank, :k] = layout.cardinality
    slots[comm.rank, k] = k
    slots[comm.rank, k + 1] = layout.num_dynamic_feat
    (merged,) = comm.allreduce_sum([slots])
    merged = np.asarray(merged)
    if len({int(v) for v in merged[:, k]}) > 1 or len({int(v) for v in merged[:, k + 1]}) > 1:
        raise DataFormatError("the hosts' series disagree on the number of cat / dynamic_feat")
    return Layout(tuple(int(v) for v in merged[:, :k].max(axis=0)), layout.num_dynamic_feat)


def fit(
    hyperparameters: Mapping[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
    *,
    seed: int = SEED,
) -> dict[str, float]:
    """:func:`train` with a chosen ``seed`` (what the Python API's ``fit_deepar(seed=)`` uses).

    Returns:
        Timings kept out of the artifact (it must not change from run to run):
        ``seconds_per_epoch`` and ``training_seconds`` (empty on hosts other than the leader).
    """
    from openmaker.distributed.collective import connect

    torch = import_torch()
    if "train" not in channels:
        raise ChannelError("DeepAR needs a 'train' channel", channel="train")
    s = Settings.from_hyperparameters(hyperparameters)
    freq = parse_time_freq(s.time_freq)
    device = choose_device()
    with connect(context) as comm:
        log = MetricLog(context)
        leader = comm.is_leader
        if leader:
            log.info(
                "Final configuration: "
                + json.dumps(dict(hyperparameters), sort_keys=True, default=str)
            )
        everything = read_channel(channels["train"], freq)
        if not everything:
            raise DataFormatError("Channel 'train' contains no time series")
        longest = max(len(x) for x in everything)
        if s.prediction_length >= longest:
            raise DataFormatError(
                f"prediction_length={s.prediction_length} is not shorter than any training "
                f"series (the longest has {longest} points)"
            )
        _check_likelihood(everything, s.likelihood)
        stats = _statistics(everything)
        if stats["observations"] < MIN_OBSERVATIONS:
            raise DataFormatError(
                f"Channel 'train' has {stats['observations']} observations in total; DeepAR "
                f"needs at least {MIN_OBSERVATIONS}"
            )
        layout, notes = resolve_layout(
            everything, s.cardinality, s.num_dynamic_feat, s.prediction_length
        )
        layout = _agree_layout(comm, layout)
        encoder = Encoder(
            freq,
            tuple(lags_for(freq)),
            s.context_length,
            s.prediction_length,
            layout,
            scaling=s.likelihood != "beta",
        )
        mine = _local(everything, channels["train"], comm)
        bank = TrainingBank(encoder, mine)
        if leader:
            log.info(
                f"Training set statistics: {stats['series']} time series, "
                f"{stats['observations']} observations, mean target length "
                f"{stats['mean_length']:.1f}, min/mean/max target {stats['min']:g}/"
                f"{stats['mean']:g}/{stats['max']:g}, mean abs(target) {stats['mean_abs']:g}"
            )
            for note in notes:
                log.info(note)
            if bank.skipped:
                log.info(
                    f"{bank.skipped} series with fewer than prediction_length + 1 = "
                    f"{s.prediction_length + 1} points skipped"
                )
        if bank.positions == 0:
            raise DataFormatError(
                "no training window: every series is shorter than prediction_length + 1"
            )
        per_epoch = bank.windows_per_epoch(s.mini_batch_size)
        batches = per_epoch // s.mini_batch_size
        torch.manual_seed(seed)
        net = build_network(encoder, s).to(device)
        threads = torch.get_num_threads()
        if device.type == "cpu":
            # every core (the default 40 cells x 128 windows: 47 ms a step on 2 threads, 58 on
            # 1, measured); only tiny networks step faster on one thread
            threads = 1 if s.num_cells * s.mini_batch_size < 1024 else cpu_count()
            torch.set_num_threads(threads)
        if leader:
            log.info(
                f"Network: {s.num_layers} x {s.num_cells} LSTM (zoneout {s.dropout_rate:g}), "
                f"{len(encoder.lags)} lags {list(encoder.lags)}, {encoder.num_time_features} "
                f"time features ({', '.join(freq.feature_names)}, age), {s.likelihood} "
                f"likelihood; {per_epoch} windows per epoch ({batches} batches of "
                f"{s.mini_batch_size}), {comm.size} host(s), device {device.type}"
                + (f" ({threads} threads)" if device.type == "cpu" else "")
            )
        opt = torch.optim.Adam(net.parameters(), lr=s.learning_rate)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=LR_FACTOR, patience=LR_PATIENCE, min_lr=MIN_LR
        )
        best: dict[str, Any] = {"state": copy.deepcopy(net.state_dict())}
        patience = s.early_stopping_patience or (s.epochs + 1)
        stopper = EarlyStopping(0.0, patience, "min")
        ckpt = Checkpointer(
            context.checkpoint_dir,
            fingerprint(
                {
                    "settings": {k: v for k, v in asdict(s).items() if k != "epochs"},
                    "seed": seed,
                    "hosts": comm.size,
                    "rank": comm.rank,
                    "data": hashlib.sha256(bank.z.tobytes()).hexdigest(),
                }
            ),
            name=f"deepar-{context.current_host}.pt",
        )
        start_epoch, history = 0, []
        restored = ckpt.load()
        if restored is not None:
            net.load_state_dict(restored["net"])
            opt.load_state_dict(restored["optimizer"])
            sched.load_state_dict(restored["scheduler"])
            best["state"] = restored["best"]
            stopper.load_state_dict(restored["loop"]["stopper"])
            history = list(restored["loop"]["history"])
            start_epoch = int(restored["loop"]["epoch"]) + 1
            if leader:
                log.info(f"Resuming from the checkpoint after epoch {start_epoch - 1}")
        from openmaker.algorithms.deepar.forecast import window_loss

        windows_trained = 0

        def run_epoch(epoch: int) -> dict[str, float]:
            nonlocal windows_trained
            rng = np.random.default_rng([seed, comm.rank, epoch])
            torch.manual_seed(int(rng.integers(2**62)))
            net.train()
            total, count = 0.0, 0.0
            for b in range(batches):
                batch = bank.sample(rng, s.mini_batch_size)
                loss_sum, n = window_loss(net, batch, device)
                loss = loss_sum / n.clamp(min=1.0)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP_NORM)
                opt.step()
                total += float(loss_sum.detach())
                count += float(n)
                windows_trained += s.mini_batch_size
                if leader and (b + 1) % BATCH_LOG_EVERY == 0:
                    context.print(
                        f"{log._prefix()}#quality_metric: host={log.host}, epoch={epoch}, "
                        f"batch={b + 1} train loss <loss>={float(loss.detach()):.10g}"
                    )
            if comm.size > 1:
                state = net.state_dict()
                keys = [k for k, v in state.items() if v.dtype.is_floating_point]
                summed = comm.allreduce_sum(
                    [state[k].detach().cpu().numpy() for k in keys] + [np.array([total, count])]
                )
                with torch.no_grad():
                    for k, arr in zip(keys, summed[:-1], strict=True):
                        state[k].copy_(torch.from_numpy(np.asarray(arr) / comm.size))
                total, count = (float(v) for v in np.asarray(summed[-1]))
            epoch_loss = total / max(count, 1.0)
            sched.step(epoch_loss)
            return {"train:loss": epoch_loss}

        def on_best(epoch: int) -> None:
            best["state"] = copy.deepcopy(net.state_dict())

        def state() -> dict[str, Any]:
            return {
                "net": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "best": best["state"],
            }

        start = time.perf_counter()
        result = run_epochs(
            epochs=s.epochs,
            run_epoch=run_epoch,
            monitor="train:loss",
            stopper=stopper,
            log=log,
            on_best=on_best,
            checkpoint=ckpt,
            checkpoint_state=state,
            start_epoch=start_epoch,
            history=history,
            quiet=not leader,
        )
        seconds = max(time.perf_counter() - start, 1e-9)
        net.load_state_dict(best["state"])
        epochs_now = max(result.epochs_run - start_epoch, 1)
        if leader:
            log.info(f"Final loss: {result.best_value:.6g} (occurred at epoch {result.best_epoch})")
            log.quality("train", "final_loss", result.best_value)
            log.info(f"{seconds / epochs_now:.3f} seconds per epoch")
            log.throughput(windows_trained * comm.size / seconds)
        test_scores: dict[str, float] = {}
        if "test" in channels and leader:
            test_scores = score_test(net, encoder, s, channels["test"], freq, device, log, seed)
        if not leader:
            return {}
        meta = {
            "algorithm": "forecasting-deepar",
            "time_freq": freq.text,
            "context_length": s.context_length,
            "prediction_length": s.prediction_length,
            "lags": list(encoder.lags),
            "cardinality": list(layout.cardinality),
            "num_dynamic_feat": layout.num_dynamic_feat,
            "scaling": encoder.scaling,
            "num_cells": s.num_cells,
            "num_layers": s.num_layers,
            "dropout_rate": s.dropout_rate,
            "likelihood": s.likelihood,
            "embedding_dimension": s.embedding_dimension,
            "test_quantiles": list(s.test_quantiles),
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early,
            "windows_per_epoch": per_epoch,
            "train:final_loss": float(result.best_value),
            **{f"test:{k}": float(v) for k, v in test_scores.items()},
        }
        arrays = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
        save_model_arrays(context.model_dir, arrays, meta)
        log.info("Serializing to model_algo-1")
        return {"seconds_per_epoch": seconds / epochs_now, "training_seconds": seconds}


def score_test(
    net: Any,
    encoder: Encoder,
    s: Settings,
    channel: ChannelInput,
    freq: Any,
    device: Any,
    log: MetricLog,
    seed: int,
) -> dict[str, float]:
    """Forecast the held-out end of every test series and print the scores (step 4)."""
    from openmaker.algorithms.deepar.evaluation import forecast_scores, sample_quantiles
    from openmaker.algorithms.deepar.forecast import sample_paths
    from openmaker.algorithms.deepar.inputs import check_request_series

    T = s.prediction_length
    series = read_channel(channel, freq)
    usable = [x for x in series if len(x) > T]
    if not usable:
        raise DataFormatError(f"Channel 'test' has no series longer than prediction_length={T}")
    cut, actuals = [], []
    for x in usable:
        dyn = x.dynamic_feat
        if dyn is not None and dyn.shape[1] == len(x) + T:
            dyn = dyn[:, : len(x)]  # given for len(target) + prediction_length: drop the end
        head = Series(x.start, x.target[:-T], x.cat, dyn, x.where)
        check_request_series(head, encoder.layout, T)
        cut.append(head)
        actuals.append(x.target[-T:])
    paths = sample_paths(
        net, encoder, encode_request(encoder, cut), s.num_eval_samples, seed, device
    )
    means = [p.mean(axis=0) for p in paths]
    qs = [sample_quantiles(p, s.test_quantiles) for p in paths]
    scores = forecast_scores(actuals, means, {q: [d[q] for d in qs] for q in s.test_quantiles})
    log.info(f"test channel: {len(usable)} series, {len(series) - len(usable)} too short")
    for name, value in scores.items():
        log.context.print(f"#test_score ({log.host}, {name}): {value:.10g}")
    for name, value in scores.items():
        log.quality("test", name, value)
    return scores


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train DeepAR and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and ``test`` (optional).
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel.
        DataFormatError: a bad record (file, line, field named), fewer than 300
            observations, a prediction_length longer than every series, values outside the
            likelihood's domain, inconsistent cat / dynamic_feat counts.
        ValidationError: cardinality / num_dynamic_feat disagree with the data.
    """
    fit(hyperparameters, channels, context)
