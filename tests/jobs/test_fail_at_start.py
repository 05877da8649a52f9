"""A job whose hyperparameters the algorithm refuses fails inside ``create``: no host, no
algorithm library, the reason in ``FailureReason``, the log and ``output/failure``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openmaker import Estimator
from openmaker.errors import HyperparameterError
from openmaker.jobs.service import TrainingJobService
from openmaker.store import open_store


class NoExecutor:
    """An executor that must not be used: the job is never submitted."""

    name = "local"

    def submit(self, *args: object, **kwargs: object) -> str:
        raise AssertionError("a refused job must not start a supervisor")

    def is_alive(self, handle: str) -> bool:
        return False


def _request(name: str, train: Path, hyperparameters: dict[str, str]) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "xgboost", "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {"ChannelName": "train", "ContentType": "text/csv",
             "DataSource": {"S3DataSource": {"S3Uri": str(train)}}},
        ],
    }  # fmt: skip


def test_the_job_is_failed_when_create_returns(home: Path, regression_csv: dict) -> None:
    with open_store() as store:
        service = TrainingJobService(store, NoExecutor(), recover=False)  # type: ignore[arg-type]
        hyperparameters = {"num_round": "5", "eta": "1.5"}
        rec = service.create(_request("bad-eta", regression_csv["train"], hyperparameters))
        assert rec.status == "Failed" and rec.secondary_status == "Failed"
        assert rec.failure_reason == (
            "ClientError: Hyperparameter 'eta': value 1.5 is not valid; allowed: number in [0, 1]"
        )
        assert [t.status for t in rec.secondary_status_transitions] == ["Starting", "Failed"]
        assert rec.training_end_time is not None and rec.executor_handle is None
        assert list(service.logs("bad-eta")) == [rec.failure_reason]
        assert (Path(rec.job_dir) / "output" / "failure").read_text() == rec.failure_reason
        service.delete("bad-eta")  # an ended job like any other
        assert not Path(rec.job_dir).exists()


def test_strict_refuses_and_records_nothing(home: Path, regression_csv: dict) -> None:
    with open_store() as store:
        service = TrainingJobService(store, NoExecutor(), recover=False)  # type: ignore[arg-type]
        with pytest.raises(HyperparameterError, match="'eta'"):
            service.create(
                _request("strict", regression_csv["train"], {"num_round": "5", "eta": "1.5"}),
                strict=True,
            )
        assert service.list()[0] == []
    # openmaker.Estimator is strict: the error shows at once.
    with pytest.raises(HyperparameterError, match="'num_round'"):
        Estimator("xgboost", {"num_round": "-1"}).fit(str(regression_csv["train"]))


SNIPPET = """
import json, sys, time
from openmaker.jobs.service import TrainingJobService
service = TrainingJobService()
request = json.loads(sys.argv[1])
started = time.perf_counter()
rec = service.create(request)
elapsed = time.perf_counter() - started
heavy = sorted(m for m in ("xgboost", "torch", "faiss", "sklearn", "ray") if m in sys.modules)
print(json.dumps({"status": rec.status, "seconds": elapsed, "heavy": heavy}))
"""


def test_failing_at_start_imports_no_algorithm_library(home: Path, regression_csv: dict) -> None:
    request = _request("no-heavy", regression_csv["train"], {"num_round": "0"})
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET, json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "Failed"
    assert result["heavy"] == []
    assert result["seconds"] < 1.0, result
