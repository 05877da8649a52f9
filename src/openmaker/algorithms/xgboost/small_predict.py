"""Small dense predictions without XGBoost's per-call overheads.

``Booster.inplace_predict`` is built for big inputs. For a handful of rows (a 1-row request,
a serving micro-batch) its fixed costs dominate (measured on 2 cores, 50 trees of depth 6,
32 rows): ~90 µs of Python per call (it tests the input against a dozen data-frame types and
builds a class per call), and, with the booster's default two threads, ~150 µs more to wake
the OpenMP threads that a few rows do not need (1,024 rows are where a second thread starts
to pay).

:class:`SmallPredictor` serves dense float inputs below :data:`SINGLE_THREAD_ROWS` rows: it
calls the C entry point ``inplace_predict`` itself calls (``XGBoosterPredictFromDense``), with
the same configuration (value type, iteration range, ``missing=NaN``), on a copy of the booster
limited to one thread, and hands it a proxy matrix kept per thread (without one, XGBoost builds
a proxy per call, and every proxy reads the cgroup CPU quota files: ~35 µs). The predictions
are the same numbers (tested against ``inplace_predict``). Boosters over
:data:`MAX_COPY_BYTES` are not copied (the memory is worth more): their small inputs take the C
call on the shared booster, with its thread count.

The copy is made on the first small prediction, so processes that only predict big batches
(batch transform) never pay for it.
"""

from __future__ import annotations

import ctypes
import json
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xgboost as xgb

#: Inputs with fewer rows than this are predicted on one thread by the direct C call.
SINGLE_THREAD_ROWS = 1024
#: Boosters whose saved form is larger than this are not copied for single-thread use.
MAX_COPY_BYTES = 64 * 1024 * 1024
_DTYPES = {np.dtype(np.float32): b"<f4", np.dtype(np.float64): b"<f8"}


class SmallPredictor:
    """Predict small dense matrices with one booster through XGBoost's C API.

    Args:
        booster: the model.
        iteration_range: ``(begin, end)`` as ``inplace_predict`` takes it (``(0, 0)``: all).

    Raises:
        AttributeError: this XGBoost build has no such C entry point (callers fall back to
            ``inplace_predict``).
    """

    def __init__(self, booster: xgb.Booster, iteration_range: tuple[int, int]) -> None:
        from xgboost import core

        self._function = core._LIB.XGBoosterPredictFromDense
        self._check = core._check_call
        self._ulong = core.c_bst_ulong
        self._source = booster
        self._booster: xgb.Booster | None = None
        self._lock = threading.Lock()
        self._proxy_type = getattr(core, "_ProxyDMatrix", None)
        self._local = threading.local()  # one proxy matrix per thread: calls fill it in
        # the configuration inplace_predict sends (xgboost.core.make_jcargs writes it this way)
        self._config = json.dumps(
            {
                "type": 0,
                "training": False,
                "iteration_begin": int(iteration_range[0]),
                "iteration_end": int(iteration_range[1]),
                "missing": float("nan"),
                "strict_shape": False,
                "cache_id": 0,
            }
        ).encode()

    @staticmethod
    def accepts(X: Any) -> bool:
        """Whether ``X`` is a small dense matrix this path serves."""
        return (
            isinstance(X, np.ndarray)
            and X.ndim == 2
            and 0 < X.shape[0] < SINGLE_THREAD_ROWS
            and X.dtype in _DTYPES
        )

    def _single_thread(self) -> xgb.Booster:
        booster = self._booster
        if booster is None:
            with self._lock:
                booster = self._booster
                if booster is None:
                    source = self._source
                    if len(source.save_raw()) <= MAX_COPY_BYTES:
                        booster = source.copy()
                        booster.set_param({"nthread": 1})
                    else:
                        booster = source
                    self._booster = booster
        return booster

    def _proxy(self) -> Any:
        proxy = getattr(self._local, "proxy", None)
        if proxy is None and self._proxy_type is not None:
            proxy = self._local.proxy = self._proxy_type()
        return proxy.handle if proxy is not None else None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Predictions for ``X`` (see :meth:`accepts`), as ``inplace_predict`` returns them."""
        X = np.ascontiguousarray(X)
        interface = (
            b'{"data":[%d,true],"shape":[%d,%d],"strides":null,"typestr":"%s","version":3}'
            % (
                X.ctypes.data,
                X.shape[0],
                X.shape[1],
                _DTYPES[X.dtype],
            )
        )
        shape = ctypes.POINTER(self._ulong)()
        dims = self._ulong()
        out = ctypes.POINTER(ctypes.c_float)()
        self._check(
            self._function(
                self._single_thread().handle,
                interface,
                self._config,
                self._proxy(),
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(out),
            )
        )
        sizes = tuple(int(shape[i]) for i in range(dims.value))
        count = 1
        for size in sizes:
            count *= size
        return np.ctypeslib.as_array(out, shape=(count,)).copy().reshape(sizes)
