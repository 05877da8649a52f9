"""Warm start: the parents' finished trials become the new study's history.

Both ``IdenticalDataAndAlgorithm`` and ``TransferLearning`` add every parent child that has an
objective value and whose hyperparameters fall inside the new search space (tuned or static in
the parent) to the new study with :meth:`optuna.Study.add_trial`, so the Bayesian sampler starts
from what the parents learnt. Children outside the new ranges are left out. Grid search
enumerates its combinations whatever the history, so it ignores warm start; so does Random.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import optuna

from openmaker.store import TrainingJobRecord
from openmaker.tuning.config import TuningSettings
from openmaker.tuning.describe import objective_status, objective_value


def history_trials(
    settings: TuningSettings, parents_children: Iterable[TrainingJobRecord]
) -> list[optuna.trial.FrozenTrial]:
    """Finished trials for the parents' children that fit ``settings``' search space."""
    distributions = {r.name: r.distribution() for r in settings.ranges}
    trials = []
    for child in parents_children:
        if objective_status(child, settings.objective_name) != "Succeeded":
            continue
        value = objective_value(child, settings.objective_name)
        params = _params(settings, child.hyperparameters)
        if value is None or params is None:
            continue
        trials.append(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=value,
                user_attrs={"training_job_name": child.name, "warm_start": True},
            )
        )
    return trials


def _params(settings: TuningSettings, hyperparameters: Mapping[str, str]) -> dict | None:
    params = {}
    for rng in settings.ranges:
        wire = hyperparameters.get(rng.name)
        internal = None if wire is None else rng.to_internal(str(wire))
        if internal is None:
            return None
        params[rng.name] = internal
    return params


def warm_start(
    study: optuna.Study, settings: TuningSettings, parents_children: Sequence[TrainingJobRecord]
) -> int:
    """Add the parents' trials to ``study``; returns how many were added."""
    if settings.strategy in ("Grid", "Random"):
        return 0
    trials = history_trials(settings, parents_children)
    if trials:
        study.add_trials(trials)
    return len(trials)
