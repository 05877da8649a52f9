"""A scikit-learn estimator that runs openmaker's IP Insights training in process.

``IPInsightsEstimator(num_entity_vectors=20000, vector_dim=128).fit(X)`` takes ``X`` of shape
``(n, 2)``: entity ids and dotted-decimal IPv4 addresses (a list of pairs, a numpy object array
or a two-column pandas DataFrame). It writes them to a temporary folder as SageMaker's CSV,
calls the same :func:`openmaker.algorithms.ip_insights.train.train` a training job runs (with
``X_validation`` as the ``validation`` channel when given) and loads the result with
:class:`~openmaker.algorithms.ip_insights.model.IPInsightsModel`. Hyperparameters are
SageMaker's names; ``num_entity_vectors`` defaults to twice the number of distinct entities
(SageMaker's advice) and ``vector_dim`` to 128.

``score_samples`` / ``decision_function`` / ``predict`` return the dot product of each pair
(higher: more usual, scikit-learn's convention for outlier scores); ``score`` is the
discriminator AUC of ``X`` against generated negatives (``validation:discriminator_auc``).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin

from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.ip_insights.spec import SPEC


def _pairs(X: Any) -> list[tuple[str, str]]:
    """``X`` as (entity, ip) string pairs; ValueError unless it has two columns."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=object)
    rows = [tuple(row) for row in X]
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise ValueError(f"X must have 2 columns (entity id, IPv4 address); row {i}: {row!r}")
    return [(str(e), str(ip)) for e, ip in rows]


def _csv(pairs: list[tuple[str, str]]) -> bytes:
    """SageMaker's training CSV (quoted where an id holds a comma)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(pairs)
    return buf.getvalue().encode()


class IPInsightsEstimator(SageMakerParams, OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn estimator over openmaker's IP Insights.

    Args:
        **hyperparameters: SageMaker's names (``num_entity_vectors``, ``vector_dim``,
            ``epochs``, ``learning_rate``, ``mini_batch_size``, ``num_ip_encoder_layers``,
            ``random_negative_sampling_rate``, ``shuffled_negative_sampling_rate``,
            ``weight_decay``, ``batch_metrics_publish_interval``).

    Attributes:
        model_: the loaded :class:`IPInsightsModel`.
        training_log_: everything training printed.
        n_features_in_: 2.
    """

    def fit(self, X: Any, y: Any = None, X_validation: Any = None) -> IPInsightsEstimator:
        """Learn embeddings from (entity, IP) pairs; ``y`` is ignored.

        Raises:
            HyperparameterError: invalid hyperparameters.
            DataFormatError: an invalid or IPv6 address, an empty entity id (line named).
        """
        from openmaker.algorithms.ip_insights.model import IPInsightsModel
        from openmaker.algorithms.ip_insights.train import train
        from openmaker.spec.algorithm import ChannelInput, TrainingContext

        pairs = _pairs(X)
        hp = dict(self._hyperparameters)
        if "num_entity_vectors" not in hp:
            hp["num_entity_vectors"] = max(1, 2 * len({e.strip() for e, _ in pairs}))
        hp.setdefault("vector_dim", 128)
        typed = SPEC.validate_hyperparameters(hp)
        log = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="openmaker-ipinsights-") as tmp:
            root = Path(tmp)
            channels = {}
            for name, data in (("train", pairs), ("validation", X_validation)):
                if data is None:
                    continue
                folder = root / "data" / name
                folder.mkdir(parents=True)
                (folder / "part-0.csv").write_bytes(
                    _csv(pairs if name == "train" else _pairs(data))
                )
                channels[name] = ChannelInput(
                    name=name, content_type="text/csv", input_mode="File", path=folder
                )
            ctx = TrainingContext(
                job_name="ipinsights-estimator",
                model_dir=root / "model",
                output_dir=root / "output",
                checkpoint_dir=root / "checkpoints",
                num_cpus=os.cpu_count() or 1,
                log=log,
            )
            ctx.model_dir.mkdir()
            ctx.output_dir.mkdir()
            train(typed, channels, ctx)
            self.model_ = IPInsightsModel.load(ctx.model_dir)
        self.training_log_ = log.getvalue()
        self.n_features_in_ = 2
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def _decoded(self, X: Any) -> tuple[Any, np.ndarray]:
        from openmaker.algorithms.ip_insights.records import parse_csv

        self._check_fitted()
        return parse_csv(_csv(_pairs(X)))

    def score_samples(self, X: Any) -> np.ndarray:
        """The dot product of each (entity, IP) pair: higher means a more usual pair."""
        entities, ips = self._decoded(X)
        return self.model_.dot_products(entities, ips)

    def decision_function(self, X: Any) -> np.ndarray:
        """Same as :meth:`score_samples` (no contamination threshold is learnt)."""
        return self.score_samples(X)

    def predict(self, X: Any) -> np.ndarray:
        """The dot products, as the endpoint's ``dot_product`` answers."""
        return self.score_samples(X)

    def embed(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(entity embeddings, IP embeddings)`` of the pairs, each ``(n, vector_dim)``."""
        entities, ips = self._decoded(X)
        return self.model_.entity_vectors(entities), self.model_.ip_vectors(ips)

    def score(self, X: Any, y: Any = None) -> float:
        """Discriminator AUC of the pairs of ``X`` against generated negatives."""
        from openmaker.algorithms.ip_insights.hashing import entity_slots
        from openmaker.algorithms.ip_insights.trainer import discriminator_auc

        entities, ips = self._decoded(X)
        meta = self.model_.meta
        slots = entity_slots(entities, self.model_.num_entity_vectors)
        auc, _ = discriminator_auc(
            self.model_.weights,
            iter([(slots, ips)]),
            int(meta.get("mini_batch_size", 10_000)),
            int(meta.get("random_negative_sampling_rate", 1)),
            int(meta.get("shuffled_negative_sampling_rate", 1)),
        )
        return auc
