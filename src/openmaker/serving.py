"""Load a trained model from its URI and predict in this process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openmaker.errors import ValidationError
from openmaker.spec.algorithm import Model


@dataclass
class LoadedModel:
    """A model ready to answer requests, with the algorithm it belongs to."""

    algorithm: str
    model_dir: Path
    model: Model

    def predict(
        self, body: bytes | str, content_type: str = "text/csv", accept: str | None = None
    ) -> tuple[bytes, str]:
        """Answer one request: ``(response body, response content type)``."""
        if isinstance(body, str):
            body = body.encode()
        return self.model.predict(body, content_type, accept)


def _declared_algorithm(model_dir: Path) -> str | None:
    """The ``algorithm`` a first-party ``model_algo-1`` archive records about itself."""
    import zipfile

    path = model_dir / "model_algo-1"
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None
    from openmaker.algorithms.common.artifact import load_model_meta

    try:
        meta = load_model_meta(model_dir)
    except KeyError:  # a zip, but not one of ours
        return None
    name = meta.get("algorithm")
    if name is None and "loss" in meta and "predictor_type" in meta:
        return "linear-learner"  # models written before Linear Learner recorded its name
    return str(name) if name else None


def detect_algorithm(model_dir: Path) -> str:
    """Which algorithm made the model.

    First-party models record their algorithm inside ``model_algo-1``; otherwise the
    algorithm whose spec declares the most of the files present wins (``xgboost-model``...).
    """
    from openmaker.algorithms import registry

    declared = _declared_algorithm(model_dir)
    if declared is not None:
        return declared
    files = {p.name for p in model_dir.iterdir() if p.is_file()}
    scores: dict[str, int] = {}
    for name in registry.names():
        try:
            spec = registry.get(name)
        except ImportError:  # a broken plug-in must not hide the others
            continue
        hits = sum(any(f == m or f.startswith(m + "-") for f in files) for m in spec.model_files)
        if hits:
            scores[name] = hits
    best = max(scores.values(), default=0)
    winners = [n for n, v in scores.items() if v == best]
    if len(winners) == 1:
        return winners[0]
    raise ValidationError(
        f"Cannot tell which algorithm made the model in {model_dir}"
        + (f" (it could be {', '.join(winners)})" if winners else "")
        + "; pass algorithm=..."
    )


def load_model(uri: str, algorithm: str | None = None) -> LoadedModel:
    """Load ``model.tar.gz`` (or an unpacked model folder) for prediction.

    Args:
        uri: local path, ``file://`` or ``s3://`` URI of the archive or folder.
        algorithm: SageMaker's algorithm name; detected when omitted.
    """
    from openmaker import artifacts
    from openmaker.algorithms import registry

    model_dir = artifacts.fetch_model(uri)
    name = algorithm or detect_algorithm(model_dir)
    spec = registry.get(name)
    model = spec.model_class().load(model_dir)
    return LoadedModel(algorithm=name, model_dir=model_dir, model=model)
