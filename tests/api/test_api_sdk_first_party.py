"""The AWS sample notebooks' story for every first-party algorithm, through the SageMaker Python
SDK v2 unchanged, against the API server (moto's S3 holds the data and models):

``est.fit(est.record_set(X, labels=y))`` (RecordIO-protobuf shards plus a ``ManifestFile``
channel without ``ContentType``, ``ShardedByS3Key``) -> ``est.deploy()`` (the algorithm's own
predictor class, its default RecordIO-protobuf serializer and deserializer) ->
``predictor.predict(X)`` (``Record`` objects carrying ``score``, ``predicted_label``,
``closest_cluster``, ``distance_to_cluster`` or ``projection``) -> ``delete_endpoint``.

IP Insights trains on CSV (its only format), given as a ``RecordSet`` over an ``S3Prefix`` without
a ``ContentType`` (the algorithm's default, text/csv), and answers JSON ``dot_product``\\ s. A
batch transform reads a ``ManifestFile``, and a manifest listing a missing object fails the job
naming the key. Data are tiny and training short: the module takes well under two minutes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from . import test_api_sdk
from .conftest import ROLE

BUCKET = test_api_sdk.BUCKET
#: The SDK session fixture (sagemaker.Session against the API server and moto's S3).
session = test_api_sdk.session

pytestmark = pytest.mark.slow

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")

INSTANCE = "ml.m5.large"


def _kwargs(sm_session: Any, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "role": ROLE,
        "instance_count": 1,
        "instance_type": INSTANCE,
        "sagemaker_session": sm_session,
        "output_path": f"s3://{BUCKET}/models/{name}",
        "data_location": f"s3://{BUCKET}/record-sets/{name}/",
        **extra,
    }


def _labels(records: list[Any], key: str) -> np.ndarray:
    """``Record.label[key]`` of every record, one row per record."""
    return np.array([list(r.label[key].float32_tensor.values) for r in records], dtype=float)


@pytest.fixture()
def deployed() -> Iterator[list[Any]]:
    """Predictors to delete when the test ends, passed or not."""
    predictors: list[Any] = []
    yield predictors
    for predictor in predictors:
        predictor.delete_endpoint()


def _deploy(est: Any, deployed: list[Any], cls: type) -> Any:
    predictor = est.deploy(initial_instance_count=1, instance_type=INSTANCE)
    deployed.append(predictor)
    assert isinstance(predictor, cls)
    return predictor


def _two_blobs(n: int = 60, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0.0, 1.0], n // 2).astype("float32")
    X = (rng.normal(size=(n, d)) + 3.0 * y[:, None]).astype("float32")
    order = rng.permutation(n)
    return X[order], y[order]


def _channel(sm_session: Any, name: str) -> dict[str, Any]:
    """The train channel of the job the estimator just ran, as DescribeTrainingJob shows it."""
    job = sm_session.describe_training_job(name)
    return next(c for c in job["InputDataConfig"] if c["ChannelName"] == "train")


def test_linear_learner_record_set_fit_deploy_predict(session: Any, deployed: list[Any]) -> None:
    X, y = _two_blobs()
    est = sagemaker.LinearLearner(
        predictor_type="binary_classifier",
        epochs=4,
        num_models=2,
        **_kwargs(session, "linear-learner"),
    )
    est.fit(est.record_set(X, labels=y), logs=False)
    train = _channel(session, est.latest_training_job.name)
    assert train["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    assert "ContentType" not in train  # the algorithm's default: RecordIO-protobuf
    predictor = _deploy(est, deployed, sagemaker.LinearLearnerPredictor)
    records = predictor.predict(X)
    assert len(records) == len(X)
    predicted = _labels(records, "predicted_label")[:, 0]
    scores = _labels(records, "score")[:, 0]
    assert set(np.unique(predicted)) <= {0.0, 1.0}
    assert np.all((scores >= 0) & (scores <= 1))
    assert (predicted == y).mean() > 0.9


@pytest.fixture(scope="module")
def kmeans(session: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """K-Means fitted on two hosts, each on its own shard (``ShardedByS3Key``)."""
    X, y = _two_blobs(80, 3, seed=1)
    X = X * 3  # well separated
    est = sagemaker.KMeans(k=2, **_kwargs(session, "kmeans", instance_count=2))
    records = est.record_set(X)  # two shards, one per host
    assert records.distribution == "ShardedByS3Key"
    est.fit(records, logs=False)
    return est, X, y


def test_kmeans_two_hosts_sharded_by_key(
    kmeans: tuple[Any, np.ndarray, np.ndarray], deployed: list[Any]
) -> None:
    est, X, y = kmeans
    assert est.hyperparameters()["force_dense"] == "True"
    predictor = _deploy(est, deployed, sagemaker.KMeansPredictor)
    out = predictor.predict(X)
    cluster = _labels(out, "closest_cluster")[:, 0]
    distance = _labels(out, "distance_to_cluster")[:, 0]
    assert set(np.unique(cluster)) == {0.0, 1.0}
    purity = max((cluster == y).mean(), (cluster != y).mean())
    assert purity == 1.0
    assert np.all(distance >= 0) and distance.mean() < np.linalg.norm(X.std(axis=0))


def test_pca_pipe_mode_projection(session: Any, deployed: list[Any]) -> None:
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(100, 2)) * np.array([5.0, 2.0])
    X = (Z @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(100, 6))).astype("float32")
    est = sagemaker.PCA(num_components=2, **_kwargs(session, "pca", input_mode="Pipe"))
    est.fit(est.record_set(X), logs=False)
    assert (
        session.describe_training_job(est.latest_training_job.name)["AlgorithmSpecification"][
            "TrainingInputMode"
        ]
        == "Pipe"
    )
    predictor = _deploy(est, deployed, sagemaker.PCAPredictor)
    projection = _labels(predictor.predict(X), "projection")
    assert projection.shape == (100, 2)
    centred = X - X.mean(axis=0)
    explained = projection.var(axis=0).sum() / centred.var(axis=0).sum()
    assert explained > 0.99


def test_knn_classifier(session: Any, deployed: list[Any]) -> None:
    X, y = _two_blobs(80, 4, seed=4)
    est = sagemaker.KNN(k=3, sample_size=80, predictor_type="classifier", **_kwargs(session, "knn"))
    est.fit(est.record_set(X[:60], labels=y[:60]), logs=False)
    predictor = _deploy(est, deployed, sagemaker.KNNPredictor)
    predicted = _labels(predictor.predict(X[60:]), "predicted_label")[:, 0]
    assert (predicted == y[60:]).mean() > 0.9


def test_random_cut_forest_scores_anomalies_higher(session: Any, deployed: list[Any]) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2)).astype("float32")
    est = sagemaker.RandomCutForest(
        num_trees=50, num_samples_per_tree=64, **_kwargs(session, "rcf")
    )
    est.fit(est.record_set(X), logs=False)
    predictor = _deploy(est, deployed, sagemaker.RandomCutForestPredictor)
    outliers = np.array([[8.0, 8.0], [-9.0, 7.0], [10.0, -8.0]], dtype="float32")
    scores = _labels(predictor.predict(np.vstack([X[:50], outliers])), "score")[:, 0]
    assert scores[50:].min() > np.quantile(scores[:50], 0.9)


def test_factorization_machines_binary(session: Any, deployed: list[Any]) -> None:
    X, y = _two_blobs(200, 4, seed=6)
    est = sagemaker.FactorizationMachines(
        num_factors=2,
        predictor_type="binary_classifier",
        epochs=20,
        linear_lr=0.1,
        **_kwargs(session, "fm"),
    )
    est.fit(est.record_set(X, labels=y), logs=False)
    predictor = _deploy(est, deployed, sagemaker.FactorizationMachinesPredictor)
    out = predictor.predict(X)
    predicted = _labels(out, "predicted_label")[:, 0]
    scores = _labels(out, "score")[:, 0]
    assert np.all((scores >= 0) & (scores <= 1))
    assert (predicted == y).mean() > 0.75


def test_ip_insights_csv_dot_product(session: Any, deployed: list[Any]) -> None:
    from sagemaker.amazon.amazon_estimator import RecordSet

    rng = np.random.default_rng(7)
    users = [f"user_{i}" for i in range(20)]
    home = {u: f"10.{i}.0." for i, u in enumerate(users)}  # each user has its own /24
    rows = [(u, home[u] + str(rng.integers(1, 50))) for u in users for _ in range(25)]
    body = "\n".join(f"{u},{ip}" for u, ip in rows) + "\n"
    s3 = session.boto_session.client("s3")
    s3.put_object(Bucket=BUCKET, Key="ipinsights/train/train.csv", Body=body.encode())
    est = sagemaker.IPInsights(
        num_entity_vectors=40,
        vector_dim=8,
        epochs=20,
        **_kwargs(session, "ipinsights"),
    )
    records = RecordSet(
        f"s3://{BUCKET}/ipinsights/train/",
        num_records=len(rows),
        feature_dim=2,
        s3_data_type="S3Prefix",
    )
    est.fit(records, mini_batch_size=50, logs=False)
    predictor = _deploy(est, deployed, sagemaker.IPInsightsPredictor)
    own = [[u, home[u] + "7"] for u in users]
    other = [[u, home[users[(i + 7) % len(users)]] + "7"] for i, u in enumerate(users)]
    answer = predictor.predict(own + other)
    dots = np.array([p["dot_product"] for p in answer["predictions"]])
    assert len(dots) == 2 * len(users)
    assert (dots[: len(users)] > dots[len(users) :]).mean() > 0.8


def test_batch_transform_reads_a_manifest(
    session: Any, kmeans: tuple[Any, np.ndarray, np.ndarray]
) -> None:
    est, X, _ = kmeans
    s3 = session.boto_session.client("s3")
    for i, part in enumerate((X[:7], X[7:12])):
        rows = "\n".join(",".join(f"{v:.5f}" for v in row) for row in part) + "\n"
        s3.put_object(Bucket=BUCKET, Key=f"batch-in/part-{i}.csv", Body=rows.encode())
    s3.put_object(Bucket=BUCKET, Key="batch-in/unlisted.csv", Body=b"1,2,3\n")
    manifest = [{"prefix": f"s3://{BUCKET}/batch-in/"}, "part-0.csv", "part-1.csv"]
    s3.put_object(Bucket=BUCKET, Key="manifests/batch.manifest", Body=json.dumps(manifest).encode())
    # moto keeps one store per process: other modules use batch-out/ in the same bucket
    transformer = est.transformer(
        instance_count=1,
        instance_type=INSTANCE,
        output_path=f"s3://{BUCKET}/manifest-batch-out",
        assemble_with="Line",
        accept="application/jsonlines",
    )
    transformer.transform(
        f"s3://{BUCKET}/manifests/batch.manifest",
        data_type="ManifestFile",
        content_type="text/csv",
        split_type="Line",
    )
    transformer.wait(logs=False)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="manifest-batch-out/")["Contents"]
    keys = {o["Key"] for o in listed}
    part0, part1 = "manifest-batch-out/part-0.csv.out", "manifest-batch-out/part-1.csv.out"
    assert keys == {part0, part1}
    for key, n in ((part0, 7), (part1, 5)):
        out = io.BytesIO()
        s3.download_fileobj(BUCKET, key, out)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(lines) == n and all("closest_cluster" in line for line in lines)


def test_a_missing_manifest_object_fails_the_job_naming_it(session: Any) -> None:
    from sagemaker.amazon.amazon_estimator import RecordSet
    from sagemaker.exceptions import UnexpectedStatusException

    X, _ = _two_blobs(20, 3, seed=9)
    est = sagemaker.KMeans(k=2, **_kwargs(session, "kmeans-missing"))
    records = est.record_set(X)
    manifest = [{"prefix": records.s3_data.rsplit("/", 1)[0] + "/"}, "matrix_0.pbr", "gone.pbr"]
    bucket, key = records.s3_data.removeprefix("s3://").split("/", 1)
    session.boto_session.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(manifest).encode()
    )
    with pytest.raises(UnexpectedStatusException):
        est.fit(RecordSet(records.s3_data, num_records=20, feature_dim=3), logs=False)
    reason = session.describe_training_job(est.latest_training_job.name)["FailureReason"]
    assert reason.startswith("ClientError:") and "'gone.pbr'" in reason
