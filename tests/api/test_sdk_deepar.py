"""DeepAR through the SageMaker Python SDK v2, unchanged, against the API server, as AWS's
``deepar_synthetic`` / ``DeepAR-Electricity`` notebooks drive it:

* the generic ``Estimator`` on ``image_uris.retrieve("forecasting-deepar", region)``,
  ``set_hyperparameters(time_freq=..., context_length=..., ...)``, ``fit({"train": s3, "test":
  s3})`` with JSON Lines files on S3 (the content type comes from the ``.json`` extension);
  the ``test:RMSE`` / ``test:mean_wQuantileLoss`` final metrics;
* ``deploy(predictor_cls=DeepARPredictor)``: the notebook's ``Predictor`` subclass with JSON
  in and out, ``{"instances": [...], "configuration": {...}}`` -> ``{"predictions": [...]}``;
  a bad instance is a ``ModelError`` (4xx) naming the instance and the field;
* ``estimator.transformer(strategy="SingleRecord", assemble_with="Line",
  env={"DEEPAR_INFERENCE_CONFIG": ...})`` batch transform of JSON Lines;
* ``HyperparameterTuner`` on ``test:RMSE`` (the metric regexes drive tuning).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from . import test_api_sdk
from .conftest import REGION, ROLE

BUCKET = test_api_sdk.BUCKET
session = test_api_sdk.session

pytestmark = pytest.mark.slow

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")

INSTANCE = "ml.c4.2xlarge"
FREQ, CONTEXT, HORIZON = "H", 24, 6


def _series(n: int = 10, length: int = 120, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = np.arange(length)
        y = 10 + 3 * np.sin(2 * np.pi * (t + i) / 24) + rng.normal(0, 0.2, length)
        out.append({"start": "2021-03-01 00:00:00", "target": [round(float(v), 3) for v in y]})
    return out


@pytest.fixture(scope="module")
def data(session: Any) -> dict[str, str]:
    s3 = session.boto_session.client("s3")
    test = _series()
    train = [{**r, "target": r["target"][:-HORIZON]} for r in test]
    for name, records in (("train", train), ("test", test)):
        body = "\n".join(json.dumps(r) for r in records).encode()
        s3.put_object(Bucket=BUCKET, Key=f"deepar/{name}/{name}.json", Body=body)
    s3.put_object(Bucket=BUCKET, Key="deepar/train/_SUCCESS", Body=b"")
    batch = "\n".join(json.dumps(r) for r in train[:3]).encode()
    s3.put_object(Bucket=BUCKET, Key="deepar/batch/batch.json", Body=batch)
    return {
        "train": f"s3://{BUCKET}/deepar/train/",
        "test": f"s3://{BUCKET}/deepar/test/",
        "batch": f"s3://{BUCKET}/deepar/batch/",
    }


@pytest.fixture(scope="module")
def estimator(session: Any, data: dict[str, str]) -> Any:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator

    est = Estimator(
        image_uri=image_uris.retrieve("forecasting-deepar", REGION),
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE,
        base_job_name="deepar-demo",
        output_path=f"s3://{BUCKET}/models/deepar",
        sagemaker_session=session,
    )
    est.set_hyperparameters(
        time_freq=FREQ,
        epochs="4",
        early_stopping_patience="10",
        mini_batch_size="32",
        learning_rate="1E-2",
        context_length=str(CONTEXT),
        prediction_length=str(HORIZON),
        num_cells="16",
        num_layers="1",
        num_eval_samples="30",
    )
    est.fit(inputs={"train": data["train"], "test": data["test"]}, wait=True, logs=False)
    return est


def test_fit_reports_the_test_metrics(estimator: Any, session: Any) -> None:
    desc = session.describe_training_job(estimator.latest_training_job.name)
    assert desc["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert metrics["test:RMSE"] > 0
    assert 0 < metrics["test:mean_wQuantileLoss"] < 1
    assert "test:wQuantileLoss[0.9]" in metrics and "train:final_loss" in metrics


def test_deploy_the_notebooks_predictor(estimator: Any) -> None:
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import JSONSerializer

    class DeepARPredictor(Predictor):  # as in the notebooks, on SDK v2's classes
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(
                *args, serializer=JSONSerializer(), deserializer=JSONDeserializer(), **kwargs
            )

    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.m5.large", predictor_cls=DeepARPredictor
    )
    try:
        history = [{**r, "target": r["target"][:-HORIZON]} for r in _series(2, seed=3)]
        request = {
            "instances": history,
            "configuration": {
                "num_samples": 50,
                "output_types": ["mean", "quantiles", "samples"],
                "quantiles": ["0.1", "0.5", "0.9"],
            },
        }
        out = predictor.predict(request)
        preds = out["predictions"]
        assert len(preds) == 2
        for p in preds:
            assert len(p["mean"]) == HORIZON and len(p["samples"]) == 50
            assert sorted(p["quantiles"]) == ["0.1", "0.5", "0.9"]
            assert np.all(np.array(p["quantiles"]["0.1"]) <= np.array(p["quantiles"]["0.9"]))
        bad = {"instances": [history[0], {"start": "not a date", "target": [1.0]}]}
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError) as err:
            predictor.predict(bad)
        assert "instances[1]: field 'start'" in str(err.value)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    finally:
        predictor.delete_model()
        predictor.delete_endpoint()


def test_batch_transform_jsonlines(estimator: Any, session: Any, data: dict[str, str]) -> None:
    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        strategy="SingleRecord",
        assemble_with="Line",
        output_path=f"s3://{BUCKET}/deepar-out",
        env={"DEEPAR_INFERENCE_CONFIG": json.dumps({"num_samples": 20, "output_types": ["mean"]})},
    )
    transformer.transform(data["batch"], content_type="application/jsonlines", split_type="Line")
    transformer.wait()
    s3 = session.boto_session.client("s3")
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "deepar-out/batch.json.out", out)
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines() if line]
    assert len(rows) == 3
    assert all(set(r) == {"mean"} for r in rows), rows[0].keys()
    assert all(set(r) == {"mean"} and len(r["mean"]) == HORIZON for r in rows)


def test_tuning_on_test_rmse(estimator: Any, data: dict[str, str]) -> None:
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

    estimator.set_hyperparameters(epochs="1")
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="test:RMSE",
        hyperparameter_ranges={"learning_rate": ContinuousParameter(1e-3, 1e-2)},
        objective_type="Minimize",
        max_jobs=2,
        max_parallel_jobs=1,
        strategy="Random",
    )
    tuner.fit({"train": data["train"], "test": data["test"]}, include_cls_metadata=False)
    tuner.wait()
    frame = tuner.analytics().dataframe()
    assert len(frame) == 2 and frame["FinalObjectiveValue"].notna().all()
