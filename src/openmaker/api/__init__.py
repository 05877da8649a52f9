"""The SageMaker-compatible HTTP API: boto3 and the SageMaker Python SDK, unchanged.

``openmaker server`` serves, on one port, the control plane (AWS JSON 1.1, ``X-Amz-Target:
SageMaker.<Operation>``), the CloudWatch Logs calls the SDK makes for ``fit(logs=True)``, the
runtime (``POST /endpoints/{name}/invocations``) and, when installed, an S3 subset under
``/s3``. Every operation is a thin handler over the service layer (:mod:`.operations`, one
module per resource; request shapes in :mod:`.shapes`). Build the ASGI app with
:func:`openmaker.api.server.create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openmaker.api.server import ApiApp, create_app

__all__ = ["ApiApp", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from openmaker.api import server

        return getattr(server, name)
    raise AttributeError(name)
