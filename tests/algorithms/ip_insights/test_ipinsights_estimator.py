"""The scikit-learn adapter, and a training job through the platform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from openmaker.algorithms.ip_insights import IPInsightsEstimator
from openmaker.errors import DataFormatError, HyperparameterError

from .conftest import csv_text

HP = {"vector_dim": 16, "epochs": 4, "mini_batch_size": 100, "learning_rate": 0.02}


def test_fit_and_score_pairs(logins):
    est = IPInsightsEstimator(**HP)
    assert est.get_params() == HP and "vector_dim=16" in repr(est)
    df = pd.DataFrame(logins.normal(2000, seed=1), columns=["user", "ip"])
    est.fit(df, X_validation=logins.normal(200, seed=2))
    assert est.model_.num_entity_vectors == 80  # twice the 40 distinct users
    assert "validation discriminator_auc" in est.training_log_
    normal, odd = logins.normal(300, seed=3), logins.anomalous(300, seed=4)
    s_normal, s_odd = est.score_samples(normal), est.score_samples(odd)
    assert s_normal.shape == (300,) and s_normal.mean() > s_odd.mean()
    np.testing.assert_array_equal(est.predict(normal), s_normal)
    np.testing.assert_array_equal(est.decision_function(normal), s_normal)
    assert est.score(np.array(normal, dtype=object)) > 0.9
    e, v = est.embed(normal[:4])
    assert e.shape == v.shape == (4, 16)
    np.testing.assert_allclose((e * v).sum(axis=1), s_normal[:4], rtol=1e-5)
    twin = clone(est)
    assert twin.get_params() == HP and not hasattr(twin, "model_")


def test_estimator_errors(logins):
    with pytest.raises(HyperparameterError, match="vector_dim"):
        IPInsightsEstimator(vector_dim=2).fit(logins.normal(10, seed=1))
    with pytest.raises(DataFormatError, match="IPv6"):
        IPInsightsEstimator(**HP).fit([("a", "1.2.3.4"), ("b", "::1")])
    with pytest.raises(ValueError, match="2 columns"):
        IPInsightsEstimator(**HP).fit([("a", "1.2.3.4", "x")])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        IPInsightsEstimator(**HP).score_samples([("a", "1.2.3.4")])


@pytest.mark.slow
def test_training_job_in_pipe_mode_and_a_failed_job(home, tmp_path, logins):
    from openmaker import Estimator, load_model
    from openmaker.errors import AlgorithmError

    train = tmp_path / "train" / "logins.csv"
    train.parent.mkdir()
    train.write_text(csv_text(logins.normal(1500, seed=1)))
    valid = tmp_path / "validation.csv"
    valid.write_text(csv_text(logins.normal(200, seed=2)))
    hp = {"num_entity_vectors": 80, **HP}
    est = Estimator("ipinsights", hp)
    job = est.fit(
        {"train": str(train.parent), "validation": str(valid)},
        content_type="text/csv",
        input_mode="Pipe",
    )
    assert job.record.status == "Completed"
    final = job.final_metrics()
    assert final["validation:discriminator_auc"] > 0.9
    model = load_model(est.model_data, algorithm="ipinsights")
    body, out_type = model.predict(b"user1,10.0.0.1\n", "text/csv", "application/json")
    assert out_type == "application/json" and b"dot_product" in body

    bad = tmp_path / "bad.csv"
    bad.write_text("user1,10.0.0.1\nuser2,fe80::1\n")
    with pytest.raises(AlgorithmError, match="line 2"):
        Estimator("ipinsights", hp).fit(str(bad), content_type="text/csv")
    from openmaker.jobs.service import TrainingJobService

    jobs, _ = TrainingJobService().list()
    failed = [j for j in jobs if j.status == "Failed"]
    assert len(failed) == 1
    assert "line 2" in failed[0].failure_reason and "IPv6" in failed[0].failure_reason
