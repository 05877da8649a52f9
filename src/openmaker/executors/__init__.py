"""Where work runs. One protocol (:class:`Executor`); ``local`` (subprocesses) is the default."""

from __future__ import annotations

from openmaker.executors.base import Executor, get_executor

__all__ = ["Executor", "get_executor"]
