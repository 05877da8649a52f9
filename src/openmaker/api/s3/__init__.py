"""An S3-compatible server backed by openmaker's store on disk, for offline use.

It serves the subset that boto3, s3fs and the SageMaker Python SDK use: buckets (create, head,
list, delete), objects (put incl. ``aws-chunked`` and checksums, get with ranges, head, copy,
delete, batch delete), listings (v1 and v2) and multipart uploads. Objects are plain files
under ``$OPENMAKER_HOME/s3/<bucket>/<key>``, so they survive restarts. See :mod:`.app` for the
routes, :mod:`.storage` for the layout and :mod:`.names` for how keys map to files safely.

Example::

    import uvicorn
    from openmaker.api.s3 import create_s3_app

    uvicorn.run(create_s3_app(), port=9000)
    # boto3.client("s3", endpoint_url="http://127.0.0.1:9000", ...)
"""

from __future__ import annotations

from openmaker.api.s3.app import S3App, create_s3_app

__all__ = ["S3App", "create_s3_app"]
