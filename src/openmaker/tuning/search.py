"""The search behind a tuning job: an Optuna study in openmaker's own database.

Strategy -> Optuna:

* ``Bayesian``: TPE (multivariate, with the constant-liar heuristic so that parallel trials do
  not all land on the same point). Optuna's GP sampler needs torch, which is an optional extra,
  and TPE did as well on the benchmark (``benchmarks/bench_tuning.py``).
* ``Random``: Optuna's random sampler.
* ``Grid``: Optuna's grid sampler over the categorical values (each combination once).
* ``Hyperband``: TPE plus Optuna's Hyperband pruner, whose resource is the step of the
  objective metric's intermediate values (XGBoost's boosting round).

``TrainingJobEarlyStoppingType=Auto`` adds Optuna's median pruner (a trial is stopped when its
intermediate objective is worse than the median of completed trials at the same step).

The study lives in the same database as the rest of the metadata (``get_settings()
.database_url``) through Optuna's RDB storage, which creates and versions its own tables
(openmaker's migrations keep their version in ``openmaker_alembic_version``, so the two never
collide).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler

from openmaker.tuning.config import TuningSettings

#: Trials run before the median rule may stop one (SageMaker does not publish its number).
MEDIAN_STARTUP_TRIALS = 3
#: Steps of a trial before the median rule looks at it.
MEDIAN_WARMUP_STEPS = 1
#: Trials TPE draws at random before it models the results.
TPE_STARTUP_TRIALS = 6


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO; the tuning job keeps its own records."""
    optuna.logging.set_verbosity(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class AskTellGridSampler(GridSampler):
    """Optuna's grid sampler without its call to ``study.stop()`` once the grid is covered.

    That call is only allowed inside ``study.optimize``; the supervisor asks and tells, and
    stops by itself after ``MaxNumberOfTrainingJobs`` (the number of combinations).
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Nothing to do after a trial."""


def make_sampler(settings: TuningSettings) -> BaseSampler:
    """The sampler for ``settings.strategy``, seeded by ``RandomSeed`` when given."""
    seed = settings.random_seed
    if settings.strategy == "Random":
        return RandomSampler(seed=seed)
    if settings.strategy == "Grid":
        space = {r.name: r.grid_values() for r in settings.ranges}
        return AskTellGridSampler(space, seed=seed)
    return TPESampler(
        seed=seed,
        multivariate=True,
        constant_liar=True,
        n_startup_trials=min(TPE_STARTUP_TRIALS, max(2, settings.max_jobs // 3)),
    )


def make_pruner(settings: TuningSettings) -> BasePruner:
    """The pruner: Hyperband's, the median rule (early stopping Auto), or none."""
    if settings.strategy == "Hyperband":
        assert settings.max_resource is not None
        return HyperbandPruner(
            min_resource=settings.min_resource,
            max_resource=settings.max_resource,
            reduction_factor=3,
        )
    if settings.early_stopping == "Auto":
        return MedianPruner(
            n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=MEDIAN_WARMUP_STEPS
        )
    return NopPruner()


def storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's RDB storage on openmaker's database (open the openmaker store first)."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 30}
    else:
        engine_kwargs["pool_pre_ping"] = True
    for attempt in range(3):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except Exception:
            # Two supervisors creating Optuna's tables at once: the loser finds them made.
            if attempt == 2:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def create_study(url: str, study_name: str, settings: TuningSettings) -> optuna.Study:
    """A new study (an old one of the same name, left by a deleted tuning job, is replaced)."""
    quiet_optuna()
    store = storage(url)
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=study_name, storage=store)
    return optuna.create_study(
        study_name=study_name,
        storage=store,
        direction="maximize" if settings.maximize else "minimize",
        sampler=make_sampler(settings),
        pruner=make_pruner(settings),
    )


def delete_study(url: str, study_name: str) -> None:
    """Remove a study, if it exists."""
    quiet_optuna()
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=study_name, storage=storage(url))
