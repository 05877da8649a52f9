"""A scikit-learn estimator that runs openmaker's XGBoost training in process.

``XGBoostEstimator(num_round=50, objective="binary:logistic", eta=0.1).fit(X, y)`` writes the
data to a temporary folder in a SageMaker training format, calls the same
:func:`openmaker.algorithms.xgboost.train.train` a training job runs, and loads the result
with :class:`~openmaker.algorithms.xgboost.model.XGBoostModel`. The hyperparameters are
SageMaker's names and go through ``SPEC.validate_hyperparameters``.

Data written for training: RecordIO-protobuf (dense or sparse) without sample weights; with
weights, CSV with ``csv_weights=1`` for dense data and LibSVM (``label:weight``) for sparse.

Classification objectives (``binary:*``, ``multi:*``) make it a classifier: labels may be any
sortable values (encoded to 0..k-1, ``classes_``), ``num_class`` is filled from the data for
``multi:*`` when not given, ``predict`` returns labels (probability > 0.5, margin > 0 for
``binary:logitraw``, argmax for ``multi:softprob``) and ``predict_proba`` class probabilities.
Other objectives make it a regressor.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from openmaker.algorithms.common.sklearn_params import SageMakerParams
from openmaker.algorithms.xgboost.spec import SPEC

_LINE = re.compile(r"^\[([0-9]+)\]((?:\t[^\t]+)+)$")


def _is_classification(objective: str) -> bool:
    return objective.startswith(("binary:", "multi:"))


def _features(X: Any) -> Any:
    """numpy float32 (C order) or scipy CSR float32."""
    if hasattr(X, "tocsr") and not isinstance(X, np.ndarray):
        import scipy.sparse as sp

        return sp.csr_matrix(X, dtype=np.float32)
    if hasattr(X, "to_numpy"):  # pandas DataFrame / Series
        X = X.to_numpy(dtype=np.float32, na_value=np.nan)
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {arr.shape}")
    return arr


def parse_evals(log: str) -> dict[str, dict[str, list[float]]]:
    """``{"train": {"rmse": [...]}, "validation": {...}}`` from the printed metric lines."""
    result: dict[str, dict[str, list[float]]] = {}
    for line in log.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        for cell in m.group(2).split("\t")[1:]:
            name, _, value = cell.rpartition(":")
            data, _, metric = name.partition("-")
            try:
                result.setdefault(data, {}).setdefault(metric, []).append(float(value))
            except ValueError:
                continue
    return result


class XGBoostEstimator(SageMakerParams, BaseEstimator):  # type: ignore[misc]
    """scikit-learn estimator over openmaker's XGBoost algorithm.

    Args:
        **hyperparameters: SageMaker's hyperparameter names (``num_round``, ``eta``,
            ``objective``, ``max_depth``, ``eval_metric``...); values typed or strings.
            ``num_round`` defaults to 100 here (it is required by the algorithm).

    Attributes:
        model_: the loaded :class:`XGBoostModel`.
        booster_: its (first) ``xgboost.Booster``.
        evals_result_: metric history per data set (``train``, ``validation``) and metric.
        classes_: class labels (classification objectives).
        n_features_in_: number of features seen in ``fit``.
        feature_names_in_: column names, when ``X`` was a DataFrame.
        training_log_: everything training printed.
    """

    classes_: np.ndarray

    @property
    def objective(self) -> str:
        """The objective (``reg:squarederror`` when not given)."""
        return str(self._hyperparameters.get("objective") or "reg:squarederror")

    @property
    def _estimator_type(self) -> str:
        return "classifier" if _is_classification(self.objective) else "regressor"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        try:
            from sklearn.utils import ClassifierTags, RegressorTags
        except ImportError:  # pragma: no cover - older scikit-learn
            return tags
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        if _is_classification(self.objective):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    # --- fit ---------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        eval_set: list[tuple[Any, Any]] | None = None,
    ) -> XGBoostEstimator:
        """Train on ``X``, ``y`` (numpy, pandas or scipy sparse).

        Args:
            X: features, shape (n, d).
            y: labels, shape (n,).
            sample_weight: optional instance weights, shape (n,).
            eval_set: at most one ``(X_val, y_val)`` pair: the validation channel (metrics,
                early stopping).

        Returns:
            self.

        Raises:
            HyperparameterError: invalid hyperparameters.
            ValueError: inconsistent shapes, a single class, several eval sets.
        """
        from openmaker.algorithms.xgboost.model import XGBoostModel
        from openmaker.algorithms.xgboost.train import train
        from openmaker.spec.algorithm import TrainingContext

        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        Xa = _features(X)
        ya = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).reshape(-1)
        if Xa.shape[0] != ya.shape[0]:
            raise ValueError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}")
        hp = dict(self._hyperparameters)
        hp.setdefault("num_round", 100)
        objective = self.objective
        y_enc = self._encode_labels(ya, objective, hp, fit=True)
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            if weights.shape[0] != Xa.shape[0]:
                raise ValueError("sample_weight must have one value per row of X")
        val = None
        if eval_set:
            if len(eval_set) > 1:
                raise ValueError("eval_set takes at most one (X, y) pair (one validation channel)")
            Xv, yv = eval_set[0]
            yv_arr = np.asarray(yv.to_numpy() if hasattr(yv, "to_numpy") else yv).reshape(-1)
            val = (_features(Xv), self._encode_labels(yv_arr, objective, hp, fit=False))

        content_type = self._content_type(Xa, weights)
        if content_type == "text/csv":
            hp["csv_weights"] = 1
        typed = SPEC.validate_hyperparameters(hp)

        log = io.StringIO()
        with tempfile.TemporaryDirectory(prefix="openmaker-xgb-") as tmp:
            root = Path(tmp)
            channels = {
                "train": self._write(root, "train", Xa, y_enc, weights, content_type),
            }
            if val is not None:
                vw = np.ones(val[0].shape[0], np.float32) if weights is not None else None
                channels["validation"] = self._write(
                    root, "validation", val[0], val[1], vw, content_type
                )
            ctx = TrainingContext(
                job_name="xgboost-estimator",
                model_dir=root / "model",
                output_dir=root / "output",
                checkpoint_dir=root / "checkpoints",  # not created: no checkpoints
                num_cpus=os.cpu_count() or 1,
                log=log,
            )
            ctx.model_dir.mkdir()
            ctx.output_dir.mkdir()
            train(typed, channels, ctx)
            self.model_ = XGBoostModel.load(ctx.model_dir, inference_output=(), ensemble=True)
        self.booster_ = self.model_.boosters[0]
        self.training_log_ = log.getvalue()
        self.evals_result_ = parse_evals(self.training_log_)
        self.n_features_in_ = int(Xa.shape[1])
        return self

    @staticmethod
    def _content_type(X: Any, weights: np.ndarray | None) -> str:
        if weights is None:
            return "application/x-recordio-protobuf"
        return "text/csv" if isinstance(X, np.ndarray) else "text/libsvm"

    @staticmethod
    def _write(
        root: Path,
        name: str,
        X: Any,
        y: np.ndarray,
        weights: np.ndarray | None,
        content_type: str,
    ) -> Any:
        from openmaker.data import Dataset, write_dataset
        from openmaker.spec.algorithm import ChannelInput

        folder = root / "data" / name
        folder.mkdir(parents=True)
        write_dataset(
            Dataset(X, y.astype(np.float32), weights), str(folder / "part-0"), content_type
        )
        return ChannelInput(name=name, content_type=content_type, input_mode="File", path=folder)

    def _encode_labels(
        self, y: np.ndarray, objective: str, hp: dict[str, Any], *, fit: bool
    ) -> np.ndarray:
        if not _is_classification(objective):
            if fit and hasattr(self, "classes_"):
                del self.classes_
            return y.astype(np.float32)
        if fit:
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(f"classification needs at least 2 classes; y has {len(classes)}")
            if objective.startswith("binary:") and len(classes) > 2:
                raise ValueError(
                    f"objective {objective} needs 2 classes; y has {len(classes)} (use multi:*)"
                )
            self.classes_ = classes
            if objective.startswith("multi:"):
                hp.setdefault("num_class", len(classes))
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[index] == y):
            raise ValueError("eval_set holds labels not seen in y")
        return index.astype(np.float32)

    # --- predict -----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first")

    def _raw(self, X: Any) -> np.ndarray:
        self._check_fitted()
        Xa = _features(X)
        n = self.model_.n_features
        if not isinstance(Xa, np.ndarray) and Xa.shape[1] > n:
            # LibSVM training data ends at the last non-zero column; trailing empty columns
            # carry no information, so they may be cut.
            if Xa[:, n:].nnz:
                from openmaker.errors import DataFormatError

                raise DataFormatError(
                    f"Feature count mismatch: the model expects {n} features, X has {Xa.shape[1]}"
                )
            Xa = Xa[:, :n]
        return self.model_.predict_array(Xa)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification objectives) or predicted values."""
        raw = self._raw(X)
        objective = self.model_.objective
        if not _is_classification(objective):
            return raw
        if raw.ndim == 2:
            index = np.argmax(raw, axis=1)
        elif objective == "binary:logitraw":
            index = (raw > 0).astype(np.int64)
        elif objective in ("multi:softmax", "binary:hinge"):
            index = np.rint(raw).astype(np.int64)
        else:
            index = (raw > 0.5).astype(np.int64)
        return self.classes_[index]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes).

        Raises:
            ValueError: the objective gives no probabilities (``multi:softmax``,
                ``binary:hinge``, regression).
        """
        raw = self._raw(X)
        objective = self.model_.objective
        if objective == "multi:softprob":
            return raw
        if objective in ("binary:logistic", "binary:logitraw"):
            p = raw if objective == "binary:logistic" else 1.0 / (1.0 + np.exp(-raw))
            return np.column_stack([1.0 - p, p])
        raise ValueError(
            f"predict_proba needs objective binary:logistic, binary:logitraw or "
            f"multi:softprob; this model uses {objective}"
        )

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classifiers, R^2 for regressors (as scikit-learn's mixins)."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if _is_classification(self.model_.objective):
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return float(r2_score(y, pred, sample_weight=sample_weight))
