"""A tuning job's trials as a pandas DataFrame (the SDK's ``HyperparameterTuningJobAnalytics``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openmaker.tuning.config import TuningSettings
from openmaker.tuning.describe import objective_value, summary

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from openmaker.tuning.service import TuningJobService

COLUMNS = (
    "TrainingJobName",
    "TrainingJobStatus",
    "FinalObjectiveValue",
    "ObjectiveStatus",
    "TrainingStartTime",
    "TrainingEndTime",
    "TrainingElapsedTimeSeconds",
)


def rows(service: TuningJobService, name: str) -> list[dict[str, Any]]:
    """One dict per child, oldest first: tuned values (typed when numeric), then COLUMNS."""
    rec = service.get(name)
    settings = TuningSettings.from_config(rec.tuning_job_config)
    out = []
    for child in service.children(name):
        s = summary(child, name, settings)
        row: dict[str, Any] = {}
        for rng in settings.ranges:
            raw = s["TunedHyperParameters"].get(rng.name)
            row[rng.name] = _typed(raw) if rng.kind != "Categorical" else raw
        start, end = child.training_start_time, child.training_end_time
        row.update(
            TrainingJobName=child.name,
            TrainingJobStatus=child.status,
            FinalObjectiveValue=objective_value(child, settings.objective_name),
            ObjectiveStatus=s["ObjectiveStatus"],
            TrainingStartTime=start,
            TrainingEndTime=end,
            TrainingElapsedTimeSeconds=(end - start).total_seconds() if start and end else None,
        )
        out.append(row)
    return out


def dataframe(service: TuningJobService, name: str) -> pd.DataFrame:
    """:func:`rows` as a DataFrame."""
    import pandas as pd

    data = rows(service, name)
    settings = service.settings_of(name)
    return pd.DataFrame(data, columns=[*settings.tuned_names, *COLUMNS])


def _typed(raw: Any) -> Any:
    if raw is None:
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return raw
    return int(number) if number.is_integer() and "." not in str(raw) else number
