"""openmaker.data: decoding and encoding SageMaker's data formats.

Training data (File mode :func:`read_dataset`, Pipe mode :func:`iter_batches`) in ``text/csv``,
``text/libsvm``, ``application/x-recordio-protobuf`` and ``application/x-parquet``, from local
paths, ``file://`` or ``s3://`` URIs, files or folders, gzip or not; writers for the same
formats (:func:`write_dataset`, :func:`convert`); and inference payloads
(:func:`decode_request`, :func:`encode_recordio_outputs`, :func:`read_records`).

Importing this package is cheap: pyarrow, pandas, scipy and protobuf are imported only by the
functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that
#: ``from openmaker.data.sources import list_files`` (the job supervisor) does not pay for
#: numpy and every reader.
_EXPORTS = {
    "convert": "conversion",
    "guess_content_type": "conversion",
    "Dataset": "dataset",
    "fit_width": "dataset",
    "DEFAULT_BATCH_SIZE": "readers",
    "TRAINING_CONTENT_TYPES": "readers",
    "iter_batches": "readers",
    "read_dataset": "readers",
    "REQUEST_CONTENT_TYPES": "requests",
    "decode_request": "requests",
    "encode_recordio_outputs": "requests",
    "read_records": "requests",
    "list_files": "sources",
    "open_uri": "sources",
    "DatasetWriter": "writers",
    "write_dataset": "writers",
}

if TYPE_CHECKING:  # pragma: no cover
    from openmaker.data.conversion import convert as convert
    from openmaker.data.conversion import guess_content_type
    from openmaker.data.dataset import Dataset, fit_width
    from openmaker.data.readers import (
        DEFAULT_BATCH_SIZE,
        TRAINING_CONTENT_TYPES,
        iter_batches,
        read_dataset,
    )
    from openmaker.data.requests import (
        REQUEST_CONTENT_TYPES,
        decode_request,
        encode_recordio_outputs,
        read_records,
    )
    from openmaker.data.sources import list_files, open_uri
    from openmaker.data.writers import DatasetWriter, write_dataset


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openmaker.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"openmaker.data.{module}"), name)
    globals()[name] = value
    return value


#: The content type a training channel gets when it declares none: what the SageMaker SDK's
#: ``record_set()`` uploads (section 0.2 of the tabular reference).
DEFAULT_TRAINING_CONTENT_TYPE = "application/x-recordio-protobuf"

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_TRAINING_CONTENT_TYPE",
    "REQUEST_CONTENT_TYPES",
    "TRAINING_CONTENT_TYPES",
    "Dataset",
    "DatasetWriter",
    "convert",
    "decode_request",
    "encode_recordio_outputs",
    "fit_width",
    "guess_content_type",
    "iter_batches",
    "list_files",
    "open_uri",
    "read_dataset",
    "read_records",
    "write_dataset",
]
