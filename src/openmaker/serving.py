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


def detect_algorithm(model_dir: Path) -> str:
    """Which algorithm made the model, from the file names its spec declares."""
    from openmaker.algorithms import registry

    files = {p.name for p in model_dir.iterdir() if p.is_file()}
    for name in registry.names():
        try:
            spec = registry.get(name)
        except ImportError:  # a broken plug-in must not hide the others
            continue
        if spec.model_files and any(
            f == m or f.startswith(m + "-") for f in files for m in spec.model_files
        ):
            return name
    raise ValidationError(
        f"Cannot tell which algorithm made the model in {model_dir}; pass algorithm=..."
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
