"""Fixtures: every store test runs on SQLite (in tmp_path) and on PostgreSQL.

PostgreSQL comes from ``OPENMAKER_TEST_POSTGRES_URL`` when it is set (``.ci/start-postgres.sh``
prints one), otherwise from a throwaway cluster started for the session (see
:mod:`tests.store.pg_cluster`); when neither works the PostgreSQL cases skip with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openmaker.store import Store, TrainingJobRecord, open_store

from .pg_cluster import ENV_URL, PostgresUnavailable, isolated_schema, postgres_server

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL database for the whole session (skips when there is none)."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get(ENV_URL):
            pytest.fail(f"{ENV_URL} is set but unusable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A URL of an empty database of the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'openmaker.db'}"
        return
    server_url = request.getfixturevalue("postgres_server_url")
    with isolated_schema(server_url) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated store."""
    with open_store(store_url) as opened:
        yield opened


T0 = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def make_record() -> Callable[..., TrainingJobRecord]:
    """Build a realistic record; keyword arguments override fields."""

    def build(name: str = "job-1", **overrides: Any) -> TrainingJobRecord:
        fields: dict[str, Any] = {
            "name": name,
            "arn": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name.lower()}",
            "algorithm": "xgboost",
            "hyperparameters": {"num_round": "10", "objective": "reg:squarederror"},
            "algorithm_specification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:rmse", "Regex": r"rmse:([0-9.]+)"}],
            },
            "input_data_config": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}
                    },
                    "ContentType": "text/csv",
                }
            ],
            "output_data_config": {"S3OutputPath": "s3://b/out/", "KmsKeyId": ""},
            "resource_config": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            "stopping_condition": {"MaxRuntimeInSeconds": 3600},
            "environment": {"A": "1"},
            "tags": [{"Key": "team", "Value": "ml"}],
            "role_arn": "arn:aws:iam::000000000000:role/test",
            "creation_time": T0,
            "last_modified_time": T0,
        }
        fields.update(overrides)
        return TrainingJobRecord(**fields)

    return build


def at(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)
