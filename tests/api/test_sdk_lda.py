"""AWS's LDA notebook story through the SageMaker Python SDK v2 unchanged, against the API
server (moto's S3 holds the data and models):

``sagemaker.LDA(role=..., num_topics=..., instance_count=1, instance_type=...)`` ->
``lda.fit(lda.record_set(X), mini_batch_size=len(X))`` (RecordIO-protobuf shards and a
``ManifestFile`` channel without ``ContentType``) -> ``lda.deploy(...)`` (``LDAPredictor``
with the SDK's default RecordIO serializer / deserializer) -> ``predictor.predict(X)``
(``Record`` objects with ``label["topic_mixture"]``) -> JSON like the notebook's second
half -> ``delete_endpoint``.
"""

from __future__ import annotations

import json
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

INSTANCE = "ml.c4.2xlarge"


def test_lda_notebook_fit_deploy_predict(session: Any) -> None:
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.serializers import CSVSerializer

    from openmaker.algorithms.common.topics import synthetic_corpus, topic_recovery_error

    corpus = synthetic_corpus(1500, 40, 3, topic_concentration=0.1, seed=4)
    X = corpus.counts.toarray().astype("float32")
    lda = sagemaker.LDA(
        role=ROLE,
        num_topics=3,
        instance_count=1,
        instance_type=INSTANCE,
        sagemaker_session=session,
        output_path=f"s3://{BUCKET}/models/lda",
        data_location=f"s3://{BUCKET}/record-sets/lda/",
    )
    lda.fit(lda.record_set(X[:1400]), mini_batch_size=1400, logs=False)
    job = session.describe_training_job(lda.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["HyperParameters"]["feature_dim"] == "40"
    assert job["HyperParameters"]["mini_batch_size"] == "1400"
    assert job["ResourceConfig"]["InstanceCount"] == 1

    predictor = lda.deploy(initial_instance_count=1, instance_type=INSTANCE)
    try:
        assert isinstance(predictor, sagemaker.LDAPredictor)
        records = predictor.predict(X[1400:1410])
        mixtures = np.array([list(r.label["topic_mixture"].float32_tensor.values) for r in records])
        assert mixtures.shape == (10, 3)
        assert np.allclose(mixtures.sum(axis=1), 1.0, atol=1e-4)
        # the notebook's JSON round: CSV in, {"predictions": [{"topic_mixture": ...}]} out
        predictor.serializer = CSVSerializer()
        predictor.deserializer = JSONDeserializer()
        results = predictor.predict(X[1400:1410])
        json_mixtures = np.array([p["topic_mixture"] for p in results["predictions"]])
        assert np.allclose(json_mixtures, mixtures, atol=1e-5)
    finally:
        predictor.delete_endpoint()

    # the artifact: model.tar.gz -> model_algo-1 with alpha (k) and beta (k x V)
    import io
    import tarfile

    key = job["ModelArtifacts"]["S3ModelArtifacts"].split(f"s3://{BUCKET}/", 1)[1]
    s3 = session.boto_session.client("s3")
    blob = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        assert tar.getnames() == ["model_algo-1"]
        member = tar.extractfile("model_algo-1")
        assert member is not None
        with np.load(io.BytesIO(member.read())) as arrays:
            beta = arrays["beta"]
            assert arrays["alpha"].shape == (3,)
            meta = json.loads(bytes(arrays["__meta__"]).decode())
    assert beta.shape == (3, 40) and meta["algorithm"] == "lda"
    assert topic_recovery_error(beta, corpus.topics) < 0.1
