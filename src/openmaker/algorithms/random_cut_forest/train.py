"""Training for SageMaker's Random Cut Forest (reference section 6.6).

``train(hyperparameters, channels, context)``:

1. **Sample**: one pass over ``train`` (File or Pipe mode, ``mini_batch_size`` records at a
   time) keeps a uniform reservoir sample of ``num_trees x num_samples_per_tree`` records
   (:mod:`.sampling`); memory is the sample, whatever the size of the data.
2. **Split**: the sample is shuffled and cut into ``num_trees`` equal shares. When the channel
   has fewer records than asked for, each tree gets ``floor(records / num_trees)`` (SageMaker's
   log: 4032 records, 50 trees, 512 asked -> 80 per tree, 4000 in the forest); fewer records
   than ``num_trees`` fail the job with a HyperparameterError naming ``num_trees``.
3. **Build**: one random cut tree per share (:mod:`.build`): cut dimensions drawn in
   proportion to the bounding box's range, cut values uniform, until each leaf holds one
   distinct point.
4. **Test** (optional): every record of the labelled ``test`` channel is scored; records more
   than three standard deviations above the mean test score are called anomalies and
   ``test f1`` (always: the tuning objective), ``test accuracy`` and the precision / recall /
   F1 of both classes (per ``eval_metrics``) are logged (:mod:`.evaluate`). The test scores
   and labels are kept (9 bytes a record) for the threshold.

All random draws come from a generator with the fixed seed :data:`SEED` (SageMaker's RCF has
no seed hyperparameter), so the same data gives the same model bytes in File and Pipe mode.
``model_algo-1`` holds the forest's arrays (:class:`~.forest.Forest`) and the settings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from openmaker.algorithms.common import MetricLog, save_model_arrays
from openmaker.algorithms.random_cut_forest.build import build_forest
from openmaker.algorithms.random_cut_forest.evaluate import EvaluationMetrics
from openmaker.algorithms.random_cut_forest.forest import Forest
from openmaker.algorithms.random_cut_forest.inputs import feature_batches, labelled_batches
from openmaker.algorithms.random_cut_forest.sampling import Reservoir
from openmaker.algorithms.random_cut_forest.scoring import score_points
from openmaker.algorithms.random_cut_forest.spec import EVAL_METRICS, MINI_BATCH_SIZE
from openmaker.errors import ChannelError, DataFormatError, HyperparameterError
from openmaker.spec.algorithm import ChannelInput, TrainingContext

#: Seed of every random draw (sampling and cuts).
SEED = 0

#: ``meta["mode"]`` of a trained (batch) forest.
BATCH_MODE = "batch"


@dataclass(frozen=True)
class Settings:
    """Typed RCF settings."""

    feature_dim: int
    num_trees: int
    num_samples_per_tree: int
    eval_metrics: tuple[str, ...]
    mini_batch_size: int

    @classmethod
    def from_hyperparameters(cls, hp: Mapping[str, Any]) -> Settings:
        """Settings from validated hyperparameters (``SPEC.validate_hyperparameters``)."""
        return cls(
            feature_dim=int(hp["feature_dim"]),
            num_trees=int(hp.get("num_trees", 100)),
            num_samples_per_tree=int(hp.get("num_samples_per_tree", 256)),
            eval_metrics=tuple(dict.fromkeys(hp.get("eval_metrics", EVAL_METRICS))),
            mini_batch_size=int(hp.get("mini_batch_size", MINI_BATCH_SIZE)),
        )


def sample_forest(
    channel: ChannelInput, s: Settings, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Steps 1-2: ``(samples (num_trees, per_tree, feature_dim), records seen)``."""
    reservoir = Reservoir(s.num_trees * s.num_samples_per_tree, s.feature_dim, rng)
    for X in feature_batches(channel, s.mini_batch_size, s.feature_dim):
        reservoir.add(X)
    records = reservoir.seen
    if records == 0:
        raise DataFormatError(f"Channel {channel.name!r} contains no records")
    if records < s.num_trees:
        raise HyperparameterError(
            f"Hyperparameter 'num_trees': value {s.num_trees} is larger than the number of "
            f"records ({records}) in channel {channel.name!r}; each tree needs at least one",
            parameter="num_trees",
            value=s.num_trees,
            allowed=f"integer in [50, {max(records, 50)}] for this data",
        )
    per_tree = min(s.num_samples_per_tree, records // s.num_trees)
    sample = reservoir.sample()[rng.permutation(reservoir.size)]
    used = s.num_trees * per_tree
    return sample[:used].reshape(s.num_trees, per_tree, s.feature_dim), records


def evaluate(forest: Forest, channel: ChannelInput, s: Settings) -> EvaluationMetrics:
    """Step 4: score the labelled test channel and compare the three-sigma labels."""
    scores: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for X, y in labelled_batches(channel, max(s.mini_batch_size, 1024), s.feature_dim):
        scores.append(score_points(forest, X).astype(np.float64))
        labels.append(y)
    if not scores:
        raise DataFormatError(f"Channel {channel.name!r} contains no records")
    return EvaluationMetrics.compute(np.concatenate(scores), np.concatenate(labels))


def save(forest: Forest, s: Settings, records: int, model_dir: Any) -> None:
    """Write ``model_algo-1``."""
    per_tree = int(forest.tree_mass().max())
    meta = {
        "algorithm": "randomcutforest",
        "mode": BATCH_MODE,
        "feature_dim": s.feature_dim,
        "num_trees": s.num_trees,
        "num_samples_per_tree": per_tree,
        "num_samples_per_tree_requested": s.num_samples_per_tree,
        "num_samples_in_forest": per_tree * s.num_trees,
        "num_records": int(records),
        "seed": SEED,
    }
    save_model_arrays(model_dir, forest.to_arrays(), meta)


def train(
    hyperparameters: dict[str, Any],
    channels: Mapping[str, ChannelInput],
    context: TrainingContext,
) -> None:
    """Train a Random Cut Forest and write ``model_algo-1`` into ``context.model_dir``.

    Args:
        hyperparameters: validated, typed hyperparameters (``SPEC.validate_hyperparameters``).
        channels: ``train`` (required) and optionally a labelled ``test``.
        context: the job's directories and log.

    Raises:
        ChannelError: no ``train`` channel; a ``test`` channel without labels.
        HyperparameterError: fewer training records than ``num_trees``.
        ValidationError: dense data wider or narrower than ``feature_dim``.
        DataFormatError: NaN / infinity, labels other than 0 / 1, malformed or empty data.
    """
    if "train" not in channels:
        raise ChannelError("Random Cut Forest needs a 'train' channel", channel="train")
    log = MetricLog(context)
    s = Settings.from_hyperparameters(hyperparameters)
    log.info(
        f"Final configuration: {json.dumps(dict(hyperparameters), sort_keys=True, default=str)}"
    )
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    samples, records = sample_forest(channels["train"], s, rng)
    per_tree = samples.shape[1]
    if per_tree < s.num_samples_per_tree:
        log.warning(
            f"{records} records are too few for {s.num_trees} trees of "
            f"{s.num_samples_per_tree} samples; each tree gets {per_tree}"
        )
    forest = build_forest(samples, rng)
    log.info(
        f"ForestInfo: num_trees={s.num_trees}, num_samples_in_forest={s.num_trees * per_tree}, "
        f"num_samples_per_tree={per_tree}, num_records={records}"
    )
    log.progress(100.0)
    log.throughput(records / max(time.perf_counter() - start, 1e-9))
    log.info("Serializing the RandomCutForest model")
    save(forest, s, records, context.model_dir)

    if "test" in channels:
        metrics = evaluate(forest, channels["test"], s)
        log.info(
            f"test channel: {metrics.records} records, {metrics.anomalies} labelled anomalous, "
            f"{metrics.flagged} above the three-sigma threshold {metrics.threshold:.6g}"
        )
        logged = metrics.logged(s.eval_metrics)
        for name, value in logged:
            log.quality("test", name, value, "score")
        for name, value in logged:
            log.final_score("test", name, value)
