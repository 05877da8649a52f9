"""SageMaker's DeepAR forecasting (``forecasting-deepar``).

Importing this package imports neither numpy nor torch; :class:`DeepARModel` and
:func:`fit_deepar` load on first use. Training and inference need the ``torch`` extra.

Modules: ``spec`` (constants), ``frequency`` (``time_freq`` grammar, time features, lags),
``inputs`` (records, files, checks), ``features`` (padded series, training windows, requests),
``network`` (zoneout LSTM, likelihoods), ``forecast`` (loss, sample paths), ``evaluation``
(RMSE, wQuantileLoss), ``train``, ``model``, ``plot``.

Decisions on points the reference leaves open (``text-timeseries-algorithms.md`` section 4):

* **Lags and features**: see :mod:`~openmaker.algorithms.deepar.frequency` (lags 1..7 plus
  seasonal lags; the DG's time features; the paper's age feature ``log10(2 + t)``);
  ``log(scale)`` is a static input, as in the paper and GluonTS.
* **Scaling**: per window, the mean absolute observed value of its context (1 when that is 0);
  none for ``beta`` (its values are already in [0, 1]).
* **Zoneout** as MXNet's ``ZoneoutCell``: on the states carried between steps while training,
  the fresh hidden state as output, off at inference (see
  :mod:`~openmaker.algorithms.deepar.network` for the measured alternatives).
* **Epoch**: ``max(number of series, window positions / window length, 10 mini-batches)``
  windows, rounded up to whole mini-batches, drawn uniformly over every (series, forecast
  start) position.
* **Loss**: the mean negative log-likelihood of the observed points of the whole window;
  ``deterministic-L1`` uses the scaled absolute error and its "samples" are the point forecast.
* **Learning rate**: Adam; halved after 10 epochs without a better training loss (floor 5e-5);
  gradient norm clipped at 10 (GluonTS's trainer).
* **Best epoch**: the lowest training loss is always the model returned (the container's
  checkpoints); ``early_stopping_patience`` stops training after that many epochs without one.
* **dynamic_feat in training** may be ``len(target)`` or ``len(target) + prediction_length``
  long (the DG says both); at inference it must be ``len(target) + prediction_length``.
* ``cardinality`` / ``num_dynamic_feat`` ``""`` mean ``ignore`` (the older docs); a given
  ``cardinality`` list must match the data's ``cat`` count and bound its values.
* **Series** shorter than ``prediction_length + 1`` are skipped in training (one point of
  history is needed); a test series needs more than ``prediction_length`` points.
* **Inference** draws from a fixed seed, so a request always gets the same answer; ``quantiles``
  keys are the strings the request gave.
* **Artifact**: ``model_algo-1`` is an ``.npz`` archive (``common.artifact``) of the network's
  ``state_dict`` and the settings (lags, layout, frequency) and final metrics as metadata.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from openmaker.algorithms.deepar.model import DeepARModel

__all__ = ["DeepARModel", "fit_deepar"]


def fit_deepar(
    train: Sequence[Mapping[str, Any]],
    hyperparameters: Mapping[str, Any],
    *,
    test: Sequence[Mapping[str, Any]] | None = None,
    model_dir: str | Path | None = None,
    seed: int | None = None,
    log: TextIO | None = None,
) -> DeepARModel:
    """Train DeepAR in this process on in-memory series and return the model.

    Args:
        train: SageMaker's records (``{"start", "target", "cat"?, "dynamic_feat"?}``).
        hyperparameters: SageMaker's names and string (or plain) values; validated as a job's.
        test: optional test series (scored as the ``test`` channel).
        model_dir: where ``model_algo-1`` is written (a temporary folder when None).
        seed: the random seed (default: the algorithm's fixed one).
        log: where the training log goes (None: discarded).

    Returns:
        The model; its ``meta`` adds ``seconds_per_epoch`` and ``training_seconds``.
    """
    import io
    import json

    from openmaker.algorithms.deepar.model import DeepARModel
    from openmaker.algorithms.deepar.spec import SPEC
    from openmaker.algorithms.deepar.train import SEED, fit
    from openmaker.spec.algorithm import ChannelInput, TrainingContext

    typed = SPEC.validate_hyperparameters({k: str(v) for k, v in hyperparameters.items()})
    with tempfile.TemporaryDirectory(prefix="openmaker-deepar-") as tmp:
        root = Path(tmp)
        channels = {}
        for name, records in (("train", train), ("test", test)):
            if records is None:
                continue
            folder = root / "data" / name
            folder.mkdir(parents=True)
            with open(folder / f"{name}.json", "w", encoding="utf-8") as fh:
                for r in records:
                    fh.write(json.dumps(_plain(r)) + "\n")
            channels[name] = ChannelInput(name, "application/jsonlines", path=folder)
        out = Path(model_dir) if model_dir is not None else root / "model"
        out.mkdir(parents=True, exist_ok=True)
        ctx = TrainingContext(
            job_name="fit_deepar",
            model_dir=out,
            output_dir=root / "output",
            checkpoint_dir=root / "checkpoints",
            log=log if log is not None else io.StringIO(),
        )
        timings = fit(typed, channels, ctx, seed=SEED if seed is None else int(seed))
        model = DeepARModel.load(out)
        model.meta.update(timings)
        return model


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record with numpy values turned into JSON ones (NaN as null)."""
    import math

    import numpy as np

    def conv(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, float | np.floating):
            return None if math.isnan(float(v)) else float(v)
        if isinstance(v, np.integer):
            return int(v)
        return v if not hasattr(v, "isoformat") else str(v)

    return {k: conv(v) for k, v in record.items()}


def __getattr__(name: str) -> Any:
    if name == "DeepARModel":
        from openmaker.algorithms.deepar.model import DeepARModel

        return DeepARModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
