"""Training LDA: topics recovered from known ones, File / Pipe / CSV / sparse alike, the
test:pwll line, the artifact, and bad input refused with a clear error."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.algorithms.common import load_model_arrays
from openmaker.algorithms.common.topics import SyntheticCorpus, topic_recovery_error
from openmaker.errors import DataFormatError, ValidationError

from .conftest import Workspace

RECORDIO = "application/x-recordio-protobuf"


def test_recovers_the_true_topics_and_prior(
    ws: Workspace, corpus: SyntheticCorpus, counts: np.ndarray
) -> None:
    run = ws.fit(counts[:1800], test=counts[1800:], mini_batch_size=1800)
    model = run.model()
    assert model.beta.shape == (4, 60)
    assert np.allclose(model.beta.sum(axis=1), 1.0)
    assert topic_recovery_error(model.beta, corpus.topics) < 0.08
    assert np.isclose(model.alpha.sum(), 1.0) and np.all(np.diff(model.alpha) <= 0)
    assert np.allclose(model.alpha, 0.25, atol=0.1)  # the generator's α = alpha0 / k
    pwll = re.findall(r"#quality_metric: host=algo-1, test pwll <score>=(\S+)", run.log)
    from openmaker.algorithms.lda.model import LDAModel

    truth = LDAModel(np.full(4, 0.25), corpus.topics).per_word_log_likelihood(counts[1800:])
    assert len(pwll) == 1 and truth - 0.1 < float(pwll[0]) < -1.0  # log(1/60) = -4.09
    assert f"#test_score (algo-1) : ('pwll', {pwll[0]})" in run.log
    assert "#progress_metric: host=algo-1, completed 100 % of epochs" in run.log
    arrays, meta = load_model_arrays(run.model_dir)
    assert set(arrays) == {"alpha", "beta"} and arrays["beta"].dtype == np.float32
    assert meta["algorithm"] == "lda" and meta["num_documents"] == 1800


def test_csv_file_recordio_pipe_and_sparse_give_the_same_model(
    ws: Workspace, counts: np.ndarray
) -> None:
    X = counts[:600]
    csv = ws.fit(X, "text/csv", mini_batch_size=50)
    pipe = ws.fit(X, RECORDIO, mode="Pipe", mini_batch_size=600)
    sparse = ws.fit(sp.csr_matrix(X), RECORDIO, mini_batch_size=7)
    for run in (pipe, sparse):
        assert np.allclose(run.model().beta, csv.model().beta, atol=1e-6)
        assert np.allclose(run.model().alpha, csv.model().alpha, atol=1e-6)
    assert csv.model_bytes() == ws.fit(X, "text/csv", mini_batch_size=50).model_bytes()


def test_alpha0_sets_the_sum_of_the_prior(ws: Workspace, counts: np.ndarray) -> None:
    model = ws.fit(counts[:600], alpha0=0.3, max_restarts=2, max_iterations=50).model()
    assert np.isclose(model.alpha.sum(), 0.3)


def test_several_hosts_are_refused(ws: Workspace, counts: np.ndarray) -> None:
    from openmaker.algorithms.lda.train import train

    ctx = ws.context()
    ctx.hosts = ("algo-1", "algo-2")
    typed = ws.spec.validate_hyperparameters(
        {"num_topics": 2, "feature_dim": 60, "mini_batch_size": 10}
    )
    with pytest.raises(ValidationError, match="single instance"):
        train(typed, {"train": ws.channel("train", counts[:20], RECORDIO)}, ctx)


def test_a_vocabulary_other_than_feature_dim_is_refused(ws: Workspace, counts: np.ndarray) -> None:
    with pytest.raises(ValidationError, match="60 features but feature_dim is 70"):
        ws.fit(counts[:50], "text/csv", feature_dim=70)
    with pytest.raises(DataFormatError, match=r"feature index 59.*feature_dim is 50"):
        ws.fit(sp.csr_matrix(counts[:50]), RECORDIO, feature_dim=50)


@pytest.mark.parametrize(("value", "said"), [(1.5, "is not an integer"), (-2.0, "is negative")])
def test_counts_must_be_non_negative_integers(
    ws: Workspace, counts: np.ndarray, value: float, said: str
) -> None:
    X = counts[:200].copy()
    X[137, 11] = value
    with pytest.raises(DataFormatError, match=f"record 137: the count of word 11.*{said}"):
        ws.fit(X, "text/csv", mini_batch_size=64)


def test_documents_with_zero_words_are_refused(ws: Workspace, counts: np.ndarray) -> None:
    X = counts[:200].copy()
    X[150] = 0.0
    with pytest.raises(DataFormatError, match="record 150: the document has zero words"):
        ws.fit(sp.csr_matrix(X), RECORDIO, mode="Pipe", mini_batch_size=64)


def test_a_corpus_without_three_word_documents_is_refused(ws: Workspace) -> None:
    X = np.zeros((20, 5), dtype=np.float32)
    X[np.arange(20), np.arange(20) % 5] = 2.0
    with pytest.raises(DataFormatError, match="at least 3 words"):
        ws.fit(X, num_topics=2)


def test_more_topics_than_the_data_holds_still_gives_a_valid_model(ws: Workspace) -> None:
    rng = np.random.default_rng(0)
    X = rng.multinomial(30, np.full(12, 1 / 12), size=300).astype(np.float32)  # one topic
    model = ws.fit(X, num_topics=4, max_iterations=100).model()
    assert np.all(np.isfinite(model.beta)) and np.allclose(model.beta.sum(axis=1), 1.0)
    assert np.all(model.alpha > 0) and np.isclose(model.alpha.sum(), 1.0)
    theta = model.transform(X[:5])
    assert np.all(np.isfinite(theta)) and np.allclose(theta.sum(axis=1), 1.0)


def test_em_refinement_passes_are_opt_in_and_improve_the_topics(
    ws: Workspace, corpus: SyntheticCorpus, counts: np.ndarray
) -> None:
    X = sp.csr_matrix(counts[:1800])
    spectral = ws.fit(counts[:1800], mini_batch_size=1800)
    refined = ws.fit(X, RECORDIO, mode="Pipe", mini_batch_size=500, _em_passes=3)
    assert "0 EM refinement passes" in spectral.log and "3 EM refinement passes" in refined.log
    _, meta = load_model_arrays(refined.model_dir)
    assert meta["method"] == "spectral+em" and meta["passes"] == 4 + 3
    before = topic_recovery_error(spectral.model().beta, corpus.topics)
    after = topic_recovery_error(refined.model().beta, corpus.topics)
    assert after < before
    assert np.allclose(refined.model().alpha, spectral.model().alpha)  # α stays spectral


def _job(name: str, data: object, count: int, mode: str, content_type: str) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "lda", "TrainingInputMode": mode},
        "HyperParameters": {"num_topics": "2", "feature_dim": "60", "mini_batch_size": "10"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": content_type,
                "DataSource": {"S3DataSource": {"S3Uri": str(data)}},
            }
        ],
        "ResourceConfig": {"InstanceCount": count, "InstanceType": "ml.c4.2xlarge"},
    }


def test_the_platform_refuses_several_instances_and_csv_in_pipe_mode(
    home: object, tmp_path: object
) -> None:
    from openmaker.jobs.service import TrainingJobService

    service = TrainingJobService()
    with pytest.raises(ValidationError, match="'lda' does not support InstanceCount > 1"):
        service.create(_job("lda-two", tmp_path, 2, "File", RECORDIO))
    with pytest.raises(ValidationError, match="not supported in Pipe mode"):
        service.create(_job("lda-pipe-csv", tmp_path, 1, "Pipe", "text/csv"))
