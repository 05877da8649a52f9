"""The algorithm registry: SageMaker name -> spec, loaded lazily.

Built-ins are listed here as ``"module:attribute"`` strings; third-party algorithms register
through the entry-point group ``openmaker.algorithms`` (the entry point's name is the
algorithm name, its value points at an :class:`~openmaker.spec.algorithm.AlgorithmSpec`).
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from importlib.metadata import entry_points

from openmaker.errors import ResourceNotFoundError, ValidationError
from openmaker.spec.algorithm import AlgorithmSpec

ENTRY_POINT_GROUP = "openmaker.algorithms"

BUILTINS: dict[str, str] = {
    "xgboost": "openmaker.algorithms.xgboost.spec:SPEC",
    "linear-learner": "openmaker.algorithms.linear_learner.spec:SPEC",
    "kmeans": "openmaker.algorithms.kmeans.spec:SPEC",
    "pca": "openmaker.algorithms.pca.spec:SPEC",
    "factorization-machines": "openmaker.algorithms.factorization_machines.spec:SPEC",
    "knn": "openmaker.algorithms.knn.spec:SPEC",
    "ipinsights": "openmaker.algorithms.ip_insights.spec:SPEC",
    "randomcutforest": "openmaker.algorithms.random_cut_forest.spec:SPEC",
    "blazingtext": "openmaker.algorithms.blazingtext.spec:SPEC",
    "lda": "openmaker.algorithms.lda.spec:SPEC",
    "ntm": "openmaker.algorithms.ntm.spec:SPEC",
    "forecasting-deepar": "openmaker.algorithms.deepar.spec:SPEC",
}


@cache
def _plugins() -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def _refs() -> dict[str, str]:
    refs = dict(_plugins())
    refs.update(BUILTINS)  # built-in names cannot be shadowed by plug-ins
    return refs


def names() -> list[str]:
    """Every registered algorithm name, sorted."""
    return sorted(_refs())


@cache
def _load(ref: str) -> AlgorithmSpec:
    module, _, attr = ref.partition(":")
    spec = getattr(importlib.import_module(module), attr)
    if not isinstance(spec, AlgorithmSpec):
        raise TypeError(f"{ref} is not an AlgorithmSpec")
    return spec


def get(name: str) -> AlgorithmSpec:
    """The spec of algorithm ``name`` (SageMaker's name, e.g. ``linear-learner``).

    Raises:
        ResourceNotFoundError: no algorithm of that name; the message lists the known ones.
    """
    refs = _refs()
    if name not in refs:
        raise ResourceNotFoundError(
            f"Unknown algorithm {name!r}; available: {', '.join(sorted(refs))}"
        )
    return _load(refs[name])


_IMAGE = re.compile(
    r"^(?:[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/)?"
    r"(?P<repo>[a-z0-9][a-z0-9._-]*?)(?:-(?:cpu|gpu))?(?::(?P<tag>[A-Za-z0-9._-]+))?$"
)


def resolve_image(image: str) -> AlgorithmSpec:
    """Map a SageMaker training image URI (as ``image_uris.retrieve`` builds it) or a plain
    algorithm name to its spec.

    Raises:
        ValidationError: the image names no known algorithm.
    """
    if image in _refs():
        return get(image)
    m = _IMAGE.match(image.strip())
    if m:
        repo = m.group("repo")
        if repo in _refs():
            return get(repo)
        for name in names():
            try:
                spec = get(name)
            except ImportError:  # a broken plug-in must not hide the others
                continue
            if repo == spec.image_repository:
                return spec
    raise ValidationError(
        f"Training image {image!r} does not name a built-in algorithm; available: "
        f"{', '.join(names())}"
    )
