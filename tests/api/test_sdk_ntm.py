"""SageMaker's Neural Topic Model through the SageMaker Python SDK v2, unchanged, against the API
server, as AWS's NTM notebooks drive it:

* ``sagemaker.NTM(role=..., num_topics=..., instance_type=..., instance_count=1, ...)`` ->
  ``ntm.fit([ntm.record_set(X), ntm.record_set(X_val, channel="validation")])`` ->
  ``ntm.deploy(...)`` (an ``NTMPredictor``: RecordIO-protobuf request, ``Record`` answers with
  ``label["topic_weights"]``) -> ``predictor.predict(X)`` -> ``delete_endpoint``;
* the wikitext notebook's generic ``Estimator`` on the ``ntm`` image with sparse
  RecordIO-protobuf (``write_spmatrix_to_sparse_tensor``) and an ``auxiliary`` channel holding
  ``vocab.txt`` (``text/plain``), which turns on WETC and TU in the training log.

Data are tiny and training short (a few epochs).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from openmaker.algorithms.common.topics import synthetic_corpus

from . import test_api_sdk
from .conftest import REGION, ROLE

BUCKET = test_api_sdk.BUCKET
#: The SDK session fixture (sagemaker.Session against the API server and moto's S3).
session = test_api_sdk.session

pytestmark = pytest.mark.slow

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")

INSTANCE = "ml.m5.large"
VOCAB, TOPICS = 20, 3


@pytest.fixture(scope="module")
def corpus() -> np.ndarray:
    c = synthetic_corpus(240, VOCAB, TOPICS, alpha0=0.5, topic_concentration=0.1, seed=5)
    return np.asarray(c.counts.toarray(), dtype=np.float32)


@pytest.fixture()
def deployed() -> Iterator[list[Any]]:
    """Predictors to delete when the test ends, passed or not."""
    predictors: list[Any] = []
    yield predictors
    for predictor in predictors:
        predictor.delete_endpoint()


def _final_metrics(sm_session: Any, job: str) -> dict[str, float]:
    desc = sm_session.describe_training_job(job)
    return {m["MetricName"]: m["Value"] for m in desc.get("FinalMetricDataList", [])}


def test_ntm_record_set_fit_deploy_predict(
    session: Any, corpus: np.ndarray, deployed: list[Any]
) -> None:
    ntm = sagemaker.NTM(
        role=ROLE,
        num_topics=TOPICS,
        instance_type=INSTANCE,
        instance_count=1,
        epochs=5,
        optimizer="adam",
        learning_rate=0.02,
        encoder_layers=[12, 8],
        sagemaker_session=session,
        output_path=f"s3://{BUCKET}/models/ntm",
        data_location=f"s3://{BUCKET}/record-sets/ntm/",
    )
    train = ntm.record_set(corpus[:200])
    validation = ntm.record_set(corpus[200:], channel="validation")
    ntm.fit([train, validation], mini_batch_size=32, logs=False)
    job = ntm.latest_training_job.name
    assert ntm.hyperparameters()["encoder_layers"] == "[12, 8]"
    metrics = _final_metrics(session, job)
    assert metrics["validation:total_loss"] > 0
    predictor = ntm.deploy(initial_instance_count=1, instance_type=INSTANCE)
    deployed.append(predictor)
    assert isinstance(predictor, sagemaker.NTMPredictor)
    records = predictor.predict(corpus[:6])
    weights = np.array([list(r.label["topic_weights"].float32_tensor.values) for r in records])
    assert weights.shape == (6, TOPICS)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-5) and (weights >= 0).all()


def test_generic_estimator_sparse_data_and_auxiliary_vocabulary(
    session: Any, corpus: np.ndarray
) -> None:
    """The wikitext notebook's way: sparse protobuf on S3 and ``vocab.txt`` in ``auxiliary``."""
    import scipy.sparse as sp
    from sagemaker import image_uris
    from sagemaker.amazon.common import write_spmatrix_to_sparse_tensor
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    s3 = session.boto_session.client("s3")
    buf = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buf, sp.csr_matrix(corpus[:200]))
    s3.put_object(Bucket=BUCKET, Key="ntm-sparse/train/train.pbr", Body=buf.getvalue())
    vocab = "".join(f"w{i}\n" for i in range(VOCAB)).encode()
    s3.put_object(Bucket=BUCKET, Key="ntm-sparse/auxiliary/vocab.txt", Body=vocab)
    est = Estimator(
        image_uri=image_uris.retrieve("ntm", REGION),
        role=ROLE,
        instance_count=1,
        instance_type=INSTANCE,
        output_path=f"s3://{BUCKET}/models/ntm-sparse",
        sagemaker_session=session,
    )
    est.set_hyperparameters(
        num_topics=TOPICS, feature_dim=VOCAB, mini_batch_size=32, epochs=3, sub_sample=0.7
    )
    est.fit(
        {
            "train": TrainingInput(f"s3://{BUCKET}/ntm-sparse/train/"),
            "auxiliary": TrainingInput(
                f"s3://{BUCKET}/ntm-sparse/auxiliary/", content_type="text/plain",
                distribution="FullyReplicated",
            ),
        },
        logs=False,
    )  # fmt: skip
    job = est.latest_training_job.name
    metrics = _final_metrics(session, job)
    assert 0.0 <= metrics["train:wetc"] <= 1.0
    assert 1.0 / TOPICS <= metrics["train:tu"] <= 1.0
