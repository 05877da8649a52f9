"""Inference for DeepAR (reference 4.4): sample paths summarised as mean, quantiles, samples.

Requests:

* ``application/json``: ``{"instances": [{"start", "target", "cat"?, "dynamic_feat"?}, ...],
  "configuration": {"num_samples": 100, "output_types": ["mean", "quantiles", "samples"],
  "quantiles": ["0.1", "0.9"]}}`` (``configuration`` optional);
* ``application/jsonlines``: one instance per line (batch transform), the configuration from
  the ``DEEPAR_INFERENCE_CONFIG`` environment variable read when the model loads (default
  ``{"num_samples": 100, "output_types": ["mean", "quantiles"], "quantiles": ["0.1", ...,
  "0.9"]}``); a JSON body also falls back to it.

Responses: ``{"predictions": [{"mean": [...], "quantiles": {"0.1": [...]}, "samples":
[[...], ...]}, ...]}`` (JSON, the default for JSON requests) or one prediction object a line
(JSON Lines, the default for JSON Lines requests, as batch transform writes them), in
request order, each array ``prediction_length`` long (the points after the last ``target``
point). Each instance is checked (``cat`` iff trained with it and every value seen in
training, ``dynamic_feat`` count and ``len(target) + prediction_length`` length); errors name
the instance (``instances[3]``) and the field and are 4xx. Sample paths are drawn from a fixed
seed, so a request always gets the same answer (SageMaker's are random); the inference runs on
torch (CPU unless a GPU is present).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openmaker import json_input
from openmaker.algorithms.common import load_model_arrays, negotiate_accept
from openmaker.algorithms.deepar.evaluation import format_quantile
from openmaker.algorithms.deepar.spec import (
    DEFAULT_NUM_SAMPLES,
    DEFAULT_OUTPUT_TYPES,
    DEFAULT_TEST_QUANTILES,
    INFERENCE_CONFIG_ENV,
    OUTPUT_TYPES,
    RESPONSE_CONTENT_TYPES,
)
from openmaker.errors import DataFormatError, UnsupportedContentTypeError, ValidationError
from openmaker.spec.channels import ContentType, parse_content_type

#: Seed of inference sampling.
INFERENCE_SEED = 7
MAX_NUM_SAMPLES = 10_000
#: The inference quantiles when none are asked for.
DEFAULT_QUANTILE_NAMES: tuple[str, ...] = tuple(format_quantile(q) for q in DEFAULT_TEST_QUANTILES)
#: Nesting a request may have ({"instances": [{"dynamic_feat": [[...]]}]} is 4 deep).
MAX_DEPTH = 8


def parse_configuration(raw: Any, where: str = "configuration") -> dict[str, Any]:
    """Check a ``configuration`` object; returns ``num_samples``, ``output_types``, ``quantiles``.

    Raises:
        ValidationError: naming the bad key.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    known = {"num_samples", "output_types", "quantiles"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}")
    n = raw.get("num_samples", DEFAULT_NUM_SAMPLES)
    if isinstance(n, bool) or not isinstance(n, int | float | str):
        raise ValidationError(f"{where}.num_samples: {n!r} is not a positive integer")
    try:
        num = float(n)
    except ValueError:
        raise ValidationError(f"{where}.num_samples: {n!r} is not a positive integer") from None
    if not num.is_integer() or not 1 <= num <= MAX_NUM_SAMPLES:
        raise ValidationError(
            f"{where}.num_samples: {n!r} is not an integer in [1, {MAX_NUM_SAMPLES}]"
        )
    types = raw.get("output_types", list(DEFAULT_OUTPUT_TYPES))
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or any(t not in OUTPUT_TYPES for t in types):
        raise ValidationError(
            f"{where}.output_types: {types!r}; expected a non-empty list of "
            + ", ".join(OUTPUT_TYPES)
        )
    qs = raw.get("quantiles", list(DEFAULT_QUANTILE_NAMES))
    if not isinstance(qs, list):
        raise ValidationError(f"{where}.quantiles: expected a list of strings such as '0.5'")
    levels: list[tuple[str, float]] = []
    for q in qs:
        try:
            v = float(q)
        except (TypeError, ValueError):
            raise ValidationError(f"{where}.quantiles: {q!r} is not a number") from None
        if not 0.0 < v < 1.0 or isinstance(q, bool):
            raise ValidationError(f"{where}.quantiles: {q!r} is not inside (0, 1)")
        levels.append((str(q), v))
    return {"num_samples": int(num), "output_types": list(types), "quantiles": levels}


class DeepARModel:
    """A trained DeepAR model.

    Attributes:
        meta: the artifact's metadata (settings, lags, layout, final metrics...).
        default_configuration: the inference configuration used when a request has none.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        from openmaker.algorithms.common.torch.runtime import choose_device, import_torch
        from openmaker.algorithms.deepar.features import Encoder
        from openmaker.algorithms.deepar.frequency import parse_time_freq
        from openmaker.algorithms.deepar.inputs import Layout
        from openmaker.algorithms.deepar.train import Settings, build_network

        torch = import_torch()
        self.meta = dict(meta)
        freq = parse_time_freq(self.meta["time_freq"])
        self.encoder = Encoder(
            freq,
            tuple(int(v) for v in self.meta["lags"]),
            int(self.meta["context_length"]),
            int(self.meta["prediction_length"]),
            Layout(tuple(self.meta["cardinality"]), int(self.meta["num_dynamic_feat"])),
            scaling=bool(self.meta.get("scaling", True)),
        )
        settings = Settings.from_hyperparameters(
            {**self.meta, "epochs": 1, "cardinality": list(self.meta["cardinality"])}
        )
        self.device = choose_device()
        net = build_network(self.encoder, settings)
        try:
            net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()})
        except (RuntimeError, KeyError) as exc:
            raise ValidationError(f"inconsistent DeepAR model: {exc}") from None
        self.net = net.to(self.device).eval()
        env = os.environ.get(INFERENCE_CONFIG_ENV)
        try:
            raw = json.loads(env) if env else None
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{INFERENCE_CONFIG_ENV} is not JSON: {exc}") from None
        self.default_configuration = parse_configuration(raw, INFERENCE_CONFIG_ENV)

    # --- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, model_dir: str | Path) -> DeepARModel:
        """Load ``model_dir/model_algo-1``."""
        arrays, meta = load_model_arrays(model_dir)
        if meta.get("algorithm") != "forecasting-deepar":
            raise ValidationError(f"{model_dir} does not hold a DeepAR model")
        return cls(arrays, meta)

    @property
    def prediction_length(self) -> int:
        """The forecast horizon fixed at training."""
        return self.encoder.prediction_length

    @property
    def time_freq(self) -> str:
        """The training frequency (``H``, ``5min``...)."""
        return self.encoder.freq.text

    # --- forecasting -----------------------------------------------------------------------
    def _series(self, instances: Sequence[Any], names: Sequence[str] | None = None) -> list[Any]:
        from openmaker.algorithms.deepar.inputs import check_request_series, parse_record

        out = []
        for i, obj in enumerate(instances):
            where = names[i] if names is not None else f"instances[{i}]"
            s = parse_record(obj, where, self.encoder.freq)
            if len(s) == 0:
                raise DataFormatError(f"{where}: field 'target': empty")
            check_request_series(s, self.encoder.layout, self.prediction_length)
            out.append(s)
        return out

    def forecast(
        self,
        instances: Sequence[Mapping[str, Any]],
        *,
        num_samples: int = DEFAULT_NUM_SAMPLES,
        quantiles: Sequence[str | float] = DEFAULT_QUANTILE_NAMES,
        output_types: Sequence[str] = ("mean", "quantiles"),
    ) -> list[dict[str, Any]]:
        """Forecast ``prediction_length`` points after each instance (SageMaker's records).

        Returns:
            One dict per instance, the endpoint's prediction objects: ``mean`` (list),
            ``quantiles`` (``{"0.1": [...]}``) and ``samples`` (lists), as asked.

        Raises:
            DataFormatError / ValidationError: a bad instance or configuration (named).
        """
        config = parse_configuration(
            {
                "num_samples": num_samples,
                "output_types": list(output_types),
                "quantiles": [str(q) for q in quantiles],
            }
        )
        return self._forecast(self._series(instances), config)

    def _forecast(self, series: list[Any], config: dict[str, Any]) -> list[dict[str, Any]]:
        from openmaker.algorithms.deepar.features import encode_request
        from openmaker.algorithms.deepar.forecast import sample_paths

        if not series:
            return []
        request = encode_request(self.encoder, series)
        paths = sample_paths(
            self.net, self.encoder, request, config["num_samples"], INFERENCE_SEED, self.device
        )
        out: list[dict[str, Any]] = []
        types = config["output_types"]
        levels = config["quantiles"]
        for p in paths.astype(np.float64):
            pred: dict[str, Any] = {}
            if "quantiles" in types:
                values = np.quantile(p, [v for _, v in levels], axis=0) if levels else []
                pred["quantiles"] = {
                    name: row.tolist() for (name, _), row in zip(levels, values, strict=True)
                }
            if "samples" in types:
                pred["samples"] = p.tolist()
            if "mean" in types:
                pred["mean"] = p.mean(axis=0).tolist()
            out.append(pred)
        return out

    def plot(self, instances: Sequence[Mapping[str, Any]], path: str | Path, **kw: Any) -> Path:
        """Draw history, mean and quantile band of chosen series (``.html`` or ``.png``); see
        :func:`openmaker.algorithms.deepar.plot.plot_forecast` for the options."""
        from openmaker.algorithms.deepar.plot import plot_forecast

        return plot_forecast(self, instances, path, **kw)

    # --- the serving interface -------------------------------------------------------------
    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        """Answer one request (module docstring)."""
        media, _ = parse_content_type(content_type or ContentType.JSON)
        # JSON Lines in (batch transform) answers JSON Lines unless another type is asked for
        order = RESPONSE_CONTENT_TYPES
        if media == ContentType.JSONLINES:
            order = (ContentType.JSONLINES, ContentType.JSON)
        out_type, _ = negotiate_accept(accept, order)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"request body is not UTF-8: {exc}") from None
        if media == ContentType.JSON:
            doc = json_input.loads(text, max_depth=MAX_DEPTH)
            if not isinstance(doc, Mapping) or not isinstance(doc.get("instances"), list):
                raise DataFormatError(
                    'request body must be {"instances": [...], "configuration": {...}}'
                )
            config = (
                parse_configuration(doc["configuration"])
                if doc.get("configuration") is not None
                else self.default_configuration
            )
            series = self._series(doc["instances"])
        elif media == ContentType.JSONLINES:
            records, names = [], []
            for lineno, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                records.append(json_input.loads(line, max_depth=MAX_DEPTH, line=lineno))
                names.append(f"line {lineno}")
            config = self.default_configuration
            series = self._series(records, names)
        else:
            raise UnsupportedContentTypeError(
                content_type, (ContentType.JSON, ContentType.JSONLINES)
            )
        predictions = self._forecast(series, config)
        if out_type == ContentType.JSONLINES:
            lines = "".join(json.dumps(p) + "\n" for p in predictions)
            return lines.encode(), ContentType.JSONLINES
        return json.dumps({"predictions": predictions}).encode(), ContentType.JSON
