"""Inference for SageMaker's XGBoost algorithm mode (reference section 2.7).

Requests (``Content-Type``): ``text/csv`` (no label column), ``text/libsvm`` (label tokens
ignored), ``application/x-recordio-protobuf`` (dense or sparse, labels ignored),
``application/json`` / ``application/jsonlines`` instances and ``application/x-npy``, all
decoded by :func:`openmaker.data.decode_request`. A missing content type means
``text/libsvm`` (the documented default). Dense inputs must have exactly the model's feature
count; sparse inputs may be narrower (padded) but not wider.

Responses (``Accept``; none or ``*/*`` means ``$SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` or
``text/csv``):

* ``text/csv``: one value per line for 1-D predictions; one comma-separated row per record
  for ``multi:softprob``. Lines are joined with ``\\n``; batch transform (``SAGEMAKER_BATCH``
  set) also ends the body with ``\\n``.
* ``application/json``: ``{"predictions": [{"score": 0.43}, ...]}`` (a list per record for
  ``multi:softprob``).
* ``application/jsonlines``: one ``{"score": ...}`` object per line.
* ``application/x-recordio-protobuf``: one record per row, ``Record.label["score"]``.

Selectable output (``inference_output=`` or ``$SAGEMAKER_INFERENCE_OUTPUT``, a comma list of
``predicted_score``, ``predicted_label``, ``labels``, ``probability``, ``probabilities``,
``raw_score``, ``raw_scores``) replaces ``score`` with the chosen keys, in that order, in all
four Accept types; a key that does not apply to the objective is NaN (``NaN`` in JSON,
``nan`` in CSV, where list values are written as a quoted JSON list). Predicted labels are
integers.

Ensembles: several ``xgboost-model-<i>`` files (k-fold) are served together unless
``SAGEMAKER_INFERENCE_ENSEMBLE=false`` (then only ``xgboost-model-0``): the mean of their
predictions, or a majority vote (ties to the smaller label) for ``multi:softmax`` and
``binary:hinge``. Each booster predicts with its best iteration when early stopping happened.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from openmaker.algorithms.xgboost.small_predict import SmallPredictor
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.spec.channels import ContentType, parse_content_type

if TYPE_CHECKING:
    import xgboost as xgb

MODEL_FILE = "xgboost-model"
OUTPUT_KEYS: tuple[str, ...] = (
    "predicted_score",
    "predicted_label",
    "labels",
    "probability",
    "probabilities",
    "raw_score",
    "raw_scores",
)
REQUEST_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.LIBSVM,
    ContentType.RECORDIO_PROTOBUF,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.NPY,
)
RESPONSE_TYPES: tuple[str, ...] = (
    ContentType.CSV,
    ContentType.JSON,
    ContentType.JSONLINES,
    ContentType.RECORDIO_PROTOBUF,
)
_VOTE_OBJECTIVES = ("multi:softmax", "binary:hinge")
_FOLD_RE = re.compile(r"^xgboost-model-([0-9]+)$")


def combine_predictions(preds: Sequence[np.ndarray], objective: str) -> np.ndarray:
    """Combine the predictions of several models: majority vote or mean.

    Args:
        preds: one array per model, same shape.
        objective: the models' objective; ``multi:softmax`` and ``binary:hinge`` vote.
    """
    if len(preds) == 1:
        return np.asarray(preds[0])
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in preds])
    if objective in _VOTE_OBJECTIVES:
        labels = np.rint(stacked).astype(np.int64)
        width = int(labels.max()) + 1 if labels.size else 1
        counts = np.zeros((labels.shape[1], width), dtype=np.int64)
        for row in labels:
            counts[np.arange(labels.shape[1]), row] += 1
        return np.argmax(counts, axis=1).astype(np.float64)
    return stacked.mean(axis=0)


def _parse_output_keys(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    items = [v for v in items if v]
    bad = [v for v in items if v not in OUTPUT_KEYS]
    if bad:
        raise ValidationError(
            f"SAGEMAKER_INFERENCE_OUTPUT: unknown key(s) {', '.join(bad)}; allowed: "
            f"{', '.join(OUTPUT_KEYS)}"
        )
    return tuple(items)


class XGBoostModel:
    """A trained XGBoost model (one booster or a k-fold ensemble) ready to answer requests.

    Attributes:
        boosters: the loaded boosters (several for an ensemble).
        objective: XGBoost's objective name, read from the model.
        num_class: number of classes for ``multi:*`` objectives, else 0.
        n_features: feature count the model was trained on.
        inference_output: selected output keys (empty: the default ``score`` output).
    """

    def __init__(
        self,
        boosters: Sequence[xgb.Booster],
        *,
        inference_output: str | Sequence[str] | None = None,
    ) -> None:
        if not boosters:
            raise ValidationError("XGBoostModel needs at least one booster")
        self.boosters = list(boosters)
        config = json.loads(self.boosters[0].save_config())
        self.objective: str = config["learner"]["objective"]["name"]
        self.num_class: int = int(config["learner"]["learner_model_param"].get("num_class", 0))
        self.n_features: int = int(self.boosters[0].num_features())
        self.inference_output = _parse_output_keys(inference_output)
        self._ranges: list[tuple[int, int]] | None = None
        self._small: list[SmallPredictor] | None = None

    # --- loading ----------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        inference_output: str | Sequence[str] | None = None,
        ensemble: bool | None = None,
    ) -> XGBoostModel:
        """Load ``xgboost-model``, or every ``xgboost-model-<i>`` as an ensemble.

        Args:
            model_dir: the folder ``model.tar.gz`` was unpacked into.
            inference_output: selectable output keys; default ``$SAGEMAKER_INFERENCE_OUTPUT``.
            ensemble: serve all fold models together; default
                ``$SAGEMAKER_INFERENCE_ENSEMBLE`` (true unless ``false``).

        Raises:
            ValidationError: no model file, or an unreadable one.
        """
        from openmaker.algorithms.xgboost.checkpoints import load_booster

        folder = Path(model_dir)
        if inference_output is None:
            inference_output = os.environ.get("SAGEMAKER_INFERENCE_OUTPUT") or None
        if ensemble is None:
            ensemble = os.environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true").lower() != "false"
        single = folder / MODEL_FILE
        if single.is_file():
            paths = [single]
        else:
            folds = sorted(
                (int(m.group(1)), p)
                for p in (folder.iterdir() if folder.is_dir() else [])
                if (m := _FOLD_RE.match(p.name)) and p.is_file()
            )
            paths = [p for _, p in folds]
            if paths and not ensemble:
                paths = paths[:1]
        if not paths:
            raise ValidationError(
                f"No XGBoost model in {folder}: expected {MODEL_FILE} or {MODEL_FILE}-<i>"
            )
        return cls([load_booster(p) for p in paths], inference_output=inference_output)

    # --- prediction -------------------------------------------------------------------------
    def predict_array(self, X: Any) -> np.ndarray:
        """Predictions for a feature matrix (numpy or scipy CSR), combined over the ensemble.

        Raises:
            DataFormatError: the feature count does not fit the model.
        """
        X = self._fit_width(X)
        if self._ranges is None:  # read once: attr() is a round trip into the library
            self._ranges = []
            for booster in self.boosters:
                best = booster.attr("best_iteration")
                self._ranges.append((0, int(best) + 1) if best is not None else (0, 0))
        if SmallPredictor.accepts(X):  # a few rows: skip inplace_predict's fixed costs
            small = self._small_predictors()
            if small is not None:
                return combine_predictions([p(X) for p in small], self.objective)
        preds = [
            booster.inplace_predict(X, iteration_range=rng, missing=np.nan)
            for booster, rng in zip(self.boosters, self._ranges, strict=True)
        ]
        return combine_predictions(preds, self.objective)

    def _small_predictors(self) -> list[SmallPredictor] | None:
        if self._small is None:
            assert self._ranges is not None
            try:
                self._small = [
                    SmallPredictor(b, r) for b, r in zip(self.boosters, self._ranges, strict=True)
                ]
            except AttributeError:  # an XGBoost build without the C entry point
                self._small = []
        return self._small or None

    def _fit_width(self, X: Any) -> Any:
        n = self.n_features
        given = int(X.shape[1]) if X.ndim == 2 else 0
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or given != n:
                raise DataFormatError(
                    f"Feature count mismatch: the model expects {n} features, the request has "
                    f"{given}"
                )
            return X
        X = X.tocsr()
        if given > n:
            raise DataFormatError(
                f"Feature count mismatch: the model expects {n} features (indices 0..{n - 1}), "
                f"the request has a feature index {given - 1}"
            )
        if given < n:
            import scipy.sparse as sp

            X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n))
        return X

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request.

        Args:
            body: the request payload.
            content_type: the request ``Content-Type`` (parameters allowed).
            accept: the ``Accept`` header, or None.

        Returns:
            The response body and its content type.

        Raises:
            UnsupportedContentTypeError: unsupported request content type or Accept type.
            DataFormatError: undecodable payload or wrong feature count.
        """
        media, params = self._request_type(content_type)
        out_type = self._response_type(accept)
        X = self._decode(body, media, params)
        return self._encode(self.predict_array(X), out_type), out_type

    def predict_batch(
        self, requests: Sequence[tuple[bytes, str, str | None]]
    ) -> list[tuple[bytes, str]]:
        """Answer several ``(body, content_type, accept)`` requests with one prediction.

        The serving process's micro-batch (see :class:`openmaker.spec.algorithm.BatchModel`):
        the answers are the ones :meth:`predict` gives each request.

        Raises:
            OpenmakerError: any request fails (the caller then predicts them one by one).
        """
        from openmaker.algorithms.common.inference import predict_batch

        def decode(body: bytes, content_type: str) -> Any:
            return self._decode(body, *self._request_type(content_type))

        default = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or ContentType.CSV

        def response_type(accept: str | None) -> str:
            return _negotiated(accept, default)

        suffix = "\n" if os.environ.get("SAGEMAKER_BATCH") else ""
        plain = not self.inference_output

        def encode(preds: np.ndarray, accept: str | None) -> tuple[bytes, str]:
            out_type = response_type(accept)
            if plain and out_type == ContentType.CSV and preds.shape == (1,):
                return (repr(float(preds[0])) + suffix).encode(), out_type  # = _encode's
            return self._encode(preds, out_type), out_type

        return predict_batch(
            requests,
            decode=decode,
            predict_rows=self.predict_array,
            encode=encode,
            check_accept=response_type,
        )

    @staticmethod
    def _decode(body: bytes, media: str, params: dict[str, str]) -> Any:
        from openmaker.data import decode_request

        data = decode_request(body, media, params)
        if data.n_rows == 0:
            raise DataFormatError("The request holds no records")
        return data.X

    def _encode(self, preds: np.ndarray, out_type: str) -> bytes:
        if self.inference_output:
            return self._encode_rows([self._selected(p) for p in preds], out_type)
        return self._encode_scores(preds, out_type)

    # --- content negotiation -----------------------------------------------------------------
    @staticmethod
    def _request_type(content_type: str | None) -> tuple[str, dict[str, str]]:
        if not content_type or not content_type.strip():
            return ContentType.LIBSVM, {}
        try:
            media, params = parse_content_type(content_type)
        except UnsupportedContentTypeError:
            raise UnsupportedContentTypeError(content_type, REQUEST_TYPES) from None
        if media not in REQUEST_TYPES:
            raise UnsupportedContentTypeError(content_type, REQUEST_TYPES)
        return media, params

    @staticmethod
    def _response_type(accept: str | None) -> str:
        default = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or ContentType.CSV
        return _negotiated(accept, default)

    # --- selectable output -------------------------------------------------------------------
    def _selected(self, pred: Any) -> dict[str, Any]:
        obj = self.objective
        nan = float("nan")
        vector = np.ndim(pred) > 0
        out: dict[str, Any] = {}
        for key in self.inference_output:
            value: Any = nan
            if key == "predicted_score":
                if obj.startswith("reg:"):
                    value = float(pred)
            elif key == "predicted_label":
                if obj in ("multi:softmax", "binary:hinge"):
                    value = round(float(pred))
                elif obj == "binary:logistic":
                    value = int(float(pred) > 0.5)
                elif obj == "binary:logitraw":
                    value = int(float(pred) > 0)
                elif obj == "multi:softprob" and vector:
                    value = int(np.argmax(pred))
            elif key == "labels":
                if obj.startswith("binary:"):
                    value = [0, 1]
                elif obj.startswith("multi:") and self.num_class:
                    value = list(range(self.num_class))
            elif key == "probability":
                if obj == "multi:softprob" and vector:
                    value = float(np.max(pred))
                elif obj == "binary:logistic":
                    value = float(pred)
            elif key == "probabilities":
                if obj == "multi:softprob" and vector:
                    value = [float(v) for v in pred]
                elif obj == "binary:logistic":
                    value = [1.0 - float(pred), float(pred)]
            elif key == "raw_score":
                if obj == "multi:softprob" and vector:
                    value = float(np.max(pred))
                elif obj in ("binary:logistic", "binary:logitraw", "binary:hinge", "multi:softmax"):
                    value = float(pred)
            elif key == "raw_scores":
                if obj == "multi:softprob" and vector:
                    value = [float(v) for v in pred]
                elif obj in ("binary:logistic", "binary:logitraw", "binary:hinge"):
                    value = [1.0 - float(pred), float(pred)]
            out[key] = value
        return out

    # --- encoders ----------------------------------------------------------------------------
    @staticmethod
    def _join(lines: list[str]) -> bytes:
        text = "\n".join(lines)
        if os.environ.get("SAGEMAKER_BATCH"):
            text += "\n"
        return text.encode("utf-8")

    def _encode_scores(self, preds: np.ndarray, out_type: str) -> bytes:
        if out_type == ContentType.CSV:
            if preds.ndim == 2:
                return self._join([",".join(_num(v) for v in row) for row in preds])
            return self._join([_num(v) for v in preds])
        rows = [{"score": _py(p)} for p in preds]
        return self._encode_rows(rows, out_type)

    def _encode_rows(self, rows: list[dict[str, Any]], out_type: str) -> bytes:
        if out_type == ContentType.JSON:
            return json.dumps({"predictions": rows}).encode("utf-8")
        if out_type == ContentType.JSONLINES:
            return self._join([json.dumps(r) for r in rows])
        if out_type == ContentType.RECORDIO_PROTOBUF:
            from openmaker.data import encode_recordio_outputs

            return encode_recordio_outputs([{k: _as_float(v) for k, v in r.items()} for r in rows])
        return self._join([",".join(_csv_cell(v) for v in r.values()) for r in rows])


def _py(value: Any) -> Any:
    if np.ndim(value) > 0:
        return [float(v) for v in value]
    return float(value)


def _num(value: Any) -> str:
    f = float(value)
    return "nan" if math.isnan(f) else repr(f)


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return '"' + json.dumps(value) + '"'
    if isinstance(value, int):
        return str(value)
    return _num(value)


def _as_float(value: Any) -> float | list[float]:
    if isinstance(value, list):
        return [float(v) for v in value]
    return float(value)


@functools.lru_cache(maxsize=256)
def _negotiated(accept: str | None, default: str) -> str:
    """The response type for an Accept header (cached: the same few values arrive again and
    again on an endpoint).

    Raises:
        UnsupportedContentTypeError: nothing in ``accept`` is a supported response type.
    """
    if not accept or not accept.strip():
        accept = default
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", ""):
            media = default
        try:
            canonical, _ = parse_content_type(media)
        except UnsupportedContentTypeError:
            continue
        if canonical in RESPONSE_TYPES:
            return canonical
    raise UnsupportedContentTypeError(accept, RESPONSE_TYPES)
