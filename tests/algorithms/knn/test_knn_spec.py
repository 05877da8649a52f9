"""The k-NN spec: SageMaker's names, defaults, required parameters and cross-parameter rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openmaker.algorithms import registry
from openmaker.algorithms.knn.spec import PQ_M_VALUES, SPEC
from openmaker.errors import HyperparameterError
from openmaker.testing import check_algorithm

BASE = {"feature_dim": "10", "k": "3", "predictor_type": "classifier", "sample_size": "100"}


def _validate(**extra: str) -> dict:
    return SPEC.validate_hyperparameters({**BASE, **extra})


def _refused(parameter: str, **extra: str) -> HyperparameterError:
    with pytest.raises(HyperparameterError) as err:
        _validate(**extra)
    assert err.value.parameter == parameter
    assert parameter in str(err.value)
    return err.value


def test_registered_under_sagemakers_name():
    assert registry.get("knn") is SPEC
    assert SPEC.image_repository == "knn"
    assert SPEC.model_files == ("model_algo-1", "model_algo-1.labels", "model_algo-1.json")
    assert registry.resolve_image("knn:1") is SPEC


def test_defaults_follow_the_reference():
    assert _validate() == {
        "feature_dim": 10,
        "k": 3,
        "predictor_type": "classifier",
        "sample_size": 100,
        "faiss_index_ivf_nlists": "auto",
        "index_metric": "L2",
        "index_type": "faiss.Flat",
        "mini_batch_size": 5000,
    }


@pytest.mark.parametrize("name", ["feature_dim", "k", "predictor_type", "sample_size"])
def test_required_hyperparameters(name):
    given = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(HyperparameterError, match=f"Missing required hyperparameter '{name}'") as e:
        SPEC.validate_hyperparameters(given)
    assert e.value.parameter == name


def test_k_above_sample_size_is_refused():
    err = _refused("k", k="101")
    assert "k > sample_size" in str(err)
    assert _validate(k="100")["k"] == 100


def test_dimension_reduction_rules():
    err = _refused("dimension_reduction_target", dimension_reduction_type="sign")
    assert "Missing required" in str(err)
    _refused("dimension_reduction_target", dimension_reduction_target="4")
    _refused(
        "dimension_reduction_target",
        dimension_reduction_type="fjlt",
        dimension_reduction_target="10",
    )
    _refused("dimension_reduction_type", dimension_reduction_type="pca")
    hp = _validate(dimension_reduction_type="fjlt", dimension_reduction_target="9")
    assert hp["dimension_reduction_target"] == 9


def test_index_rules():
    for metric in ("INNER_PRODUCT", "COSINE"):
        _refused("index_metric", index_type="faiss.IVFPQ", index_metric=metric)
        assert _validate(index_type="faiss.IVFFlat", index_metric=metric)["index_metric"] == metric
    _refused("faiss_index_pq_m", faiss_index_pq_m="8")
    _refused("faiss_index_pq_m", index_type="faiss.IVFPQ", faiss_index_pq_m="5")
    _refused("faiss_index_ivf_nlists", faiss_index_ivf_nlists="4")
    _refused("faiss_index_ivf_nlists", index_type="faiss.IVFFlat", faiss_index_ivf_nlists="0")
    _refused("index_type", index_type="faiss.HNSW")
    hp = _validate(index_type="faiss.IVFPQ", faiss_index_pq_m="96", faiss_index_ivf_nlists="7")
    assert hp["faiss_index_pq_m"] == "96" and hp["faiss_index_ivf_nlists"] == 7
    for m in PQ_M_VALUES:
        _validate(index_type="faiss.IVFPQ", faiss_index_pq_m=str(m))


def test_tuning_ranges_and_metrics():
    assert SPEC.hyperparameter("k").tuning_range == (1, 1024)
    assert SPEC.hyperparameter("sample_size").tuning_range == (256, 20_000_000)
    tunable = {m.name: m.direction for m in SPEC.tunable_metrics()}
    assert tunable == {"test:accuracy": "Maximize", "test:mse": "Minimize"}


def test_spec_import_does_not_load_numpy_or_faiss():
    code = (
        "import sys; import openmaker.algorithms.knn.spec, openmaker.algorithms.knn; "
        "print('numpy' in sys.modules, 'faiss' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_conformance():
    check_algorithm("knn")
