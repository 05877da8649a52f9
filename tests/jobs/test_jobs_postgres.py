"""A training job end to end with the metadata in PostgreSQL (the runner processes write there)."""

from __future__ import annotations

import os

import pytest

from ..store.pg_cluster import ENV_URL, PostgresUnavailable, isolated_schema, postgres_server

pytestmark = pytest.mark.postgres


@pytest.fixture()
def pg_home(home, monkeypatch):
    try:
        with postgres_server() as server, isolated_schema(server) as url:
            monkeypatch.setenv("OPENMAKER_DATABASE_URL", url)
            yield home
    except PostgresUnavailable as exc:
        if os.environ.get(ENV_URL):
            pytest.fail(f"{ENV_URL} is set but unusable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


def test_job_on_postgres(pg_home, regression_csv):
    from openmaker import Estimator
    from openmaker.jobs.service import TrainingJobService

    job = Estimator("xgboost", {"num_round": "5", "max_depth": "2"}).fit(
        {"train": str(regression_csv["train"]), "validation": str(regression_csv["validation"])},
        content_type="text/csv",
    )
    assert job.status == "Completed"
    service = TrainingJobService()
    assert service.store.dialect == "postgresql"
    assert "validation:rmse" in job.final_metrics()
    assert len(job.metrics()) >= 10
    assert not (pg_home / "openmaker.db").exists()  # nothing went to SQLite
