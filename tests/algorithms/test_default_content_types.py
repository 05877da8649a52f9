"""A channel without ``ContentType`` gets its algorithm's documented default, in the request
checks and in the job's runtime (what ``record_set()`` relies on: it sends no ContentType)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openmaker.algorithms import registry
from openmaker.jobs.entrypoint import build_channels
from openmaker.jobs.layout import JobLayout

RECORDIO = "application/x-recordio-protobuf"
#: tabular-algorithms.md 0.2 (first-party: RecordIO-protobuf; IP Insights reads CSV only)
#: and 2.2 (XGBoost: libsvm).
DEFAULTS = {
    "linear-learner": RECORDIO,
    "kmeans": RECORDIO,
    "pca": RECORDIO,
    "knn": RECORDIO,
    "randomcutforest": RECORDIO,
    "factorization-machines": RECORDIO,
    "ipinsights": "text/csv",
    "xgboost": "text/libsvm",
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_data_channel_defaults_to_the_documented_type(name: str) -> None:
    spec = registry.get(name)
    for channel in spec.channels:
        if channel.name in ("code", "model"):
            continue
        assert channel.default_content_type == DEFAULTS[name], channel.name
    assert spec.validate_channels({"train": (None, "File")}) == {"train": DEFAULTS[name]}


@pytest.mark.parametrize("name", ["kmeans", "ipinsights"])
def test_the_job_runtime_reads_the_channel_as_the_default_type(tmp_path: Path, name: str) -> None:
    layout = JobLayout(tmp_path).create()
    layout.write_config(
        "inputdataconfig", {"train": {"TrainingInputMode": "File", "ContentType": None}}
    )
    spec = registry.get(name)
    canonical = spec.validate_channels({"train": (None, "File")})
    channels = build_channels(layout, canonical)
    assert channels["train"].content_type == DEFAULTS[name]
