"""Every first-party estimator of the SageMaker Python SDK v2, built with every hyperparameter
argument its constructor exposes, sends a hyperparameter dict that our spec accepts.

``est.hyperparameters()`` is exactly what the SDK puts in ``CreateTrainingJob`` (the record_set
path adds ``feature_dim`` and ``mini_batch_size``, which the test sets as ``fit`` would), so no
server is needed: the SDK's own dict goes through ``spec.validate_hyperparameters``.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest

from openmaker.algorithms import registry
from openmaker.errors import HyperparameterError

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is not installed")

ROLE = "arn:aws:iam::123456789012:role/openmaker-test"

#: SDK class name -> (our algorithm, constructor hyperparameter arguments, all set, valid).
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "LinearLearner": (
        "linear-learner",
        {
            "predictor_type": "binary_classifier",
            "binary_classifier_model_selection_criteria": "precision_at_target_recall",
            "target_recall": 0.8,
            "target_precision": 0.8,
            "positive_example_weight_mult": "balanced",
            "epochs": 3,
            "use_bias": True,
            "num_models": 4,
            "num_calibration_samples": 1000,
            "init_method": "normal",
            "init_scale": 0.07,
            "init_sigma": 0.01,
            "init_bias": 0.0,
            "optimizer": "adam",
            "loss": "logistic",
            "wd": 0.001,
            "l1": 0.001,
            "momentum": 0.9,
            "learning_rate": 0.05,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "bias_lr_mult": 10.0,
            "bias_wd_mult": 0.0,
            "use_lr_scheduler": True,
            "lr_scheduler_step": 100,
            "lr_scheduler_factor": 0.99,
            "lr_scheduler_minimum_lr": 1e-5,
            "normalize_data": True,
            "normalize_label": False,
            "unbias_data": True,
            "unbias_label": False,
            "num_point_for_scaler": 10000,
            "margin": 1.0,
            "quantile": 0.5,
            "loss_insensitivity": 0.01,
            "huber_delta": 1.0,
            "early_stopping_patience": 3,
            "early_stopping_tolerance": 0.001,
            "num_classes": 2,
            "accuracy_top_k": 3,
            "f_beta": 1.0,
            "balance_multiclass_weights": False,
        },
    ),
    "KMeans": (
        "kmeans",
        {
            "k": 3,
            "init_method": "kmeans++",
            "max_iterations": 100,
            "tol": 0.001,
            "num_trials": 2,
            "local_init_method": "kmeans++",
            "half_life_time_size": 0,
            "epochs": 2,
            "center_factor": 4,
            "eval_metrics": ["msd", "ssd"],
        },
    ),
    "PCA": (
        "pca",
        {
            "num_components": 2,
            "algorithm_mode": "randomized",
            "subtract_mean": True,
            "extra_components": 3,
        },
    ),
    "KNN": (
        "knn",
        {
            "k": 5,
            "sample_size": 500,
            "predictor_type": "classifier",
            "dimension_reduction_type": "sign",
            "dimension_reduction_target": 4,
            "index_type": "faiss.IVFPQ",
            "index_metric": "L2",
            "faiss_index_ivf_nlists": "auto",
            "faiss_index_pq_m": 4,
        },
    ),
    "RandomCutForest": (
        "randomcutforest",
        {"num_samples_per_tree": 128, "num_trees": 50, "eval_metrics": ["accuracy"]},
    ),
    "FactorizationMachines": (
        "factorization-machines",
        {
            "num_factors": 4,
            "predictor_type": "binary_classifier",
            "epochs": 2,
            "clip_gradient": 5.0,
            "eps": 1e-8,
            "rescale_grad": 1.0,
            "bias_lr": 0.1,
            "linear_lr": 0.01,
            "factors_lr": 0.001,
            "bias_wd": 0.01,
            "linear_wd": 0.001,
            "factors_wd": 0.0001,
            "bias_init_method": "normal",
            "bias_init_scale": 0.1,
            "bias_init_sigma": 0.01,
            "bias_init_value": 0.0,
            "linear_init_method": "uniform",
            "linear_init_scale": 0.1,
            "linear_init_sigma": 0.01,
            "linear_init_value": 0.0,
            "factors_init_method": "constant",
            "factors_init_scale": 0.1,
            "factors_init_sigma": 0.001,
            "factors_init_value": 0.01,
        },
    ),
    "IPInsights": (
        "ipinsights",
        {
            "num_entity_vectors": 100,
            "vector_dim": 16,
            "batch_metrics_publish_interval": 100,
            "epochs": 2,
            "learning_rate": 0.01,
            "num_ip_encoder_layers": 1,
            "random_negative_sampling_rate": 1,
            "shuffled_negative_sampling_rate": 1,
            "weight_decay": 0.0001,
        },
    ),
    "LDA": (
        "lda",
        {"num_topics": 4, "alpha0": 0.5, "max_restarts": 5, "max_iterations": 200, "tol": 1e-6},
    ),
    "NTM": (
        "ntm",
        {
            "num_topics": 4,
            "encoder_layers": [16, 8],
            "epochs": 3,
            "encoder_layers_activation": "relu",
            "optimizer": "adam",
            "tolerance": 0.01,
            "num_patience_epochs": 2,
            "batch_norm": True,
            "rescale_gradient": 1.0,
            "clip_gradient": 5.0,
            "weight_decay": 0.001,
            "learning_rate": 0.01,
        },
    ),
}

#: Constructor arguments that are not hyperparameters.
NOT_HYPERPARAMETERS = {"self", "role", "instance_count", "instance_type", "kwargs"}


@pytest.fixture(scope="module")
def session() -> Any:
    """A SageMaker session that never calls AWS (building an estimator needs only a region)."""
    import boto3

    boto_session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return sagemaker.Session(boto_session=boto_session, default_bucket="unused")


def _estimator(session: Any, cls_name: str, args: dict[str, Any]) -> Any:
    cls = getattr(sagemaker, cls_name)
    hosts = {} if cls_name == "LDA" else {"instance_count": 1}  # LDA: always one instance
    est = cls(
        role=ROLE,
        **hosts,
        instance_type="ml.m5.large",
        sagemaker_session=session,
        data_location="s3://unused/record-sets/",  # else the SDK asks S3 for a default bucket
        **args,
    )
    # what fit(record_set(...)) fills in (_prepare_for_training)
    est.feature_dim = 8
    est.mini_batch_size = 1000 if cls_name == "RandomCutForest" else 100
    return est


@pytest.mark.parametrize("cls_name", sorted(CASES))
def test_the_case_sets_every_constructor_hyperparameter(cls_name: str) -> None:
    cls = getattr(sagemaker, cls_name)
    exposed = set(inspect.signature(cls.__init__).parameters) - NOT_HYPERPARAMETERS
    assert exposed == set(CASES[cls_name][1]), "the SDK's constructor changed: update CASES"


@pytest.mark.parametrize("cls_name", sorted(CASES))
def test_the_spec_accepts_what_the_sdk_sends(session: Any, cls_name: str) -> None:
    algorithm, args = CASES[cls_name]
    sent = _estimator(session, cls_name, args).hyperparameters()
    spec = registry.get(algorithm)
    values = spec.validate_hyperparameters(sent)
    for key in sent:
        name = spec.hyperparameter(key).name
        assert name in values, key


@pytest.mark.parametrize("cls_name", sorted(CASES))
def test_a_misspelt_name_is_still_refused(session: Any, cls_name: str) -> None:
    algorithm, args = CASES[cls_name]
    sent = dict(_estimator(session, cls_name, args).hyperparameters())
    sent["mini_batch_siz"] = "10"
    with pytest.raises(HyperparameterError, match="mini_batch_siz"):
        registry.get(algorithm).validate_hyperparameters(sent)
