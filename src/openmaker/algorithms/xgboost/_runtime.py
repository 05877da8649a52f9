"""Process settings XGBoost needs before its OpenMP runtime loads."""

from __future__ import annotations

import os
from typing import Any


def configure_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``).

    With spinning threads, XGBoost slows down by 10-40x as soon as another process competes
    for the cores (measured: 20 rounds on 2,000 rows, 2 threads, 2 busy cores: 13 s spinning,
    0.35 s passive; idle machine: the same speed either way). OpenMP reads the variable when it
    loads, so this runs when the training/serving modules are imported, before xgboost is. A
    value the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def import_xgboost() -> Any:
    """Import ``xgboost`` without the scikit-learn it imports eagerly, and return it.

    ``import xgboost`` imports scikit-learn (and with it SciPy's statistics) only to define its
    scikit-learn wrappers, which training with ``xgboost.train`` and predicting never use: 1.4 s
    of the 2.0 s the import takes on a 2-core machine, longer than a 1,000-row job trains. With
    ``sklearn`` hidden while XGBoost loads, its wrappers fall back to plain classes; scikit-learn
    itself still imports normally afterwards (the container metrics and ``_kfold`` use it). When
    XGBoost (or scikit-learn) is already loaded this only returns the module.
    """
    import sys

    loaded = sys.modules.get("xgboost")
    if loaded is not None:
        return loaded
    configure_openmp()
    if "sklearn" in sys.modules:  # already paid for: nothing to save
        import xgboost

        return xgboost
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # import sklearn -> ImportError
    try:
        import xgboost
    finally:
        if sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]
    return xgboost
