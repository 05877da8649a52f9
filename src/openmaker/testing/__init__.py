"""Conformance checks shipped with the package: run them on any registered algorithm.

>>> from openmaker.testing import check_algorithm
>>> check_algorithm("xgboost")
"""

from openmaker.testing.conformance import check_algorithm, check_spec

__all__ = ["check_algorithm", "check_spec"]
