"""BlazingText's progress lines, from fastText's own progress output.

fastText (``verbose=2``) writes ``\\rProgress: 56.7% words/sec/thread: 123456 lr: 0.0217
avg.loss: 1.23 ETA: ...`` to its standard error while it trains. :func:`fasttext_progress`
captures that file descriptor for the duration of one training call and prints each update
(at most one per 5 %) as SageMaker's BlazingText does::

    ##### Alpha: 0.0217  Progress: 56.68%  Million Words/sec: 28.47 #####

Million Words/sec is words/sec/thread x threads / 10^6. fastText's other lines (``Read 0M
words``, ``Number of words: ...``) are passed on as log lines; anything else written to the
standard error meanwhile goes to the real standard error unchanged.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_PROGRESS = re.compile(r"Progress:\s*([\d.]+)%\s+words/sec/thread:\s*([\d.]+)\s+lr:\s*([-\d.eE+]+)")
_FASTTEXT_INFO = re.compile(r"^(Read \d+M words|Number of words:|Number of labels:)")


def progress_line(alpha: float, percent: float, million_words_per_second: float) -> str:
    """``##### Alpha: 0.0217  Progress: 56.68%  Million Words/sec: 28.47 #####``."""
    return (
        f"##### Alpha: {max(alpha, 0.0):.4f}  Progress: {percent:.2f}%  "
        f"Million Words/sec: {million_words_per_second:.2f} #####"
    )


class _Pump:
    """Reads the captured descriptor and turns fastText's updates into log lines."""

    def __init__(self, fd: int, passthrough: int, emit: Callable[[str], None], threads: int):
        self.fd = fd
        self.passthrough = passthrough
        self.emit = emit
        self.threads = threads
        self.last_percent = -1.0
        self.last: tuple[float, float, float] | None = None
        self.words_per_second = 0.0

    def handle(self, piece: str) -> None:
        text = piece.strip()
        if not text:
            return
        m = _PROGRESS.search(text)
        if m:
            percent, wps, lr = float(m.group(1)), float(m.group(2)), float(m.group(3))
            self.words_per_second = wps * self.threads
            self.last = (lr, percent, self.words_per_second / 1e6)
            if percent >= self.last_percent + 5.0 or (percent >= 100.0 > self.last_percent):
                self.last_percent = percent
                self.emit(progress_line(lr, min(percent, 100.0), self.words_per_second / 1e6))
        elif _FASTTEXT_INFO.match(text):
            self.emit(text)
        else:
            os.write(self.passthrough, (piece + "\n").encode("utf-8", "replace"))

    def run(self) -> None:
        pending = ""
        with os.fdopen(self.fd, "rb", buffering=0) as fh:
            while True:
                chunk = fh.read(65536)
                if not chunk:
                    break
                pending += chunk.decode("utf-8", "replace")
                parts = re.split(r"[\r\n]", pending)
                pending = parts.pop()
                for part in parts:
                    self.handle(part)
        if pending:
            self.handle(pending)


@contextmanager
def fasttext_progress(emit: Callable[[str], None], threads: int) -> Iterator[_Pump]:
    """Capture file descriptor 2 while fastText trains; yields the pump (its last rate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = _Pump(read_fd, saved, emit, max(1, threads))
    thread = threading.Thread(target=pump.run, name="fasttext-progress", daemon=True)
    thread.start()
    try:
        yield pump
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe's last write end closes: the pump reads EOF
        thread.join(timeout=10)
        os.close(saved)
