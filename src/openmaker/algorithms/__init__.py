"""SageMaker's built-in algorithms. Look them up with :func:`openmaker.algorithms.get`."""

from openmaker.algorithms.registry import get, names, resolve_image

__all__ = ["get", "names", "resolve_image"]
