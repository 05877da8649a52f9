"""Linear Learner over several hosts (``InstanceCount`` > 1): synchronous data-parallel SGD.

Every host streams its own part of the ``train`` channel (its files with ``ShardedByS3Key``,
every n-th mini-batch of a ``FullyReplicated`` channel). The hosts take their steps together:
at each step every host computes the gradients of all ``num_models`` models on its
mini-batch, the hosts add them (one ``allreduce_sum`` of ``d x num_models x classes`` floats
plus the losses), and every host applies the same update with the gradient averaged over all
the step's rows. A host whose part is used up contributes nothing until every host's is, so
the epoch ends together. All hosts start from the same seeded weights and apply the same
updates, so they hold the same models throughout.

``algo-1`` leads: it estimates the scaler from the first ``num_point_for_scaler`` rows of its
part (the channel's first rows when it is replicated, as on one host) and sends it to the
others, runs the validation pass, early stopping, model selection and threshold calibration
between epochs exactly as one host does (:func:`openmaker.algorithms.linear_learner.train._fit`),
tells the others whether another epoch follows, and writes the model and the final metrics.
Its validation and test channels are read whole when they are ``FullyReplicated`` (the
default); a ``ShardedByS3Key`` validation or test channel is scored on ``algo-1``'s files only.

Documented difference from one host: one step uses the mini-batches of all hosts, so the
effective mini-batch is ``mini_batch_size x hosts`` and an epoch has fewer, larger steps (as in
SageMaker's multi-machine training, where ``mini_batch_size`` is per host); the model is of the
same quality, not the same bits. Communication per step: ``d x num_models x classes`` floats
per host, so hosts pay off when a mini-batch's computation outweighs that exchange.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog
from openmaker.algorithms.linear_learner.inputs import BatchSource
from openmaker.algorithms.linear_learner.settings import Settings
from openmaker.algorithms.linear_learner.trainer import ParallelLinear
from openmaker.distributed.collective import Collective, connect
from openmaker.distributed.sharding import describe, local_part
from openmaker.spec.algorithm import ChannelInput, TrainingContext


@dataclass
class Step:
    """One synchronous step's batch on this host; ``n`` counts the rows of all hosts."""

    X: Any
    y: np.ndarray
    n: int


class SyncedBatches:
    """This host's mini-batches of the train channel, in lock-step with the other hosts.

    Each pass (epoch) starts with ``algo-1``'s go-ahead; :meth:`finish` (on ``algo-1``) ends
    the training on every host.
    """

    def __init__(self, source: BatchSource, channel: ChannelInput, comm: Collective) -> None:
        self.source = source
        self.channel = channel
        self.comm = comm
        self.finished = False

    def __iter__(self) -> Iterator[Step]:
        go = self.comm.broadcast(True if self.comm.is_leader else None)
        if not go:
            self.finished = True
            return
        mine = local_part(iter(self.source), self.channel, self.comm)
        width = self.source.feature_dim
        while True:
            batch = next(mine, None)
            rows, active = self.comm.allreduce_sum(
                [np.float64(batch.n if batch is not None else 0), np.float64(batch is not None)]
            )
            if not active:
                return
            if batch is None:
                yield Step(np.zeros((0, width), np.float32), np.zeros(0, np.float32), int(rows))
            else:
                yield Step(batch.X, batch.y, int(rows))

    def finish(self) -> None:
        """``algo-1``: no more epochs."""
        self.comm.broadcast(False)


class SyncedLinear:
    """A :class:`ParallelLinear` whose updates use the gradients of every host's batch."""

    def __init__(self, net: ParallelLinear, comm: Collective) -> None:
        self._net = net
        self._comm = comm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._net, name)

    def train_batch(self, X: Any, y: np.ndarray) -> np.ndarray:
        """One synchronous step; returns the summed loss per model of every host's batch."""
        net = self._net
        n = int(X.shape[0])
        if n:
            gW, gb, loss = net.gradients(X, y)
            gW *= np.float32(n)  # the batch mean back to a sum: hosts' batches differ in size
            gb *= np.float32(n)
        else:
            gW = np.zeros_like(net.state.W)
            gb = np.zeros_like(net.state.b)
            loss = np.zeros(net.M)
        gW, gb, loss, rows = self._comm.allreduce_sum([gW, gb, loss, np.float64(n)])
        if rows > 0:
            scale = np.float32(1.0 / float(rows))
            net.optimizer.step(net.state, gW * scale, gb * scale, update_bias=net.s.use_bias)
        return np.asarray(loss, dtype=np.float64)


def join(context: TrainingContext, log: MetricLog, channel: ChannelInput) -> Collective:
    """This host's collective for the job (and a log line saying what this host reads)."""
    comm = connect(context)
    log.info(f"host {comm.rank + 1} of {comm.size}: {describe(channel, comm)}")
    return comm


def lead(
    comm: Collective,
    net: ParallelLinear,
    train_src: BatchSource,
    channel: ChannelInput,
    shared: tuple[Any, ...],
) -> tuple[SyncedLinear, SyncedBatches]:
    """``algo-1``: send the scaler and class weights (``shared``), return the synced model and
    train source for :func:`~openmaker.algorithms.linear_learner.train._fit`."""
    comm.broadcast(shared)
    return SyncedLinear(net, comm), SyncedBatches(train_src, channel, comm)


def follow(comm: Collective, settings: Settings, channel: ChannelInput) -> None:
    """Any host but ``algo-1``: train in lock-step until ``algo-1`` says it is done."""
    from threadpoolctl import threadpool_limits

    scaler, positive, class_weights, d = comm.broadcast(None)
    net = ParallelLinear(settings, scaler, d, positive_weight=positive, class_weights=class_weights)
    source = BatchSource(
        channel, settings.mini_batch_size, settings.predictor_type, settings.num_classes, d
    )
    synced, batches = SyncedLinear(net, comm), SyncedBatches(source, channel, comm)
    with threadpool_limits(1, user_api="blas"):
        while not batches.finished:
            for step in batches:
                synced.train_batch(step.X, step.y)
    comm.close()
