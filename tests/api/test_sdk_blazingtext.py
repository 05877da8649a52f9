"""AWS's BlazingText notebooks through the SageMaker Python SDK v2, against the API server.

``Estimator(image_uri=image_uris.retrieve("blazingtext", region), ...)`` with the notebooks'
hyperparameters: text classification (``blazingtext_text_classification_dbpedia``: supervised,
``early_stopping``, train + validation channels of ``text/plain``) and Word2Vec
(``blazingtext_word2vec_text8``: ``batch_skipgram`` on two instances, ``evaluation=True``),
then ``deploy(serializer=JSONSerializer())``, ``predict({"instances": [...]})`` and
``delete_endpoint()``; the training metrics come back in DescribeTrainingJob.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import test_api_sdk
from .conftest import REGION, ROLE

BUCKET = test_api_sdk.BUCKET
session = test_api_sdk.session

pytestmark = pytest.mark.slow

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")


def _labelled(n: int, seed: int) -> str:
    import numpy as np

    rng = np.random.default_rng(seed)
    words = {
        "Company": ["inc", "corporation", "founded", "headquarters", "products"],
        "Artist": ["painter", "singer", "album", "born", "gallery"],
    }
    common = ["the", "is", "a", "of", "in", "and", "was"]
    lines = []
    for i in range(n):
        label = "Company" if i % 2 else "Artist"
        tokens = list(rng.choice(common, 5)) + list(rng.choice(words[label], 3))
        rng.shuffle(tokens)
        lines.append(f"__label__{label} " + " ".join(tokens))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def uploads(session: Any, api_home: Path) -> dict[str, str]:
    from openmaker.algorithms.blazingtext.synthetic import topic_corpus

    root = api_home.parent / "blazingtext-data"
    root.mkdir(exist_ok=True)
    (root / "dbpedia.train").write_text(_labelled(300, 0))
    (root / "dbpedia.validation").write_text(_labelled(60, 1))
    topic_corpus(root / "text8", sentences=1500, groups=3, topics_per_group=2, words_per_topic=10)
    s3 = session.boto_session.client("s3")
    out = {}
    for name in ("dbpedia.train", "dbpedia.validation", "text8"):
        s3.upload_file(str(root / name), BUCKET, f"blazingtext/{name}/{name}")
        out[name] = f"s3://{BUCKET}/blazingtext/{name}/"
    return out


@pytest.fixture()
def deployed() -> Iterator[list[Any]]:
    predictors: list[Any] = []
    yield predictors
    for predictor in predictors:
        predictor.delete_endpoint()


def _estimator(session: Any, name: str, instance_count: int = 1) -> Any:
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator

    return Estimator(
        image_uri=image_uris.retrieve("blazingtext", REGION, "1"),
        role=ROLE,
        instance_count=instance_count,
        instance_type="ml.c4.4xlarge",
        volume_size=30,
        max_run=360000,
        input_mode="File",
        output_path=f"s3://{BUCKET}/blazingtext/output/{name}",
        sagemaker_session=session,
    )


def _final_metrics(session: Any, est: Any) -> dict[str, float]:
    job = session.sagemaker_client.describe_training_job(
        TrainingJobName=est.latest_training_job.name
    )
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def test_text_classification_notebook(session, uploads, deployed):
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import JSONSerializer

    est = _estimator(session, "dbpedia")
    est.set_hyperparameters(
        mode="supervised",
        epochs=8,
        min_count=2,
        learning_rate=0.5,
        vector_dim=10,
        early_stopping=True,
        patience=4,
        min_epochs=5,
        word_ngrams=2,
        buckets=100000,
    )
    channels = {
        name: TrainingInput(
            uploads[f"dbpedia.{name}"],
            distribution="FullyReplicated",
            content_type="text/plain",
            s3_data_type="S3Prefix",
        )
        for name in ("train", "validation")
    }
    est.fit(inputs=channels, logs=True)
    assert _final_metrics(session, est)["validation:accuracy"] >= 0.9

    predictor = est.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", serializer=JSONSerializer()
    )
    deployed.append(predictor)
    sentences = ["the painter was born in a gallery", "the corporation founded products"]
    predictions = json.loads(predictor.predict({"instances": sentences}))
    assert [p["label"] for p in predictions] == [["__label__Artist"], ["__label__Company"]]
    top2 = json.loads(predictor.predict({"instances": sentences, "configuration": {"k": 2}}))
    assert all(len(p["prob"]) == 2 and p["prob"][0] >= p["prob"][1] for p in top2)


def test_word2vec_notebook_on_two_instances(session, uploads, deployed):
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import JSONSerializer

    est = _estimator(session, "text8", instance_count=2)
    est.set_hyperparameters(
        mode="batch_skipgram",
        epochs=3,
        min_count=5,
        sampling_threshold=0.0001,
        learning_rate=0.05,
        window_size=5,
        vector_dim=16,
        negative_samples=5,
        batch_size=11,
        evaluation=True,
        subwords=False,
    )
    train = TrainingInput(
        uploads["text8"],
        distribution="FullyReplicated",
        content_type="text/plain",
        s3_data_type="S3Prefix",
    )
    est.fit(inputs={"train": train}, logs=True)
    assert "train:mean_rho" in _final_metrics(session, est)

    predictor = est.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", serializer=JSONSerializer()
    )
    deployed.append(predictor)
    vecs = json.loads(predictor.predict({"instances": ["g0t0w0", "awesome"]}))
    assert [v["word"] for v in vecs] == ["g0t0w0", "awesome"]
    assert len(vecs[0]["vector"]) == 16 and any(vecs[0]["vector"])
    assert not any(vecs[1]["vector"])  # out of vocabulary


def test_hosting_a_pretrained_fasttext_model(session, api_home, deployed):
    """``blazingtext_hosting_pretrained_fasttext``: a fastText model.bin, tarred, hosted."""
    import tarfile

    import fasttext
    from sagemaker import image_uris
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import JSONSerializer

    root = api_home.parent / "pretrained-fasttext"
    root.mkdir(exist_ok=True)
    (root / "train.txt").write_text(_labelled(200, 2))
    ft = fasttext.train_supervised(str(root / "train.txt"), epoch=10, lr=0.5, dim=8, verbose=0)
    ft.save_model(str(root / "model.bin"))
    with tarfile.open(root / "model.tar.gz", "w:gz") as tar:
        tar.add(root / "model.bin", arcname="model.bin")
    session.boto_session.client("s3").upload_file(
        str(root / "model.tar.gz"), BUCKET, "blazingtext/pretrained/model.tar.gz"
    )
    model = Model(
        image_uri=image_uris.retrieve("blazingtext", REGION, "1"),
        model_data=f"s3://{BUCKET}/blazingtext/pretrained/model.tar.gz",
        role=ROLE,
        sagemaker_session=session,
        predictor_cls=Predictor,
    )
    predictor = model.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", serializer=JSONSerializer()
    )
    deployed.append(predictor)
    sentence = "the painter album gallery"
    (answer,) = json.loads(predictor.predict({"instances": [sentence]}))
    prob, label = ft.f.predict(sentence + "\n", 1, 0.0, "strict")[0]
    assert answer["label"] == [label] and answer["prob"][0] == pytest.approx(prob, rel=1e-4)
