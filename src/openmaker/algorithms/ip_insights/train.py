"""Training for SageMaker's IP Insights (reference section 8).

``train(hyperparameters, channels, context)``:

1. the weights start random (:meth:`Weights.initial`, fixed seed :data:`SEED`: IP Insights has
   no seed hyperparameter, and the same data gives the same model bytes);
2. each of ``epochs`` passes streams the ``train`` channel (File or Pipe mode), shuffles it
   within a bounded pool and cuts it into batches of ``mini_batch_size`` positive pairs; each
   batch gets its random and shuffled negatives and one Adam step
   (:func:`~openmaker.algorithms.ip_insights.trainer.train_step`);
3. every ``batch_metrics_publish_interval`` batches it logs the loss and accuracy of the last
   batches and the throughput (SageMaker's Speedometer lines), e.g. ``#quality_metric:
   host=algo-1, epoch=0, batch=1000 train binary_classification_cross_entropy <loss>=0.31``,
   the same with ``binary_classification_accuracy <score>=``, and ``#throughput_metric:
   host=algo-1, train throughput=152342.11 records/second``;

4. after each epoch: the epoch's ``train binary_classification_cross_entropy`` and
   ``..._accuracy`` (``epoch=N`` lines) and, with a ``validation`` channel,
   ``#quality_metric: host=algo-1, epoch=N, validation discriminator_auc <score>=...``: the AUC
   of the validation pairs against negatives generated the same way (fixed seed, so epochs are
   comparable);
5. ``model_algo-1`` gets the embeddings and the encoder (see :mod:`.network`).

Throughput counts positive pairs (records of the channel) per second. Training runs with one
BLAS thread (the products are small; the model bytes do not depend on the core count).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.ip_insights.network import IP_BUCKETS, LEVELS, Weights
from openmaker.algorithms.ip_insights.optim import Adam
from openmaker.algorithms.ip_insights.trainer import (
    batches,
    discriminator_auc,
    slot_blocks,
    train_step,
)
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of the initial weights and of the training negatives and shuffles.
SEED = 0
BCE = "binary_classification_cross_entropy"
ACCURACY = "binary_classification_accuracy"


@dataclass(frozen=True)
class Settings:
    """Typed IP Insights settings."""

    num_entity_vectors: int
    vector_dim: int
    epochs: int
    learning_rate: float
    mini_batch_size: int
    num_ip_encoder_layers: int
    random_negative_sampling_rate: int
    shuffled_negative_sampling_rate: int
    weight_decay: float
    batch_metrics_publish_interval: int

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        """Settings from validated hyperparameters (``SPEC.validate_hyperparameters``)."""
        return cls(
            num_entity_vectors=int(hp["num_entity_vectors"]),
            vector_dim=int(hp["vector_dim"]),
            epochs=int(hp.get("epochs", 10)),
            learning_rate=float(hp.get("learning_rate", 0.001)),
            mini_batch_size=int(hp.get("mini_batch_size", 10_000)),
            num_ip_encoder_layers=int(hp.get("num_ip_encoder_layers", 1)),
            random_negative_sampling_rate=int(hp.get("random_negative_sampling_rate", 1)),
            shuffled_negative_sampling_rate=int(hp.get("shuffled_negative_sampling_rate", 1)),
            weight_decay=float(hp.get("weight_decay", 0.00001)),
            batch_metrics_publish_interval=int(hp.get("batch_metrics_publish_interval", 1000)),
        )


def initial_state(s: Settings, rng: np.random.Generator) -> tuple[Weights, Adam]:
    """Random weights and their optimiser.

    Raises:
        HyperparameterError: (``num_entity_vectors``) the tables do not fit in memory.
    """
    try:
        w = Weights.initial(s.num_entity_vectors, s.vector_dim, s.num_ip_encoder_layers, rng)
        return w, Adam(w, s.learning_rate, s.weight_decay)
    except MemoryError:
        rows = s.num_entity_vectors + sum(min(1 << b, IP_BUCKETS) for b in LEVELS)
        need = 3 * 4 * rows * s.vector_dim
        raise HyperparameterError(
            f"Hyperparameter 'num_entity_vectors': {s.num_entity_vectors} entity vectors of "
            f"vector_dim {s.vector_dim} need about {need / 2**30:.1f} GiB for the weights and "
            "Adam's state, more than this machine has; lower num_entity_vectors or vector_dim",
            parameter="num_entity_vectors",
            value=s.num_entity_vectors,
        ) from None


class _Window:
    """Loss / accuracy sums over a stretch of batches."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.correct = 0
        self.pairs = 0

    def add(self, loss: float, correct: int, pairs: int) -> None:
        self.loss += loss
        self.correct += correct
        self.pairs += pairs

    @property
    def mean_loss(self) -> float:
        return self.loss / max(self.pairs, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.pairs, 1)


def _batch_line(log: MetricLog, epoch: int, batch: int, name: str, value: float, kind: str) -> None:
    log.info(
        f"#quality_metric: host={log.host}, epoch={epoch}, batch={batch} train {name} "
        f"<{kind}>={value:.10g}"
    )


def run_epoch(
    w: Weights,
    opt: Adam,
    channel: ChannelInput,
    s: Settings,
    rng: np.random.Generator,
    epoch: int,
    log: MetricLog,
) -> tuple[_Window, int, float]:
    """One pass over the training channel: ``(epoch sums, records, seconds)``."""
    epoch_sums = _Window()
    window = _Window()
    records = 0
    start = time.perf_counter()
    window_start, window_records = start, 0
    blocks = slot_blocks(channel, s.num_entity_vectors)
    for number, (slots, ips) in enumerate(batches(blocks, s.mini_batch_size, rng), start=1):
        r = train_step(
            w,
            opt,
            slots,
            ips,
            s.random_negative_sampling_rate,
            s.shuffled_negative_sampling_rate,
            rng,
        )
        epoch_sums.add(r.loss, r.correct, r.pairs)
        window.add(r.loss, r.correct, r.pairs)
        records += len(slots)
        window_records += len(slots)
        if number % s.batch_metrics_publish_interval == 0:
            _batch_line(log, epoch, number, BCE, window.mean_loss, "loss")
            _batch_line(log, epoch, number, ACCURACY, window.accuracy, "score")
            now = time.perf_counter()
            log.throughput(window_records / max(now - window_start, 1e-9))
            window, window_start, window_records = _Window(), now, 0
    return epoch_sums, records, time.perf_counter() - start


def save(w: Weights, s: Settings, summary: dict[str, Any], model_dir: Any) -> None:
    """Write ``model_algo-1``: the weights and the settings inference needs."""
    meta = {
        "algorithm": "ipinsights",
        "num_entity_vectors": s.num_entity_vectors,
        "vector_dim": s.vector_dim,
        "num_ip_encoder_layers": s.num_ip_encoder_layers,
        "ip_prefix_levels": list(LEVELS),
        "ip_buckets": IP_BUCKETS,
        "entity_hash": "blake2b-64",
        "ip_encoder": "sum of prefix embeddings, residual relu layers",
        "epochs": s.epochs,
        "mini_batch_size": s.mini_batch_size,
        "random_negative_sampling_rate": s.random_negative_sampling_rate,
        "shuffled_negative_sampling_rate": s.shuffled_negative_sampling_rate,
        **summary,
    }
    save_model_arrays(model_dir, w.arrays(), meta)


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train IP Insights and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and optionally ``validation``.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel.
        DataFormatError: a bad line (file and line named: missing column, empty entity id,
            invalid or IPv6 address), or an empty channel.
        HyperparameterError: embedding tables too large for memory.
    """
    if "train" not in channels:
        raise ChannelError("IP Insights needs a 'train' channel", channel="train")
    log = MetricLog(context)
    s = Settings.from_hyperparameters(hyperparameters)
    log.info(
        f"Final configuration: {json.dumps(dict(hyperparameters), sort_keys=True, default=str)}"
    )
    rng = np.random.default_rng(SEED)
    w, opt = initial_state(s, rng)
    # One BLAS thread: the products are small (batch x vector_dim by vector_dim x vector_dim),
    # a second thread mostly adds synchronisation (several times slower on a busy machine),
    # and the model bytes then do not depend on the machine's core count.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        summary = _fit(w, opt, channels, s, rng, log)
    save(w, s, summary, context.model_dir)
    log.info("Saved model_algo-1")


def _fit(
    w: Weights,
    opt: Adam,
    channels: Mapping[str, ChannelInput],
    s: Settings,
    rng: np.random.Generator,
    log: MetricLog,
) -> dict[str, Any]:
    """The epochs (steps 2-4 of the module docstring); returns the training summary."""
    validation = channels.get("validation")
    summary: dict[str, Any] = {}
    total_records, total_seconds = 0, 0.0
    for epoch in range(s.epochs):
        sums, records, seconds = run_epoch(w, opt, channels["train"], s, rng, epoch, log)
        if records == 0:
            raise DataFormatError("Channel 'train' contains no records")
        total_records += records
        total_seconds += seconds
        log.quality("train", BCE, sums.mean_loss, "loss", epoch=epoch)
        log.quality("train", ACCURACY, sums.accuracy, "score", epoch=epoch)
        summary.update(num_records=records, train_loss=sums.mean_loss, train_accuracy=sums.accuracy)
        if validation is not None:
            auc, n = discriminator_auc(
                w,
                slot_blocks(validation, s.num_entity_vectors),
                s.mini_batch_size,
                s.random_negative_sampling_rate,
                s.shuffled_negative_sampling_rate,
            )
            if n == 0:
                raise DataFormatError("Channel 'validation' contains no records")
            log.quality("validation", "discriminator_auc", auc, "score", epoch=epoch)
            summary["validation_discriminator_auc"] = auc
        log.progress(100.0 * (epoch + 1) / s.epochs)
        log.throughput(records / max(seconds, 1e-9))
    if "validation_discriminator_auc" in summary:
        log.final_score("validation", "discriminator_auc", summary["validation_discriminator_auc"])
    log.info(
        f"trained on {total_records} pairs in {total_seconds:.2f} s "
        f"({total_records / max(total_seconds, 1e-9):.0f} pairs/s)"
    )
    return summary
