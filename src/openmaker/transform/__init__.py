"""Batch transform: ``CreateTransformJob`` and the supervisor that runs it.

* :mod:`~openmaker.transform.service` — create / describe / list / stop / wait / logs.
* :mod:`~openmaker.transform.runner` — the supervisor process (``python -m
  openmaker.transform.runner _transform/NAME``), like a training job's.
* :mod:`~openmaker.transform.splitting` — records and requests per ``SplitType`` /
  ``BatchStrategy`` / ``MaxPayloadInMB``.
* :mod:`~openmaker.transform.filters` — ``DataProcessing``: the JSONPath subset,
  ``InputFilter``, ``JoinSource``, ``OutputFilter``.
* :mod:`~openmaker.transform.predicting` — one request through the model, bad records located.
* :mod:`~openmaker.transform.api` — ``Transformer`` (the SDK's ``transformer.transform()``).
"""
