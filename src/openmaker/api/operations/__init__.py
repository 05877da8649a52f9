"""The operations the API serves, one module per resource, collected by ``X-Amz-Target``.

``SageMaker.<Operation>`` targets: :mod:`.training`, :mod:`.tuning`, :mod:`.models`,
:mod:`.endpoint_configs`, :mod:`.endpoints`, :mod:`.transform`, :mod:`.tags`,
:mod:`.algorithms`. ``Logs_20140328.<Operation>`` targets: :mod:`.logs`.
"""

from __future__ import annotations

import importlib

from openmaker.api.operations.base import Operation

SAGEMAKER_PREFIX = "SageMaker"
LOGS_PREFIX = "Logs_20140328"

_MODULES = {
    SAGEMAKER_PREFIX: (
        "training",
        "tuning",
        "models",
        "endpoint_configs",
        "endpoints",
        "transform",
        "tags",
        "algorithms",
    ),
    LOGS_PREFIX: ("logs",),
}


def operations() -> dict[str, Operation]:
    """``{"<prefix>.<Operation>": Operation}`` for every operation served."""
    table: dict[str, Operation] = {}
    for prefix, modules in _MODULES.items():
        for module in modules:
            ops = importlib.import_module(f"{__name__}.{module}").OPERATIONS
            for op in ops:
                target = f"{prefix}.{op.name}"
                if target in table:  # pragma: no cover - a programming error
                    raise RuntimeError(f"operation {target} is declared twice")
                table[target] = op
    return table


__all__ = ["LOGS_PREFIX", "SAGEMAKER_PREFIX", "Operation", "operations"]
