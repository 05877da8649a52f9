"""The SageMaker Python SDK v2, unchanged, against the API server: Estimator.fit (with the
training log printed), attach, HyperparameterTuner, deploy + Predictor, Transformer.

Data and models live in S3 (moto's standalone server; the SDK needs S3). The SDK's own polling
waits 5 to 30 seconds between calls; the test speeds up only the clock of ``sagemaker.session``
(a virtual clock whose sleeps are short), nothing else of the SDK."""

from __future__ import annotations

import io
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import REGION, ROLE, ApiServer, regression, write_csv

pytestmark = pytest.mark.slow

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")
BUCKET = "sdk-bucket"


class FastClock(types.SimpleNamespace):
    """``time`` for ``sagemaker.session``: each sleep advances a virtual clock by the full
    amount but really waits at most 0.2 s, so 5-30 s polls become quick and 30 s "since the last
    describe" checks still pass."""

    def __init__(self) -> None:
        super().__init__(offset=0.0)

    def time(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)
        time.sleep(min(seconds, 0.2))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


#: The SDK's defaults config: no telemetry calls to AWS (there is no network in tests).
SDK_CONFIG = """SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


@pytest.fixture(scope="module")
def session(api: ApiServer, moto_s3: str, api_home: Path) -> Iterator[Any]:
    """A ``sagemaker.Session`` whose SageMaker, runtime and Logs calls go to the API server."""
    import boto3
    import sagemaker.session as sm_session

    config = api_home.parent / "sagemaker-config.yaml"
    config.write_text(SDK_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
        mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER", api.url)
        mp.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", api.url)
        mp.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", api.url)
        mp.setenv("AWS_ENDPOINT_URL_STS", moto_s3)
        mp.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        mp.setattr(sm_session, "time", FastClock())
        boto_session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        boto_session.client("s3").create_bucket(Bucket=BUCKET)
        yield sagemaker.Session(
            boto_session=boto_session,
            sagemaker_client=boto_session.client("sagemaker"),
            sagemaker_runtime_client=boto_session.client("sagemaker-runtime"),
            default_bucket=BUCKET,
        )


@pytest.fixture(scope="module")
def inputs(session: Any, api_home: Path) -> dict[str, str]:
    X, y = regression(240, seed=1)
    root = api_home.parent / "sdk-data"
    s3 = session.boto_session.client("s3")
    files = {
        "train": write_csv(root / "train.csv", X[:200], y[:200]),
        "validation": write_csv(root / "validation.csv", X[200:], y[200:]),
        "batch": write_csv(root / "batch.csv", X[:10]),
    }
    for name, path in files.items():
        s3.upload_file(str(path), BUCKET, f"data/{name}/{path.name}")
    return {name: f"s3://{BUCKET}/data/{name}/" for name in files}


@pytest.fixture(scope="module")
def estimator(session: Any, inputs: dict[str, str]) -> Any:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    est = Estimator(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/models",
        sagemaker_session=session,
        hyperparameters={"num_round": 8, "objective": "reg:squarederror", "max_depth": 3},
    )
    channels = {
        "train": TrainingInput(inputs["train"], content_type="text/csv"),
        "validation": TrainingInput(inputs["validation"], content_type="text/csv"),
    }
    est.fit(channels, logs=True)
    est.test_channels = channels  # reused by the tuner
    return est


def test_fit_prints_the_training_log_and_attach_reads_the_job(
    estimator: Any, session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagemaker.estimator import Estimator

    name = estimator.latest_training_job.name
    description = session.describe_training_job(name)
    assert description["TrainingJobStatus"] == "Completed"
    assert estimator.model_data == f"s3://{BUCKET}/models/{name}/output/model.tar.gz"
    session.logs_for_job(name, wait=False)  # the same path fit(logs=True) takes
    printed = capsys.readouterr().out
    assert "validation-rmse" in printed and "Train matrix has 200 rows" in printed
    attached = Estimator.attach(name, sagemaker_session=session)
    assert attached.model_data == estimator.model_data
    assert attached.hyperparameters()["num_round"] == "8"


def test_hyperparameter_tuner(estimator: Any, session: Any) -> None:
    from sagemaker.tuner import HyperparameterTuner, IntegerParameter

    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        hyperparameter_ranges={"max_depth": IntegerParameter(2, 4)},
        objective_type="Minimize",
        max_jobs=2,
        max_parallel_jobs=2,
        strategy="Random",
    )
    tuner.fit(estimator.test_channels, include_cls_metadata=False)
    tuner.wait()
    best = tuner.best_training_job()
    assert session.describe_training_job(best)["TrainingJobStatus"] == "Completed"
    attached = HyperparameterTuner.attach(tuner.latest_tuning_job.name, sagemaker_session=session)
    assert attached.objective_metric_name == "validation:rmse"
    frame = tuner.analytics().dataframe()
    assert len(frame) == 2 and frame["FinalObjectiveValue"].notna().all()


def test_deploy_predict_and_transform(estimator: Any, session: Any, inputs: dict[str, str]) -> None:
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.serializers import CSVSerializer

    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        deserializer=CSVDeserializer(),
    )
    try:
        X, y = regression(4, seed=9)
        rows = predictor.predict(X)
        predictions = np.array([float(row[0]) for row in rows])
        assert predictions.shape == (4,) and np.abs(predictions - y).max() < 2.5
    finally:
        predictor.delete_model()  # reads the endpoint config: before delete_endpoint removes it
        predictor.delete_endpoint()
    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/batch-out",
        assemble_with="Line",
        accept="text/csv",
    )
    transformer.transform(inputs["batch"], content_type="text/csv", split_type="Line")
    transformer.wait()
    s3 = session.boto_session.client("s3")
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "batch-out/batch.csv.out", out)
    assert len(out.getvalue().split()) == 10


def test_fit_with_a_refused_hyperparameter_raises_unexpected_status(
    session: Any, inputs: dict[str, str]
) -> None:
    """CreateTrainingJob accepts it; the job fails at once, and fit() raises as on SageMaker."""
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.exceptions import UnexpectedStatusException

    est = Estimator(
        image_uri=image_uris.retrieve("xgboost", REGION, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/models",
        sagemaker_session=session,
        hyperparameters={"num_round": -1, "objective": "reg:squarederror"},
    )
    with pytest.raises(UnexpectedStatusException) as exc:
        est.fit({"train": inputs["train"]}, logs=True)
    message = str(exc.value)
    assert "Failed" in message and "ClientError: Hyperparameter 'num_round'" in message
    assert "integer in [1, +inf)" in message
    name = est.latest_training_job.name
    assert session.describe_training_job(name)["FailureReason"] in message


def test_the_sdk_tells_missing_resources_by_their_text(session: Any) -> None:
    """The model-card code compares DescribeTrainingJob's text to "Requested resource not
    found." and DescribeModel's to "Could not find model": both turn into its ValueError."""
    from sagemaker.model_card import ModelOverview, TrainingDetails

    with pytest.raises(ValueError, match="Training job details could not be found"):
        TrainingDetails.from_training_job_name("no-such-job", sagemaker_session=session)
    with pytest.raises(ValueError, match="could not be found"):
        ModelOverview.from_model_name("no-such-model", sagemaker_session=session)
