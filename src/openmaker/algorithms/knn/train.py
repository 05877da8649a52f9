"""Training for SageMaker's k-NN (reference section 5.6).

``train(hyperparameters, channels, context)``:

1. **Plan the index dimension**: ``dimension_reduction_target`` when a reduction is set,
   ``feature_dim`` otherwise. For ``faiss.IVFPQ`` it must be a multiple of
   ``faiss_index_pq_m`` (default: the largest allowed value dividing it that leaves at least
   4 dimensions per sub-vector); when it is not, SageMaker's documented rule applies and a
   WARNING line says so: without a reduction the vectors are zero-padded to the next multiple,
   with one the target is raised to it.
2. **Sample** (one pass, File or Pipe mode alike, ``mini_batch_size`` records a batch): a
   uniform reservoir of ``sample_size`` records
   (:class:`~openmaker.algorithms.knn.sampling.Reservoir`); the kept rows are projected as they
   are kept, so memory is bounded by ``sample_size`` x the reduced dimension. With fewer
   records than ``sample_size`` every record is kept, in stream order.
3. **Index**: the sample is normalised (``COSINE``), padded, and indexed
   (:func:`~openmaker.algorithms.knn.index.build_index`). ``faiss_index_ivf_nlists=auto`` is
   ``round(sqrt(points sampled))`` (the documented ``sqrt(sample_size)`` when the data has at
   least ``sample_size`` records); IVF searches probe ``ceil(sqrt(nlist))`` lists (editable as
   ``nprobe`` in ``model_algo-1.json``).
4. **Test**: with a ``test`` channel (labelled, like ``train``), every record is predicted
   through the saved model's code path; ``#quality_metric: host=algo-1, test accuracy
   <score>=`` (classifier) or ``test mse <loss>=`` (regressor) and the matching
   ``#test_score (algo-1) : ('accuracy', ...)`` line are printed at the end, with a running
   value logged per mini-batch.

Errors: ``k`` above the number of sampled points and ``faiss_index_ivf_nlists`` above it are
HyperparameterErrors naming the parameter; data problems are DataFormatErrors naming the
channel and records (see :mod:`~openmaker.algorithms.knn.inputs`).

Random draws use fixed seeds (SageMaker's k-NN has no seed hyperparameter): the same data and
hyperparameters give the same three files, byte for byte.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common.metric_log import MetricLog
from openmaker.algorithms.knn import index as faiss_index
from openmaker.algorithms.knn.inputs import labelled_batches
from openmaker.algorithms.knn.model import FORMAT_VERSION, KNNModel
from openmaker.algorithms.knn.projection import Embedding, Projection
from openmaker.algorithms.knn.sampling import Reservoir
from openmaker.algorithms.knn.spec import PQ_M_VALUES
from openmaker.errors import ChannelError, HyperparameterError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of the reservoir's replacement draws.
SAMPLE_SEED = 0
#: Seed of the dimension-reduction projection (recorded in ``model_algo-1.json``).
PROJECTION_SEED = 3


@dataclass(frozen=True)
class Settings:
    """The typed hyperparameters training uses."""

    feature_dim: int
    k: int
    predictor_type: str
    sample_size: int
    reduction_type: str | None
    reduction_target: int | None
    nlists: int | None  # None: auto
    pq_m: int | None
    index_metric: str
    index_type: str
    mini_batch_size: int

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        """From validated hyperparameters (``SPEC.validate_hyperparameters``)."""
        nlists = hp.get("faiss_index_ivf_nlists", "auto")
        pq_m = hp.get("faiss_index_pq_m")
        return cls(
            feature_dim=int(hp["feature_dim"]),
            k=int(hp["k"]),
            predictor_type=str(hp["predictor_type"]),
            sample_size=int(hp["sample_size"]),
            reduction_type=hp.get("dimension_reduction_type"),
            reduction_target=(
                None
                if hp.get("dimension_reduction_target") is None
                else int(hp["dimension_reduction_target"])
            ),
            nlists=None if nlists in (None, "auto") else int(nlists),
            pq_m=None if pq_m is None else int(pq_m),
            index_metric=str(hp.get("index_metric", "L2")),
            index_type=str(hp.get("index_type", "faiss.Flat")),
            mini_batch_size=int(hp.get("mini_batch_size", 5000)),
        )


def default_pq_m(dim: int) -> int:
    """``faiss_index_pq_m`` when none is given: the largest allowed value dividing ``dim`` with
    at least 4 dimensions per sub-vector (1 for ``dim`` < 8)."""
    fits = [m for m in PQ_M_VALUES if dim % m == 0 and m <= max(1, dim // 4)]
    return max(fits) if fits else 1


@dataclass(frozen=True)
class Plan:
    """Dimensions of the index: what the projection outputs and what the index stores."""

    reduced_dim: int
    index_dim: int
    pq_m: int | None


def plan_dimensions(s: Settings, log: MetricLog) -> Plan:
    """The reduced and index dimensions, with ``faiss_index_pq_m``'s divisibility applied."""
    reduced = s.reduction_target if s.reduction_type else s.feature_dim
    assert reduced is not None
    if s.index_type != "faiss.IVFPQ":
        return Plan(reduced, reduced, None)
    m = s.pq_m if s.pq_m is not None else default_pq_m(reduced)
    if s.pq_m is None:
        log.info(f"faiss_index_pq_m not given: using {m} for dimension {reduced}")
    if reduced % m == 0:
        return Plan(reduced, reduced, m)
    raised = -(-reduced // m) * m
    if s.reduction_type:
        log.warning(
            f"faiss_index_pq_m={m} does not divide dimension_reduction_target={reduced}: "
            f"the target is raised to {raised}"
        )
        return Plan(raised, raised, m)
    log.warning(
        f"faiss_index_pq_m={m} does not divide the data dimension {reduced} (feature_dim): "
        f"the vectors are zero-padded to {raised}"
    )
    return Plan(reduced, raised, m)


def _nlist(s: Settings, n_points: int) -> int:
    if s.nlists is None:
        return faiss_index.auto_nlist(n_points)
    if s.nlists > n_points:
        raise HyperparameterError(
            f"Hyperparameter 'faiss_index_ivf_nlists': value {s.nlists} is not valid; allowed: "
            f"an integer in [1, {n_points}] (the number of sampled points) or auto",
            parameter="faiss_index_ivf_nlists",
            value=s.nlists,
            allowed=f"integer in [1, {n_points}] or auto",
        )
    return s.nlists


def sample(
    channel: ChannelInput, s: Settings, embedding: Embedding
) -> tuple[np.ndarray, np.ndarray, int]:
    """One pass over ``channel``: ``(reduced rows, labels, records read)`` of the sample."""
    reservoir = Reservoir(s.sample_size, embedding.reduced_dim, SAMPLE_SEED, embedding.reduce)
    for batch in labelled_batches(channel, s.mini_batch_size, s.feature_dim):
        reservoir.add(batch.X, batch.y)
    X, y = reservoir.sample()
    return X, y, reservoir.seen


def evaluate(model: KNNModel, channel: ChannelInput, s: Settings, log: MetricLog) -> float:
    """Score ``channel`` (accuracy or MSE) and log it; returns the value."""
    classifier = model.predictor_type == "classifier"
    name = "accuracy" if classifier else "mse"
    total = 0.0
    n = 0
    for i, batch in enumerate(labelled_batches(channel, s.mini_batch_size, s.feature_dim)):
        pred = model.predict_array(batch.X)
        if classifier:
            total += float(np.count_nonzero(pred == batch.y))
        else:
            total += float(np.sum((pred.astype(np.float64) - batch.y) ** 2))
        n += batch.n
        log.info(f"test mini-batch {i}: {n} records, running {name} {total / n:.6g}")
    value = total / n
    log.quality("test", name, value, "score" if classifier else "loss")
    log.final_score("test", name, value)
    return value


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Sample, index and (with a ``test`` channel) score; writes ``model_algo-1*``."""
    if "train" not in channels:
        raise ChannelError("Missing required channel 'train'", channel="train")
    log = MetricLog(context)
    s = Settings.from_hyperparameters(hyperparameters)
    log.info(
        f"Final configuration: {json.dumps(dict(hyperparameters), sort_keys=True, default=str)}"
    )
    start = time.perf_counter()
    plan = plan_dimensions(s, log)
    projection = (
        Projection(s.reduction_type, PROJECTION_SEED, s.feature_dim, plan.reduced_dim)
        if s.reduction_type
        else None
    )
    embedding = Embedding(
        feature_dim=s.feature_dim,
        index_dim=plan.index_dim,
        projection=projection,
        normalize=s.index_metric == "COSINE",
    )
    X, y, records = sample(channels["train"], s, embedding)
    n = len(X)
    log.info(f"sampled {n} of {records} records (sample_size={s.sample_size})")
    if n < s.k:
        raise HyperparameterError(
            f"Hyperparameter 'k': value {s.k} is not valid; allowed: an integer in [1, {n}] "
            f"(only {n} points were sampled from {records} training records)",
            parameter="k",
            value=s.k,
            allowed=f"integer in [1, {n}]",
        )
    vectors = embedding.finish(X)
    meta: dict[str, Any] = {
        "k": s.k,
        "predictor_type": s.predictor_type,
        "normalize": embedding.normalize,
        "version": FORMAT_VERSION,
        "feature_dim": s.feature_dim,
        "index_dim": plan.index_dim,
        "index_type": s.index_type,
        "index_metric": s.index_metric,
        "num_records": records,
        "num_samples": n,
    }
    if projection is not None:
        meta["dimension_reduction"] = projection.to_meta()
    build: dict[str, Any] = {}
    if s.index_type != "faiss.Flat":
        nlist = _nlist(s, n)
        nprobe = faiss_index.default_nprobe(nlist)
        build["nlist"] = nlist
        meta.update(nlist=nlist, nprobe=nprobe)
    if plan.pq_m is not None:
        nbits = faiss_index.pq_nbits(n)
        build.update(pq_m=plan.pq_m, nbits=nbits)
        meta.update(pq_m=plan.pq_m, pq_nbits=nbits)
        if nbits < 8:
            log.warning(
                f"only {n} sampled points: the IVFPQ sub-quantizers use {nbits} bits "
                f"({1 << nbits} centroids) instead of 8"
            )
    log.info(
        f"building {s.index_type} ({s.index_metric}) on {n} points of dimension "
        f"{plan.index_dim}" + "".join(f", {k}={v}" for k, v in build.items())
    )
    index = faiss_index.build_index(
        vectors, index_type=s.index_type, metric=s.index_metric, **build
    )
    model = KNNModel(index, y, meta)
    model.save(context.model_dir)
    seconds = max(time.perf_counter() - start, 1e-9)
    log.throughput(records / seconds)
    log.info("Saved model_algo-1, model_algo-1.labels, model_algo-1.json")
    if "test" in channels:
        evaluate(model, channels["test"], s, log)
